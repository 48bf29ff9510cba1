"""The one scheme allowlist every harvested URL passes before it is rendered as a link.

Harvested strings are untrusted: a DataCite ``rightsURI`` of
``javascript:alert(document.domain)//creativecommons.org/licenses/by/4.0/`` must never become an
``href``. :func:`safe_url` lets through absolute ``http``, ``https`` and ``ftp`` URLs with a host and
nothing else; pages, JSON-LD, BibTeX, citations and CSV exports show anything else as text, or leave
it out where only a link makes sense.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

SAFE_SCHEMES = frozenset({"http", "https", "ftp"})
#: Browsers drop tabs and newlines inside a URL (``java\tscript:``) and ignore leading controls.
_CONTROLS = re.compile(r"[\x00-\x20\x7f-\x9f]")


def safe_url(value: str | None) -> str | None:
    """``value`` when it is an absolute http(s) or ftp URL with a host, else None."""
    if not value:
        return None
    text = value.strip()
    if not text or _CONTROLS.search(text) or "\\" in text:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.hostname:
        return None
    return text


def doi_url(doi: str | None) -> str | None:
    """The resolver link of a DOI (``10.1234/abc`` → ``https://doi.org/10.1234/abc``), its path escaped."""
    if not doi:
        return None
    return "https://doi.org/" + quote(doi, safe="/:;()._-")


def cstr_url(cstr: str | None) -> str | None:
    """The resolver link of a CSTR (``CSTR:31253.11.x`` → ``https://cstr.cn/31253.11.x``), its path escaped."""
    if not cstr:
        return None
    return "https://cstr.cn/" + quote(cstr.removeprefix("CSTR:"), safe="._-")
