"""What a harvest reports as it goes (the command line's progress bars implement it)."""

from __future__ import annotations

from typing import Protocol

from ..store import RunReport


class Progress(Protocol):
    def started(self, source_id: str) -> None: ...
    def advanced(self, source_id: str, records: int, total_hint: int | None) -> None: ...
    def finished(self, report: RunReport) -> None: ...


class NullProgress:
    def started(self, source_id: str) -> None:
        pass

    def advanced(self, source_id: str, records: int, total_hint: int | None) -> None:
        pass

    def finished(self, report: RunReport) -> None:
        pass
