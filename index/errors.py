"""The index's exceptions, one tree under the project's common base::

    FedcatError
    └── IndexBackendError            the search index failed (backend name in the message)
        ├── IndexUnavailable         the backend cannot be reached or opened (locked, down)
        ├── BadQuery                 a query, filter or cursor the index cannot run (names the parameter)
        └── BulkError                some documents of a bulk request were rejected (per-document errors)
"""

from __future__ import annotations

from fedcat.harvester.errors import FedcatError


class IndexBackendError(FedcatError):
    """The search index failed."""


class IndexUnavailable(IndexBackendError):
    """The backend cannot be reached or opened."""


class BadQuery(IndexBackendError):
    """The query cannot be run; ``param`` names the request parameter at fault."""

    def __init__(self, message: str, *, param: str) -> None:
        self.param = param
        super().__init__(f"{param}: {message}")


class BulkError(IndexBackendError):
    """Some documents of a bulk request were rejected."""

    def __init__(self, message: str, *, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(f"{message} ({len(errors)} documents failed)")
