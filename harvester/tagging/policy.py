"""The fallback tagger: the source's policy defaults from the config, else ``unknown``."""

from __future__ import annotations

from typing import Protocol

from ..config import SourceConfig
from ..model import Evidence, GeoScope, Openness, Record, Security


class Tagger(Protocol):
    def tag(self, record: Record, source: SourceConfig) -> None:
        """Fill ``record.access`` in place, adding evidence for each value set."""


class PolicyTagger:
    """Sets each tag still ``unknown`` to the source's policy default."""

    def tag(self, record: Record, source: SourceConfig) -> None:
        acc = record.access
        policy = source.policy
        if acc.openness is Openness.UNKNOWN:
            acc.openness = policy.openness
            acc.evidence.append(_evidence("openness", policy.openness.value, source))
        if acc.geo_scope is GeoScope.UNKNOWN:
            acc.geo_scope = policy.geo_scope
            acc.evidence.append(_evidence("geo_scope", policy.geo_scope.value, source))
        if acc.security is Security.UNKNOWN:
            acc.security = policy.security
            acc.evidence.append(_evidence("security", policy.security.value, source))


def _evidence(tag: str, value: str, source: SourceConfig) -> Evidence:
    if value == "unknown":
        return Evidence(tag=tag, value=value, rule="default:unknown", field=None,
                        source_value=None)
    return Evidence(tag=tag, value=value, rule="source-policy", field=f"sources[{source.id}].policy.{tag}",
                    source_value=value)


DEFAULT_TAGGERS: tuple[Tagger, ...] = (PolicyTagger(),)


def tag_record(record: Record, source: SourceConfig, taggers: tuple[Tagger, ...] = DEFAULT_TAGGERS) -> Record:
    """Run the taggers over a live record (tombstones carry no tags)."""
    if record.deleted:
        return record
    for tagger in taggers:
        tagger.tag(record, source)
    return record
