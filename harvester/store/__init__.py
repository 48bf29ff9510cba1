"""The record store (SQLite) and harvest run reports."""

from fedcat.harvester.store.records import PageItem, RawPayload
from fedcat.harvester.store.runs import Outcome, RecordError, RunReport, RunStatus
from fedcat.harvester.store.sqlite import RecordStore

__all__ = ["Outcome", "PageItem", "RawPayload", "RecordError", "RecordStore", "RunReport", "RunStatus"]
