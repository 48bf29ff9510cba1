"""The record store (SQLite, or PostgreSQL) and harvest run reports."""

from .record_store import RecordStore, open_store
from .records import PageItem, RawPayload
from .runs import Outcome, RecordError, RunReport, RunStatus

__all__ = ["Outcome", "PageItem", "RawPayload", "RecordError", "RecordStore", "RunReport", "RunStatus",
           "open_store"]
