"""The tagging engine: every signal proposes, precedence decides, evidence records why.

For each tag (openness, geo scope, security) the engine gathers candidate
values with the tier of the signal that proposed them::

    override  > explicit > rule > policy > default
    (officer)   (what the    (licence,  (source or  (unknown)
                source says) content)   set policy)

The highest tier with a candidate decides. Candidates of that tier that
disagree resolve to the most restrictive value (``*_ORDER`` in the model) and
the tag is listed in ``access.conflicts``. One refinement: a ``sensitive``
candidate from a lower tier narrows an explicit ``general``, since sensitive
is the restricted sub-level of general data (一般数据（受限）), not a contradiction.

An embargo whose end has passed (by the engine's clock) becomes its
post-embargo level, with its own evidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum

from ..config_schema import Config, Policy, RuleConfig, SourceConfig
from ..errors import OverrideError
from ..model import (
    GEO_ORDER,
    OPENNESS_ORDER,
    SECURITY_ORDER,
    Access,
    Evidence,
    GeoScope,
    Openness,
    Record,
    Security,
)
from .rules import (
    CompiledRule,
    Content,
    Match,
    compile_rules,
    load_rules_file,
    matches,
    statement_match,
)

TAGS = ("openness", "geo_scope", "security")
Clock = Callable[[], date]


class Tier(IntEnum):
    DEFAULT = 0
    POLICY = 1
    RULE = 2
    EXPLICIT = 3
    OVERRIDE = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Override:
    """An officer's decision on one tag of one record; survives re-harvests."""

    record_id: str
    tag: str
    value: str
    by: str
    reason: str
    at: str
    id: int | None = None
    #: The second officer, for a change that needed one (lowering a record out of important/core/secret).
    confirmed_by: str | None = None


def check_override(tag: str, value: str) -> None:
    """Raise OverrideError unless ``value`` is a (known, not ``unknown``) value of ``tag``."""
    enum = _ENUMS.get(tag)
    if enum is None:
        raise OverrideError(f"unknown tag {tag!r} (known: {', '.join(TAGS)})")
    allowed = [v.value for v in enum if v.value != "unknown"]
    if value not in allowed:
        raise OverrideError(f"{value!r} is not a {tag} value (known: {', '.join(allowed)})")


@dataclass
class _Candidate:
    value: str
    tier: Tier
    evidence: Evidence


@dataclass
class _Proposals:
    by_tag: dict[str, list[_Candidate]] = field(default_factory=lambda: {t: [] for t in TAGS})
    flags: list[str] = field(default_factory=list)
    embargo_until: str | None = None
    after_embargo: Openness | None = None

    def add(self, tag: str, value: str, tier: Tier, evidence: Evidence) -> None:
        self.by_tag[tag].append(_Candidate(value, tier, evidence))


_ORDERS: dict[str, Sequence[str]] = {
    "openness": [o.value for o in OPENNESS_ORDER],
    "geo_scope": [g.value for g in GEO_ORDER],
    "security": [s.value for s in SECURITY_ORDER],
}


def today() -> date:
    return date.today()


class RuleBook:
    """The federation's rules: the shipped file (or ``tagging.rules_file``) plus ``tagging.rules``."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = list(rules)

    @classmethod
    def from_config(cls, config: Config) -> RuleBook:
        base = load_rules_file(config.tagging.rules_file)
        extra = compile_rules(config.tagging.rules, "tagging.rules")
        return cls(_merge(base, extra))

    def for_source(self, source: SourceConfig, *, clock: Clock = today,
                   overrides: Iterable[Override] = ()) -> SourceTagger:
        return SourceTagger(self, source, clock=clock, overrides=overrides)


@dataclass(frozen=True)
class _RuleSet:
    """The rules for records of some sets: those reading only statements, and the others."""

    by_statement: tuple[CompiledRule, ...]
    other: tuple[CompiledRule, ...]


_MAX_REMEMBERED = 50_000


def _merge(base: Sequence[CompiledRule], extra: Sequence[CompiledRule]) -> list[CompiledRule]:
    """Rules of ``extra`` replace rules of ``base`` with the same id, the others are added."""
    replaced = {r.id for r in extra}
    return [r for r in base if r.id not in replaced] + list(extra)


class SourceTagger:
    """Tags the records of one source: its rules, its policies, its officers' overrides."""

    def __init__(self, book: RuleBook, source: SourceConfig, *, clock: Clock = today,
                 overrides: Iterable[Override] = ()) -> None:
        self.source = source
        self.clock = clock
        tagging = source.tagging
        extra = compile_rules(tagging.rules, f"sources[{source.id}].tagging.rules")
        disabled = set(tagging.disable)
        self.rules = [r for r in _merge(book.rules, extra) if r.id not in disabled]
        self.set_rules: dict[str, list[CompiledRule]] = {}
        self.set_disabled: dict[str, set[str]] = {}
        self.set_policy: dict[str, Policy] = {}
        for st in tagging.sets:
            self.set_rules[st.set] = compile_rules(st.rules, f"sources[{source.id}].tagging.sets[{st.set}].rules")
            self.set_disabled[st.set] = set(st.disable)
            self.set_policy[st.set] = st.policy
        self.overrides: dict[str, list[Override]] = {}
        for o in overrides:
            self.overrides.setdefault(o.record_id, []).append(o)
        self.fingerprint = hashlib.sha256(repr(
            ([r.config for r in self.rules], source.policy, tagging)).encode("utf-8")).hexdigest()
        self._rulesets: dict[tuple[str, ...], _RuleSet] = {}
        self._stated: dict[tuple[int, str, str], tuple[Match, ...]] = {}

    def tag(self, record: Record) -> Record:
        """Fill ``record.access`` (live records only; tombstones carry no tags)."""
        if record.deleted:
            return record
        proposals = _Proposals()
        ruleset = self._ruleset_for(record)
        for st in record.statements:
            for m in self._statement_matches(ruleset, st.field, st.value):
                _propose_rule(proposals, m)
        content = Content.of(record)
        for rule in ruleset.other:
            for m in matches(rule, record, content):
                _propose_rule(proposals, m)
        _propose_mapped(proposals, record)
        self._propose_policies(proposals, record)
        for o in self.overrides.get(record.id, ()):
            proposals.add(o.tag, o.value, Tier.OVERRIDE, Evidence(
                tag=o.tag, value=o.value, rule="officer-override",
                field=f"override by {o.by} at {o.at}" + (f", confirmed by {o.confirmed_by}" if o.confirmed_by else ""),
                source_value=o.reason, tier=Tier.OVERRIDE.label))
        record.access = _decide(proposals, self.clock())
        return record

    def _ruleset_for(self, record: Record) -> _RuleSet:
        key = tuple(s for s in record.sets if s in self.set_rules)
        ruleset = self._rulesets.get(key)
        if ruleset is None:
            rules = self.rules
            for s in key:
                rules = [r for r in rules if r.id not in self.set_disabled[s]]
            for s in key:
                rules = _merge(rules, self.set_rules[s])
            ruleset = self._rulesets[key] = _RuleSet(
                tuple(r for r in rules if r.statement_only), tuple(r for r in rules if not r.statement_only))
        return ruleset

    def _statement_matches(self, ruleset: _RuleSet, field: str, value: str) -> tuple[Match, ...]:
        """Statement-only rules matching one statement; remembered, as sources repeat their statements."""
        key = (id(ruleset), field, value)  # rulesets live as long as this tagger: ids stay unique
        found = self._stated.get(key)
        if found is None:
            if len(self._stated) >= _MAX_REMEMBERED:
                self._stated.clear()
            found = self._stated[key] = tuple(
                m for r in ruleset.by_statement if (m := statement_match(r, field, value)) is not None)
        return found

    def _propose_policies(self, proposals: _Proposals, record: Record) -> None:
        """Set policies replace the source policy for the tags they set (several sets: all count)."""
        by_set = [(s, p) for s in record.sets if (p := self.set_policy.get(s)) is not None]
        for s, policy in by_set:
            _propose_policy(proposals, policy, f"sources[{self.source.id}].tagging.sets[{s}].policy")
        _propose_policy(proposals, self.source.policy, f"sources[{self.source.id}].policy",
                        only_if_unset=True)


def _propose_rule(proposals: _Proposals, m: Match) -> None:
    cfg: RuleConfig = m.rule.config
    tier = Tier.EXPLICIT if cfg.when.statement else Tier.RULE
    for tag in TAGS:
        value = getattr(cfg.set, tag)
        if value is None:
            continue
        proposals.add(tag, value.value, tier, Evidence(
            tag=tag, value=value.value, rule=cfg.id, field=m.field, source_value=m.value, tier=tier.label))
    for flag in cfg.flags:
        if flag.value not in proposals.flags:
            proposals.flags.append(flag.value)
    if cfg.after_embargo is not None:
        proposals.after_embargo = _most_restrictive_openness(proposals.after_embargo, cfg.after_embargo)
        if m.embargo_until and (proposals.embargo_until is None or m.embargo_until > proposals.embargo_until):
            proposals.embargo_until = m.embargo_until


def _propose_mapped(proposals: _Proposals, record: Record) -> None:
    """Statements a source profile's value map already translated are explicit signals."""
    for st in record.statements:
        if not st.maps_to:
            continue
        tag, _, value = st.maps_to.partition(":")
        if tag in TAGS and value in _ORDERS[tag]:
            proposals.add(tag, value, Tier.EXPLICIT, Evidence(
                tag=tag, value=value, rule="profile-value-map", field=st.field, source_value=st.value,
                tier=Tier.EXPLICIT.label))


def _propose_policy(proposals: _Proposals, policy: Policy, where: str, *, only_if_unset: bool = False) -> None:
    for tag in TAGS:
        value = getattr(policy, tag).value
        if value == "unknown":
            continue
        if only_if_unset and any(c.tier == Tier.POLICY for c in proposals.by_tag[tag]):
            continue
        proposals.add(tag, value, Tier.POLICY, Evidence(
            tag=tag, value=value, rule="source-policy", field=f"{where}.{tag}", source_value=value,
            tier=Tier.POLICY.label))


def _decide(proposals: _Proposals, now: date) -> Access:
    access = Access(flags=list(proposals.flags))
    for tag in TAGS:
        value, evidence, conflict = _resolve(tag, proposals.by_tag[tag])
        setattr(access, tag, _ENUMS[tag](value))
        access.evidence.extend(evidence)
        if conflict:
            access.conflicts.append(tag)
    if access.openness is Openness.EMBARGOED:
        _apply_embargo(access, proposals, now)
    return access


_ENUMS: dict[str, type[Openness] | type[GeoScope] | type[Security]] = {
    "openness": Openness, "geo_scope": GeoScope, "security": Security,
}


def _resolve(tag: str, candidates: list[_Candidate]) -> tuple[str, list[Evidence], bool]:
    if not candidates:
        return "unknown", [Evidence(tag=tag, value="unknown", rule="default:unknown",
                                    tier=Tier.DEFAULT.label)], False
    top = max(c.tier for c in candidates)
    deciding = [c for c in candidates if c.tier == top]
    order = _ORDERS[tag]
    value = max((c.value for c in deciding), key=order.index)
    conflict = len({c.value for c in deciding}) > 1
    chosen = [c for c in deciding if c.value == value]
    if tag == "security" and value == Security.GENERAL.value:
        narrower = [c for c in candidates if c.tier < top and c.value == Security.SENSITIVE.value]
        if narrower:
            value, chosen = Security.SENSITIVE.value, chosen + narrower
    evidence = [_with_value(c.evidence, value) for c in chosen]
    if conflict:
        evidence += [c.evidence for c in deciding if c.value != value]
    return value, _dedupe(evidence), conflict


def _with_value(ev: Evidence, value: str) -> Evidence:
    return ev if ev.value == value else Evidence(ev.tag, value, ev.rule, ev.field, ev.source_value, ev.tier)


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    seen: set[tuple[str | None, ...]] = set()
    out = []
    for ev in evidence:
        key = (ev.value, ev.field, ev.source_value)  # two rules reading the same words: the first says why
        if key not in seen:
            seen.add(key)
            out.append(ev)
    return out


def _apply_embargo(access: Access, proposals: _Proposals, now: date) -> None:
    access.embargo_until = proposals.embargo_until
    access.openness_after_embargo = proposals.after_embargo or Openness.OPEN
    if access.embargo_until is None or access.embargo_until > now.isoformat():
        return
    lifted = access.openness_after_embargo
    access.openness = lifted
    access.evidence.append(Evidence(
        tag="openness", value=lifted.value, rule="embargo-lifted", field="embargo_until",
        source_value=access.embargo_until, tier="embargo"))


def _most_restrictive_openness(a: Openness | None, b: Openness) -> Openness:
    if a is None:
        return b
    return max(a, b, key=OPENNESS_ORDER.index)
