"""Date patterns as centers document them (``yyyy-MM-dd HH:mm:ss``), parsing and formatting.

Letters: ``yyyy`` year, ``MM`` month, ``dd`` day, ``HH`` hour, ``mm`` minute,
``ss`` second, ``SSS`` fraction, ``XXX``/``Z`` offset; text between single
quotes is literal (``yyyy-MM-dd'T'HH:mm:ss'Z'``). ``epoch_ms`` and
``epoch_s`` are Unix timestamps. Without a pattern, ISO 8601 and the common
``yyyy-MM-dd HH:mm:ss`` / ``yyyy/MM/dd`` forms are understood.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_TOKENS = re.compile(r"'[^']*'|yyyy|MM|dd|HH|mm|ss|SSS|XXX|Z|[A-Za-z]|.", re.DOTALL)
_STRFTIME = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S", "SSS": "%f",
             "XXX": "%z", "Z": "%z"}
EPOCH_PATTERNS = frozenset({"epoch_ms", "epoch_s"})
_FALLBACKS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
              "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%Y-%m", "%Y")


class DatePatternError(ValueError):
    """A pattern with a letter that has no meaning."""


def to_strftime(pattern: str) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss`` → ``%Y-%m-%dT%H:%M:%S``."""
    out: list[str] = []
    for token in _TOKENS.findall(pattern):
        if token.startswith("'"):
            out.append(token[1:-1].replace("%", "%%") or "'")
        elif token in _STRFTIME:
            out.append(_STRFTIME[token])
        elif token.isalpha():
            raise DatePatternError(f"unknown letter {token!r} in date pattern {pattern!r} "
                                   "(known: yyyy MM dd HH mm ss SSS XXX Z, 'literal', epoch_ms, epoch_s)")
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out)


def check_pattern(pattern: str) -> None:
    if pattern not in EPOCH_PATTERNS:
        to_strftime(pattern)


def parse(value: object, pattern: str | None = None) -> datetime | None:
    """A date value as the API sends it → an aware datetime (UTC when no offset); None when unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if pattern in EPOCH_PATTERNS or (pattern is None and isinstance(value, (int, float))):
        return _epoch(value, pattern or ("epoch_ms" if isinstance(value, (int, float)) and value > 1e11
                                         else "epoch_s"))
    text = str(value).strip()
    if not text:
        return None
    formats = (to_strftime(pattern),) if pattern else _FALLBACKS
    for fmt in formats:
        try:
            when = datetime.strptime(text.replace("Z", "+0000") if "%z" in fmt else text, fmt)
        except ValueError:
            continue
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def _epoch(value: object, pattern: str) -> datetime | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    if pattern == "epoch_ms":
        number /= 1000
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def format(when: datetime, pattern: str) -> str:  # noqa: A001 - the module's vocabulary
    """Format ``when`` (in UTC) with a pattern."""
    when = when.astimezone(UTC)
    if pattern == "epoch_ms":
        return str(int(when.timestamp() * 1000))
    if pattern == "epoch_s":
        return str(int(when.timestamp()))
    return when.strftime(to_strftime(pattern))


def datestamp(when: datetime) -> str:
    """The store's datestamp form: ``2024-05-01T08:30:00Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d")
