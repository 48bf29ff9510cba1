"""The record store (SQLite) and harvest run reports."""

from .runs import Outcome, RecordError, RunReport, RunStatus
from .sqlite import PageItem, RawPayload, RecordStore

__all__ = ["Outcome", "PageItem", "RawPayload", "RecordError", "RecordStore", "RunReport", "RunStatus"]
