"""Who may see what: the caller of a request, its audience, and what that audience sees.

| audience             | sees                                                      |
|----------------------|-----------------------------------------------------------|
| public_international | ``general`` records whose geo scope is not ``domestic``   |
| public_domestic      | all ``general``; ``sensitive`` without access links       |
| registered           | ``general`` + ``sensitive``, with access links            |
| officer              | also ``review`` and ``important`` (reads are audited)     |
| nobody               | ``core``, ``secret`` (never stored beyond id/source/level) |

The anonymous audience comes from ``api.anonymous_audience``; an API key
raises it. ``unknown`` security is treated as ``api.unknown_security``.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

from fedcat.harvester.citation import gbt7714
from fedcat.harvester.config import ApiConfig, Audience
from fedcat.harvester.model import Record, Security
from fedcat.index.base import Visibility

_SEES: dict[Audience, frozenset[Security]] = {
    Audience.PUBLIC_INTERNATIONAL: frozenset({Security.GENERAL}),
    Audience.PUBLIC_DOMESTIC: frozenset({Security.GENERAL, Security.SENSITIVE}),
    Audience.REGISTERED: frozenset({Security.GENERAL, Security.SENSITIVE}),
    Audience.OFFICER: frozenset({Security.GENERAL, Security.SENSITIVE, Security.REVIEW, Security.IMPORTANT}),
}
_LINKS: dict[Audience, frozenset[Security]] = {
    Audience.PUBLIC_INTERNATIONAL: frozenset({Security.GENERAL}),
    Audience.PUBLIC_DOMESTIC: frozenset({Security.GENERAL}),
    Audience.REGISTERED: frozenset({Security.GENERAL, Security.SENSITIVE}),
    Audience.OFFICER: frozenset({Security.GENERAL, Security.SENSITIVE, Security.REVIEW, Security.IMPORTANT}),
}
#: Levels whose every read by an officer goes to the audit log.
AUDITED_LEVELS = frozenset({Security.REVIEW, Security.IMPORTANT})
#: Fields of a search hit or record that lead to the data itself.
LINK_FIELDS = ("landing_page", "access_url")


@dataclass(frozen=True)
class Caller:
    """Who is asking: an audience, and a name for the audit log (``anonymous`` or ``key:<name>``)."""

    audience: Audience
    actor: str = "anonymous"
    unknown_as: Security = Security.GENERAL

    @classmethod
    def anonymous(cls, api: ApiConfig) -> Caller:
        return cls(api.anonymous_audience, "anonymous", api.unknown_security)

    @property
    def is_officer(self) -> bool:
        return self.audience is Audience.OFFICER

    def level(self, security: Security) -> Security:
        return self.unknown_as if security is Security.UNKNOWN else security

    @property
    def visibility(self) -> Visibility:
        return visibility_for(self.audience, self.unknown_as)

    def sees_links(self, security: Security) -> bool:
        return self.level(security) in _LINKS[self.audience]

    def shape_hit(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A search hit as this caller may see it (access links dropped where not allowed), and so
        each source providing the dataset in its ``sources`` list."""
        out = self._links(doc)
        if "sources" in out:
            out = dict(out, sources=[self._links(s) for s in out["sources"]])
        return out

    def _links(self, doc: dict[str, Any]) -> dict[str, Any]:
        if self.sees_links(Security(doc.get("security") or "unknown")):
            return doc
        return {k: v for k, v in doc.items() if k not in LINK_FIELDS}

    def shape_record(self, body: dict[str, Any], record: Record) -> dict[str, Any]:
        if self.sees_links(record.access.security):
            return body
        out = copy.deepcopy(body)
        for name in LINK_FIELDS:
            out.pop(name, None)
        out["identifiers"]["urls"] = []
        out.pop("raw_url", None)
        out["citation"] = gbt7714(dataclasses.replace(record, landing_page=None))  # a DOI stays, a page not
        out["links_withheld"] = "access links are shown to registered users"
        return out


def visibility_for(audience: Audience, unknown_as: Security = Security.GENERAL) -> Visibility:
    levels = set(_SEES[audience])
    if unknown_as in levels:
        levels.add(Security.UNKNOWN)
    return Visibility(security=frozenset(levels), hide_domestic=audience is Audience.PUBLIC_INTERNATIONAL)
