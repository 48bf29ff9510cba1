"""The API's one error envelope, and its exception tree::

    FedcatError
    └── ApiError                 → {"error": {"status", "code", "message", "parameter"}}
        ├── BadParameter         400, names the query parameter
        ├── Unauthorized         401, an API key that is unknown, malformed or revoked
        ├── Forbidden            403, the caller's audience may not do this
        ├── NotFound             404 (a record the caller may not see is also "not found")
        └── Conflict             409, the request does not fit the record's state (a proposer
                                 confirming their own change, a review of a record not awaiting one)

Every error the API sends, including FastAPI's own validation errors, unknown
routes and unexpected failures, has the same JSON shape::

    {"error": {"status": 400, "code": "bad_parameter", "message": "...", "parameter": "size"}}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fedcat.harvester.errors import FedcatError
from fedcat.index.errors import BadQuery, IndexUnavailable

log = logging.getLogger(__name__)


class ApiError(FedcatError):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        self.message = message
        self.parameter = parameter
        super().__init__(message)


class BadParameter(ApiError):
    status = 400
    code = "bad_parameter"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


def envelope(status: int, code: str, message: str, parameter: str | None = None,
             headers: Mapping[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if parameter:
        body["parameter"] = parameter
    return JSONResponse({"error": body}, status_code=status, headers=headers)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return envelope(exc.status, exc.code, exc.message, exc.parameter)

    @app.exception_handler(BadQuery)
    async def _bad_query(_: Request, exc: BadQuery) -> JSONResponse:
        return envelope(400, "bad_parameter", str(exc), exc.param)

    @app.exception_handler(IndexUnavailable)
    async def _unavailable(_: Request, exc: IndexUnavailable) -> JSONResponse:
        return envelope(503, "index_unavailable", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body") and not isinstance(p, int)]
        parameter = ".".join(loc) or None
        message = f"{parameter}: {first.get('msg', 'invalid value')}" if parameter else str(first.get("msg"))
        return envelope(400, "bad_parameter", message, parameter)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return envelope(exc.status_code, code, str(exc.detail), headers=exc.headers)  # 405's Allow

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return envelope(500, "internal_error", "internal server error")
