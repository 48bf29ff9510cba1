"""Harvest run reports and their states."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # finished, but some records errored
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the process died; found on the next start


class Outcome(StrEnum):
    """What storing one record did."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    ERRORED = "errored"
    GATED = "gated"


@dataclass
class RecordError:
    local_id: str | None
    message: str
    url: str | None = None


@dataclass
class RunReport:
    """One harvest of one source."""

    source_id: str
    id: int | None = None
    status: RunStatus = RunStatus.RUNNING
    full: bool = False
    started_at: str | None = None
    finished_at: str | None = None
    pages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    errors: list[RecordError] = field(default_factory=list)
    message: str | None = None
    #: What was read other than as sent (an encoding fallback): the data are kept, the change is said.
    warnings: list[str] = field(default_factory=list)

    MAX_ERRORS = 50
    MAX_WARNINGS = 50

    def count(self, outcome: Outcome, n: int = 1) -> None:
        self.counts[outcome.value] += n

    def add_warning(self, warning: str) -> None:
        if len(self.warnings) < self.MAX_WARNINGS and warning not in self.warnings:
            self.warnings.append(warning)

    def add_error(self, error: RecordError) -> None:
        if len(self.errors) < self.MAX_ERRORS:
            self.errors.append(error)

    def after_page(self, outcomes: Iterable[Outcome], *, unchanged: int = 0,
                   errors: Iterable[RecordError] = ()) -> RunReport:
        """A copy of this report with one more page counted in: its records' outcomes, ``unchanged``
        records it listed and did not map again, and its records in error. The store writes the copy
        with the page, in the same transaction; the run takes its figures once the page is written."""
        after = replace(self, counts=self.counts.copy(), errors=list(self.errors))
        after.pages += 1
        after.count(Outcome.UNCHANGED, unchanged)
        for outcome in outcomes:
            after.count(outcome)
        for error in errors:
            after.count(Outcome.ERRORED)
            after.add_error(error)
        return after

    @property
    def duration_s(self) -> float | None:
        from datetime import datetime

        if not self.started_at or not self.finished_at:
            return None
        start = datetime.fromisoformat(self.started_at)
        end = datetime.fromisoformat(self.finished_at)
        return round((end - start).total_seconds(), 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source_id": self.source_id,
            "status": self.status.value,
            "full": self.full,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "pages": self.pages,
            "added": self.counts.get("added", 0),
            "updated": self.counts.get("updated", 0),
            "unchanged": self.counts.get("unchanged", 0),
            "deleted": self.counts.get("deleted", 0),
            "errored": self.counts.get("errored", 0),
            "gated": self.counts.get("gated", 0),
            "retries": dict(self.retries),
            "errors": [e.__dict__ for e in self.errors],
            "warnings": list(self.warnings),
            "message": self.message,
        }
