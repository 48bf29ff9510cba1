"""JSON over :class:`~fedcat.harvester.sources.http.HttpClient`: decoding, truncation retries, envelope checks."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from ..errors import APIError, HTTPStatusError, MalformedResponse
from .http import HttpClient, Response
from .rest import paths
from .rest.profile import EnvelopeSpec

log = logging.getLogger(__name__)

BOM = b"\xef\xbb\xbf"
#: Client errors whose JSON body is read for the server's message (CKAN answers 409 with one).
CLIENT_ERRORS = frozenset({400, 403, 404, 409, 410, 422})


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
    envelope: EnvelopeSpec | None = None,
) -> tuple[Response, Any]:
    """Send a request and parse JSON; a body cut short is fetched again (counted as ``truncated``).

    A failing envelope raises :class:`APIError` with the server's message; a 4xx answer raises
    :class:`HTTPStatusError` carrying the message of its JSON body when it has one.
    """
    attempt = 0
    while True:
        resp = client.request(method, url, params=params, json_body=body, ok_statuses=CLIENT_ERRORS,
                              headers={"Accept": "application/json", **(headers or {})})
        try:
            data = decode(resp)
        except ValueError as exc:
            if resp.status >= 300:
                raise HTTPStatusError(f"HTTP {resp.status}", status=resp.status, source_id=client.source_id,
                                      url=resp.url) from None
            if not _looks_cut(resp.body) or attempt >= client.policy.max_retries:
                kind = resp.headers.get("Content-Type", "no content type")
                raise MalformedResponse(f"not a JSON response ({kind}, {len(resp.body)} bytes): {exc}",
                                        source_id=client.source_id, url=resp.url) from None
            attempt += 1
            client.spend_retry("truncated", resp.url)
            log.warning("[%s] %s: truncated JSON body, retry %d", client.source_id, resp.url, attempt)
            continue
        check_envelope(data, envelope, source_id=client.source_id, url=resp.url)
        if resp.status >= 300:
            raise HTTPStatusError(f"HTTP {resp.status}: {_message(data)}", status=resp.status,
                                  source_id=client.source_id, url=resp.url)
        return resp, data


def _message(data: Any) -> str:
    """A readable message from an error body (CKAN ``error.message``, JSON:API ``errors[].title``, ...)."""
    for path in ("error.message", "errors[0].title", "errors[0].detail", "message", "msg", "error"):
        text = paths.as_text(paths.first(data, path))
        if text:
            return text[:300]
    return json.dumps(data, ensure_ascii=False)[:300]


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
