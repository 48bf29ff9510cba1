"""Who may see what: the audience of a request and the index visibility it maps to."""

from __future__ import annotations

from fedcat.harvester.config import Audience
from fedcat.harvester.model import Security
from fedcat.index.base import Visibility

# ``unknown`` security means no source or rule said anything restrictive about the
# record, whose metadata the center already publishes; it is shown like ``general``.
_PUBLIC = frozenset({Security.GENERAL, Security.UNKNOWN})
_RESTRICTED = _PUBLIC | {Security.SENSITIVE}

VISIBILITY: dict[Audience, Visibility] = {
    Audience.PUBLIC_INTERNATIONAL: Visibility(security=_PUBLIC, hide_domestic=True),
    Audience.PUBLIC_DOMESTIC: Visibility(security=_RESTRICTED),
    Audience.REGISTERED: Visibility(security=_RESTRICTED),
    Audience.OFFICER: Visibility(security=_RESTRICTED | {Security.IMPORTANT}),
}


def visibility_for(audience: Audience) -> Visibility:
    return VISIBILITY[audience]
