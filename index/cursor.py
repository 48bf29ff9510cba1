"""Opaque cursors shared by the backends: base64url JSON tied to the query that made them.

A cursor carries what its backend needs to fetch the next page (an offset, or
Elasticsearch sort values and a point in time) and a fingerprint of the query;
a cursor used with another query, or one that was not made by fedcat, is
refused with :class:`~fedcat.index.errors.BadQuery` naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from .base import SearchQuery
from .errors import BadQuery


def fingerprint(query: SearchQuery) -> str:
    """What a cursor must agree on: text, filters, sort, visibility and page size."""
    key = json.dumps(
        [query.text, sorted((k, sorted(v)) for k, v in query.filters.items()), query.sort.value,
         query.visibility.key(), query.size, sorted(query.translations)],
        ensure_ascii=False,
    )
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def encode(payload: dict[str, Any], query: SearchQuery) -> str:
    raw = json.dumps(dict(payload, f=fingerprint(query)), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, query: SearchQuery) -> dict[str, Any]:
    """The payload of ``cursor``; BadQuery when it is malformed or belongs to another query."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise BadQuery("not a cursor returned by this index", param="cursor") from exc
    if not isinstance(data, dict) or not isinstance(data.get("f"), str):
        raise BadQuery("not a cursor returned by this index", param="cursor")
    if data.pop("f") != fingerprint(query):
        raise BadQuery("the cursor belongs to a different query", param="cursor")
    return data
