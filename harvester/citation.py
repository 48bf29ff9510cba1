"""Citation text in GB/T 7714-2015 form for datasets ([DS/OL])."""

from __future__ import annotations

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
        parts.append(f"https://doi.org/{ids.doi}")
    elif record.landing_page:
        parts.append(record.landing_page)
    if ids.cstr:
        parts.append(ids.cstr)
    return ". ".join(parts) + "."
