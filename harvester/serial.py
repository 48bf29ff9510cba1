"""JSON for the per-record paths (store rows, content hashes, index documents).

orjson where it can (it is several times faster than :mod:`json` on record-sized
objects), :mod:`json` where orjson refuses a value: lone surrogates, which a
JSON source can send as ``"\\ud800"``; those come out escaped. Output is compact
UTF-8 with non-ASCII kept as is: the text :func:`json.dumps` gives with
``ensure_ascii=False, separators=(",", ":")``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps_bytes(obj: Any, *, sort_keys: bool = False) -> bytes:
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except orjson.JSONEncodeError:
        return json.dumps(obj, sort_keys=sort_keys, separators=(",", ":")).encode("ascii")


def dumps(obj: Any, *, sort_keys: bool = False) -> str:
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if sort_keys else 0).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(obj, sort_keys=sort_keys, separators=(",", ":"))


def loads(data: str | bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)  # lone surrogates, which json.loads accepts
