"""schema.org ``Dataset`` JSON-LD of a record, for search engines (embedded in the record page)."""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from fedcat.harvester.links import doi_url, safe_url
from fedcat.harvester.model import Openness, Record, pick_lang

from .i18n import Lang, Translator


def dataset(record: Record) -> dict[str, Any]:
    """The record as a schema.org Dataset (only what the page itself shows the caller)."""
    ids = record.identifiers
    identifiers = [doi_url(ids.doi) or ""] if ids.doi else []
    if ids.cstr:
        identifiers.append(ids.cstr)
    licence = safe_url(record.licence.url) or (f"https://spdx.org/licenses/{record.licence.normalised}"
                                               if record.licence.normalised else None)
    out: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "Dataset", "name": record.title,
        "alternateName": record.title_en if record.title_en and record.title_en != record.title else None,
        "description": pick_lang(record.descriptions, "zh"), "identifier": identifiers or None,
        "url": safe_url(record.landing_page), "license": licence,
        "creator": [{"@type": "Person", "name": c} for c in record.creators] or None,
        "publisher": {"@type": "Organization", "name": record.publisher} if record.publisher else None,
        "provider": {"@type": "Organization", "name": record.center_zh or record.source_id},
        "datePublished": record.published, "dateModified": record.modified, "keywords": record.subjects or None,
        "version": record.version, "inLanguage": record.language, "encodingFormat": record.formats or None,
        "isAccessibleForFree": record.access.openness is Openness.OPEN,
        "conditionsOfAccess": Translator(Lang.EN).tag(record.access.openness.value),
        "citation": record.citation,
    }
    return {k: v for k, v in out.items() if v is not None}


#: ``<``, ``>`` and ``&`` as JSON escapes: no harvested text can end the script element or open a comment
#: (``<!--<script>`` would swallow the rest of the page) inside it.
_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def script(record: Record) -> Markup:
    """The ``<script type="application/ld+json">`` element, its JSON unable to break out of it."""
    text = json.dumps(dataset(record), ensure_ascii=False, indent=1).translate(_HTML_SAFE)
    return Markup(f'<script type="application/ld+json">{text}</script>')
