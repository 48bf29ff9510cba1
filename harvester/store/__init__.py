"""The record store (SQLite) and harvest run reports."""

from .records import PageItem, RawPayload
from .runs import Outcome, RecordError, RunReport, RunStatus
from .sqlite import RecordStore

__all__ = ["Outcome", "PageItem", "RawPayload", "RecordError", "RecordStore", "RunReport", "RunStatus"]
