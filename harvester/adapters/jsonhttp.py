"""JSON over :class:`~fedcat.harvester.http.HttpClient`: decoding, truncation retries, envelope checks."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from ..errors import APIError, MalformedResponse
from ..http import HttpClient, Response
from ..rest import paths
from ..rest.profile import EnvelopeSpec

log = logging.getLogger(__name__)

BOM = b"\xef\xbb\xbf"


def decode(resp: Response) -> Any:
    """The body as JSON (UTF-8, the declared charset, else GB18030); ValueError when it is not JSON."""
    body = resp.body[len(BOM):] if resp.body.startswith(BOM) else resp.body
    for encoding in dict.fromkeys([resp.encoding or "utf-8", "utf-8", "gb18030"]):
        try:
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        return json.loads(text)
    raise ValueError("body is neither UTF-8 nor GB18030 text")


def _looks_cut(body: bytes) -> bool:
    """A body that starts like JSON but does not end like it: a transfer cut short."""
    head = body.lstrip(BOM).lstrip()[:1]
    tail = body.rstrip()[-1:]
    return head in (b"{", b"[") and tail not in (b"}", b"]")


def fetch_json(
    client: HttpClient,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    body: object | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[Response, Any]:
    """Send a request and parse JSON; a body cut short is fetched again (counted as ``truncated``)."""
    attempt = 0
    while True:
        resp = client.request(method, url, params=params, json_body=body,
                              headers={"Accept": "application/json", **(headers or {})})
        try:
            return resp, decode(resp)
        except ValueError as exc:
            if not _looks_cut(resp.body) or attempt >= client.policy.max_retries:
                kind = resp.headers.get("Content-Type", "no content type")
                raise MalformedResponse(f"not a JSON response ({kind}, {len(resp.body)} bytes): {exc}",
                                        source_id=client.source_id, url=resp.url) from None
            attempt += 1
            client.retries["truncated"] += 1
            log.warning("[%s] %s: truncated JSON body, retry %d", client.source_id, resp.url, attempt)


def check_envelope(data: Any, env: EnvelopeSpec | None, *, source_id: str, url: str) -> None:
    """Raise :class:`APIError` with the server's message unless the envelope says success."""
    if env is None:
        return
    value = paths.as_text(paths.first(data, env.path))
    if value is not None and value in env.success:
        return
    message = paths.as_text(paths.first(data, env.message_path)) if env.message_path else None
    raise APIError(f"API answered {env.path}={value if value is not None else 'missing'}"
                   f"{': ' + message if message else ''} (success: {', '.join(env.success)})",
                   code=value, source_id=source_id, url=url)
