"""Request templates: ``{page}``, ``{size}``, ``{since}``, ``{id}``, ``{record.doi}`` in params, bodies and paths.

A string that is exactly one placeholder takes the value with its type (a
JSON body gets ``"pageNum": 2``, not ``"2"``). A parameter, body key or list
element whose placeholder has no value (``{since}`` on a full listing,
``{cursor}`` on the first page) is left out.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from . import paths

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[^{}]+)?)\}")
#: Names a listing request may use; a detail request may also use ``id`` and ``record.<path>``.
LISTING_NAMES = frozenset({"page", "size", "offset", "cursor", "since"})
DETAIL_NAMES = frozenset({"id"})


class _Missing:
    """A placeholder without a value: the enclosing parameter is dropped."""


MISSING = _Missing()


def names(template: Any) -> set[str]:
    """Every placeholder name used anywhere in a template."""
    found: set[str] = set()
    if isinstance(template, str):
        found.update(PLACEHOLDER.findall(template))
    elif isinstance(template, dict):
        for k, v in template.items():
            found |= names(k) | names(v)
    elif isinstance(template, list):
        for v in template:
            found |= names(v)
    return found


def check_names(template: Any, allowed: frozenset[str]) -> str | None:
    """The first placeholder not allowed here, else None."""
    for name in sorted(names(template)):
        if name not in allowed and not (name.startswith("record.") and "id" in allowed):
            return name
    return None


def _lookup(name: str, values: dict[str, Any]) -> Any:
    if name.startswith("record."):
        return paths.first(values.get("record"), name[len("record."):])
    return values.get(name)


def render(template: Any, values: dict[str, Any], *, url_quote: bool = False) -> Any:
    """Fill a template; returns :data:`MISSING` when a needed value is absent."""
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole:
            value = _lookup(whole.group(1), values)
            if value is None:
                return MISSING
            return quote(str(value), safe="") if url_quote else value
        missing = False

        def fill(m: re.Match[str]) -> str:
            nonlocal missing
            value = _lookup(m.group(1), values)
            if value is None:
                missing = True
                return ""
            text = paths.as_text(value) or ""
            return quote(text, safe="") if url_quote else text

        out = PLACEHOLDER.sub(fill, template)
        return MISSING if missing else out
    if isinstance(template, dict):
        filled = {k: render(v, values) for k, v in template.items()}
        return {k: v for k, v in filled.items() if v is not MISSING}
    if isinstance(template, list):
        return [v for v in (render(t, values) for t in template) if v is not MISSING]
    return template


def render_params(template: dict[str, str], values: dict[str, Any]) -> dict[str, str]:
    """Query parameters: every value as text, parameters without a value left out."""
    out: dict[str, str] = {}
    for key, tpl in template.items():
        value = render(tpl, values)
        if value is not MISSING:
            out[key] = paths.as_text(value) or ""
    return out
