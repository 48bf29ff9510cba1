"""JSON responses for the routes that answer most often (search), rendered by orjson.

FastAPI turns a returned ``dict`` into JSON by walking it through ``jsonable_encoder`` first: about 2 ms
for a page of 20 hits, more than the index takes to find a rare word in a million records. A route that
returns :class:`FastJSONResponse` skips that walk; the text is the one :class:`JSONResponse` gives
(compact UTF-8, non-ASCII kept), written by :func:`fedcat.harvester.serial.dumps_bytes`.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from fedcat.harvester import serial


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return serial.dumps_bytes(content)
