"""Citation text in GB/T 7714-2015 form for datasets ([DS/OL])."""

from __future__ import annotations

from .links import doi_url, safe_url
from .model import Record


def gbt7714(record: Record) -> str:
    """``Author. Title[DS/OL]. V1. Publisher, 2022. https://doi.org/…. CSTR:….``"""
    creators = record.creators[:3]
    authors = ", ".join(creators) + (", 等" if len(record.creators) > 3 else "")
    parts: list[str] = []
    if authors:
        parts.append(authors)
    parts.append(f"{record.title or record.local_id}[DS/OL]")
    if record.version:
        parts.append(record.version)
    publisher = record.publisher or record.center_zh
    year = str(record.year) if record.year else None
    if publisher or year:
        parts.append(", ".join(p for p in (publisher, year) if p))
    ids = record.identifiers
    if ids.doi:
        parts.append(doi_url(ids.doi) or "")
    elif safe_url(record.landing_page):
        parts.append(record.landing_page or "")
    if ids.cstr:
        parts.append(ids.cstr)
    return ". ".join(parts) + "."


def _bib(value: str) -> str:
    """Escape BibTeX's special characters in a field value."""
    out = value.replace("\\", "\\textbackslash{}")
    for ch in "{}&%$#_":
        out = out.replace(ch, "\\" + ch)
    return out


def bibtex(record: Record) -> str:
    """A ``@misc`` entry for the dataset (BibTeX has no dataset type that every style knows)."""
    key = "".join(ch if ch.isalnum() else "_" for ch in record.id)
    fields: list[tuple[str, str | None]] = [
        ("title", record.title or record.local_id),
        ("author", " and ".join(record.creators) or None),
        ("publisher", record.publisher or record.center_zh),
        ("year", str(record.year) if record.year else None),
        ("version", record.version),
        ("doi", record.identifiers.doi),
        ("url", doi_url(record.identifiers.doi) if record.identifiers.doi else safe_url(record.landing_page)),
        ("note", f"{record.identifiers.cstr}" if record.identifiers.cstr else None),
        ("howpublished", "[DS/OL]"),
    ]
    body = ",\n".join(f"  {name} = {{{_bib(value)}}}" for name, value in fields if value)
    return f"@misc{{{key},\n{body}\n}}"
