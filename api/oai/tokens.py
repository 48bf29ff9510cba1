"""Resumption tokens: where a list stopped, and what it lists.

A token carries the list's arguments (verb, metadata prefix, from, until, set), the position reached as a
keyset (the datestamp and identifier of the last item sent: the list goes on with the items after it in
(datestamp, identifier) order), the cursor and complete size announced, and an expiry. Records that
change while a harvester pages move to a later datestamp, so a token never skips an item that was
there when the list began and stays valid however the catalog changes; an item that changed is listed
(again) further on. Tokens are signed (HMAC-SHA256 with the provider's key): one that was altered,
comes from another catalog or has expired is a ``badResumptionToken``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass

from .errors import BadResumptionToken

#: How long a token may be used (seconds).
TOKEN_LIFETIME = 24 * 3600


@dataclass(frozen=True)
class ListState:
    verb: str
    prefix: str
    from_: str | None
    until: str | None
    set_spec: str | None
    #: The (datestamp, identifier) of the last item sent; None before the first page.
    after: tuple[str, str] | None
    cursor: int
    size: int
    expires: int


def encode(state: ListState, key: bytes) -> str:
    body = json.dumps(asdict(state), separators=(",", ":"), sort_keys=True).encode("utf-8")
    mac = hmac.new(key, body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + body).decode("ascii").rstrip("=")


def decode(token: str, key: bytes, now: int) -> ListState:
    """The state a token carries; :class:`BadResumptionToken` when it is malformed, altered, foreign or old."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, UnicodeError) as exc:
        raise BadResumptionToken("the resumption token is not one this repository issued") from exc
    mac, body = raw[:16], raw[16:]
    if len(raw) < 17 or not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()[:16]):
        raise BadResumptionToken("the resumption token is not one this repository issued")
    try:
        data = json.loads(body)
        after = data["after"]
        state = ListState(verb=str(data["verb"]), prefix=str(data["prefix"]), from_=data["from_"],
                          until=data["until"], set_spec=data["set_spec"],
                          after=(str(after[0]), str(after[1])) if after else None, cursor=int(data["cursor"]),
                          size=int(data["size"]), expires=int(data["expires"]))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise BadResumptionToken("the resumption token is not one this repository issued") from exc
    if state.expires < now:
        raise BadResumptionToken("the resumption token has expired: start the list again")
    return state
