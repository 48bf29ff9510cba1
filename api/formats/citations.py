"""Citation formats: RIS, CSL-JSON, BibTeX and GB/T 7714-2015 text (the last two from
:mod:`fedcat.harvester.citation`, as the record page shows them)."""

from __future__ import annotations

import json
import re
from typing import Any

from fedcat.harvester.citation import bibtex, gbt7714
from fedcat.harvester.links import doi_url, safe_url
from fedcat.harvester.model import Record, pick_lang

from .view import lang_tag, year_of

__all__ = ["bibtex", "csl_json", "gbt7714", "ris"]

#: Line breaks (and other controls) would start a new RIS tag inside a value: each becomes a space.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


def _one_line(value: str | None) -> str | None:
    if value is None:
        return None
    out = _BREAKS.sub(" ", value).strip()
    return out or None


def _url(record: Record) -> str | None:
    return doi_url(record.identifiers.doi) if record.identifiers.doi else safe_url(record.landing_page)


def ris(record: Record) -> str:
    """A ``TY  - DATA`` entry (RIS has a dataset type); a title in another language is ``TT``."""
    title = record.title or record.local_id
    tags: list[tuple[str, str | None]] = [("TY", "DATA"), ("TI", title)]
    tags += [("TT", t.value) for t in record.titles if t.value != title]
    tags += [("AU", c) for c in record.creators]
    year = year_of(record)
    tags += [("PY", str(year) if year else None), ("DA", record.published),
             ("PB", record.publisher or record.center_zh), ("ET", record.version), ("DO", record.identifiers.doi),
             ("UR", _url(record)), ("AB", pick_lang(record.descriptions, "zh")), ("LA", record.language)]
    tags += [("KW", s) for s in record.subjects]
    if record.identifiers.cstr:
        tags.append(("N1", record.identifiers.cstr))
    tags.append(("ID", record.id))
    lines = [f"{tag}  - {value}" for tag, raw in tags if (value := _one_line(raw))]
    return "\r\n".join([*lines, "ER  - ", ""])


def csl_item(record: Record) -> dict[str, Any]:
    """The record as one CSL-JSON item of type ``dataset``."""
    year = year_of(record)
    item: dict[str, Any] = {
        "id": record.id, "type": "dataset", "title": record.title or record.local_id,
        "author": [{"literal": c} for c in record.creators] or None,
        "issued": {"date-parts": [[year]]} if year else None,
        "publisher": record.publisher or record.center_zh, "version": record.version,
        "DOI": record.identifiers.doi, "URL": _url(record),
        "abstract": pick_lang(record.descriptions, "zh"),
        "keyword": ", ".join(record.subjects) or None,
        "language": lang_tag(record.language),
        "note": record.identifiers.cstr,
    }
    return {k: v for k, v in item.items() if v is not None}


def csl_json(record: Record) -> str:
    """CSL-JSON: an array holding the record's item (what citation processors and reference managers read)."""
    return json.dumps([csl_item(record)], ensure_ascii=False, indent=1)
