"""Dotted paths into parsed JSON: ``data.recommendData``, ``subject[].subjectName``, ``authors[0].name``.

``[]`` (or ``[*]``) walks every element of a list; ``[N]`` one element. A
path never raises on a missing key or a wrong type: it yields nothing.
The empty path (``""``) is the value itself.
"""

from __future__ import annotations

import re
from typing import Any

_STEP = re.compile(r"([^.\[\]]+)|\[(\*|\d*)\]")


class PathSyntaxError(ValueError):
    """A path that cannot be parsed."""


def parse_path(path: str) -> list[str | int | None]:
    """``a.b[0].c[]`` → ``['a', 'b', 0, 'c', None]`` (None = every element)."""
    steps: list[str | int | None] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "." and steps:
            pos += 1
        m = _STEP.match(path, pos)
        if m is None:
            raise PathSyntaxError(f"cannot parse path {path!r} at position {pos}")
        name, index = m.groups()
        if name is not None:
            steps.append(name)
        elif index in ("", "*"):
            steps.append(None)
        else:
            steps.append(int(index))
        pos = m.end()
    return steps


def _walk(data: Any, path: str) -> list[Any]:
    current: list[Any] = [data]
    for step in parse_path(path):
        following: list[Any] = []
        for value in current:
            if step is None:
                if isinstance(value, list):
                    following.extend(value)
            elif isinstance(step, int):
                if isinstance(value, list) and -len(value) <= step < len(value):
                    following.append(value[step])
            elif isinstance(value, dict) and step in value:
                following.append(value[step])
        current = following
    return current


def get(data: Any, path: str) -> Any:
    """The value at ``path`` as it is (a list stays a list); None when absent."""
    found = _walk(data, path)
    return found[0] if found else None


def values(data: Any, path: str) -> list[Any]:
    """Every value at ``path`` (lists met at the end are flattened), skipping nulls."""
    current = _walk(data, path)
    out: list[Any] = []
    for value in current:
        if isinstance(value, list):
            out.extend(v for v in value if v is not None)
        elif value is not None:
            out.append(value)
    return out


def first(data: Any, path: str) -> Any:
    """The first value at ``path``, else None."""
    found = values(data, path)
    return found[0] if found else None


def as_text(value: Any) -> str | None:
    """A scalar as display text (``True`` → ``true``); containers and blanks → None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def exists(data: Any, path: str) -> bool:
    """True when the last key of ``path`` is present (even with a null value)."""
    steps = parse_path(path)
    if not steps:
        return True
    *head, last = steps
    parents: list[Any] = [data]
    for step in head:
        following: list[Any] = []
        for value in parents:
            if step is None and isinstance(value, list):
                following.extend(value)
            elif isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
                following.append(value[step])
            elif isinstance(step, str) and isinstance(value, dict) and step in value:
                following.append(value[step])
        parents = following
    if isinstance(last, str):
        return any(isinstance(p, dict) and last in p for p in parents)
    return any(isinstance(p, list) for p in parents)
