"""The few places where the store's SQL is spelt differently by SQLite and PostgreSQL.

Repositories write SQLite's spelling once; :func:`to_postgres` rewrites a statement for PostgreSQL:

- placeholders ``?`` become ``%s`` (and a literal ``%`` is doubled), outside quoted text only;
- ``json_extract(column, '$.key')`` (the access tags kept as JSON text) becomes ``(column::jsonb ->> 'key')``;
- ``IS`` / ``IS NOT`` between two values (SQLite's null-safe equality) become ``IS NOT DISTINCT FROM`` /
  ``IS DISTINCT FROM`` (``IS NULL`` and ``IS NOT NULL`` stay);
- ``INDEXED BY <index>`` (a hint for SQLite's planner) is dropped.

Everything else the repositories write (``ON CONFLICT ... DO UPDATE``, ``RETURNING``, row values,
``CASE``, ``||``) reads the same in both.
"""

from __future__ import annotations

import re
from functools import lru_cache

_JSON = re.compile(r"json_extract\(\s*([\w.]+)\s*,\s*'\$\.(\w+)'\s*\)")
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b)")
_IS = re.compile(r"\bIS\s+(?!NOT\b|NULL\b|DISTINCT\b)")
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+")
_QUOTED = re.compile(r"('(?:[^']|'')*'|\"[^\"]*\")")


@lru_cache(maxsize=512)
def to_postgres(sql: str) -> str:
    """``sql`` as PostgreSQL reads it (see the module's docstring)."""
    sql = _JSON.sub(r"(\1::jsonb ->> '\2')", sql)
    parts = _QUOTED.split(sql)  # odd items are quoted text, left as they are
    return "".join(part if i % 2 else _unquoted(part) for i, part in enumerate(parts))


def _unquoted(part: str) -> str:
    part = _IS_NOT.sub("IS DISTINCT FROM ", part)
    part = _IS.sub("IS NOT DISTINCT FROM ", part)
    part = _INDEXED_BY.sub("", part)
    return part.replace("%", "%%").replace("?", "%s")
