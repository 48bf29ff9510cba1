"""The OpenAPI document as the API really answers: every error in the one envelope of :mod:`.errors`.

FastAPI describes a 422 with its own validation shape on every route; fedcat answers 400 with the
envelope instead (see ``errors.install``). This rewrites the generated document once: the 422s and their
schemas go, each operation lists the error statuses it can give, all pointing at ``ErrorEnvelope``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    status: int = Field(description="The HTTP status, repeated")
    code: str = Field(description="bad_parameter, unauthorized, forbidden, not_found, conflict, "
                                  "method_not_allowed, index_unavailable or internal_error")
    message: str = Field(description="What went wrong, for a human")
    parameter: str | None = Field(default=None, description="The query parameter or body field at fault")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
_WHY = {
    "400": "A parameter is unknown, repeated, out of range or not in its vocabulary",
    "401": "The API key is unknown, malformed or revoked",
    "403": "The caller's audience may not do this",
    "404": "No such record or center (a record the caller may not see is not found either)",
    "409": "The request does not fit the record's state",
}


def _statuses(path: str, operation: dict[str, Any]) -> list[str]:
    out = ["400", "401"]
    if "(officer)" in operation.get("summary", ""):
        out.append("403")
    if "{" in path:
        out.append("404")
    if "/review/" in path or operation.get("requestBody"):
        out.append("409")
    return out


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app`` (built once, then cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
                   .pop("$defs", {}))
    schemas["ErrorEnvelope"] = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["ErrorEnvelope"].pop("$defs", None)
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in _statuses(path, operation):
                responses.setdefault(status, {"description": _WHY[status],
                                              "content": {"application/json": {"schema": _REF}}})
    app.openapi_schema = doc
    return doc


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
