"""Tagging rules: loading the shipped YAML file, compiling patterns, matching records.

A rule proposes tag values when its ``when`` clause matches a record; it does
not decide. :mod:`.engine` weighs the proposals of every rule by precedence.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import yaml

from ..config_schema import RuleConfig, RulesFile
from ..errors import ConfigError
from ..model import Record
from ..schema import validate
from ..yaml_loader import safe_load
from .normalise import fold, original_span
from .prefilter import may_match

#: The rules shipped with fedcat (``harvester/tagging/rules.yaml``).
SHIPPED_RULES = "rules.yaml"
_MAX_EVIDENCE_CHARS = 200
_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


@dataclass(frozen=True)
class CompiledRule:
    config: RuleConfig
    statement: re.Pattern[str] | None
    licence: re.Pattern[str] | None
    content: re.Pattern[str] | None
    #: ``when.fields`` as one compiled pattern (None: every field).
    fields: re.Pattern[str] | None = None
    context: tuple[re.Pattern[str], ...] = ()
    unless: re.Pattern[str] | None = None
    #: ``when.fields`` entries written ``!pattern``: statement fields the rule does not read.
    not_fields: re.Pattern[str] | None = None

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def statement_only(self) -> bool:
        return self.statement is not None and self.licence is None and self.content is None

    def reads_field(self, name: str) -> bool:
        folded = fold(name)
        if self.not_fields is not None and self.not_fields.match(folded):
            return False
        return self.fields is None or self.fields.match(folded) is not None


@dataclass(frozen=True)
class Match:
    """A rule that matched, with the field and value that made it match."""

    rule: CompiledRule
    field: str
    value: str
    embargo_until: str | None = None


def compile_rules(rules: Sequence[RuleConfig], key: str) -> list[CompiledRule]:
    """Compile each rule's patterns; a bad rule raises ConfigError naming ``key[i]``."""
    out: list[CompiledRule] = []
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        rkey = f"{key}[{i}]"
        if rule.id in seen:
            raise ConfigError(f"duplicate rule id {rule.id!r}", key=f"{rkey}.id")
        seen.add(rule.id)
        when = rule.when
        if not (when.statement or when.licence or when.content):
            raise ConfigError("needs at least one of statement, licence, content", key=f"{rkey}.when")
        if when.fields and not when.statement:
            raise ConfigError("fields only narrows a statement pattern", key=f"{rkey}.when.fields")
        if when.context and not when.content:
            raise ConfigError("context only narrows a content pattern", key=f"{rkey}.when.context")
        if when.unless and not (when.statement or when.content):
            raise ConfigError("unless only cancels a statement or content pattern", key=f"{rkey}.when.unless")
        tags = rule.set
        if tags.openness is None and tags.geo_scope is None and tags.security is None and not rule.flags:
            raise ConfigError("sets no tag and no flag", key=f"{rkey}.set")
        if (tags.openness is not None and tags.openness.value == "embargoed") != (rule.after_embargo is not None):
            raise ConfigError("after_embargo is required with openness: embargoed (and only then)",
                              key=f"{rkey}.after_embargo")
        out.append(CompiledRule(
            config=rule,
            statement=_pattern(when.statement, f"{rkey}.when.statement"),
            licence=_pattern(when.licence, f"{rkey}.when.licence"),
            content=_pattern(when.content, f"{rkey}.when.content"),
            fields=_fields([f for f in when.fields if not f.startswith("!")]),
            context=tuple(p for i, c in enumerate(when.context)
                          if (p := _pattern(c, f"{rkey}.when.context[{i}]")) is not None),
            unless=_pattern(when.unless, f"{rkey}.when.unless"),
            not_fields=_fields([f[1:] for f in when.fields if f.startswith("!")]),
        ))
    return out


def _fields(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(fnmatch.translate(f) for f in patterns)) if patterns else None


def _pattern(value: str | None, key: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"not a valid regular expression ({exc})", key=key) from None


def load_rules_file(path: str | Path | None = None) -> list[CompiledRule]:
    """The rules of a YAML file (``rules: [...]``); the shipped file when ``path`` is None."""
    if path is None:
        text = resources.files(__package__).joinpath(SHIPPED_RULES).read_text(encoding="utf-8")
        where = SHIPPED_RULES
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the rules file: {exc}", key="tagging.rules_file") from exc
        where = str(path)
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", path=where) from exc
    if not isinstance(data, dict) or set(data) != {"rules"}:
        raise ConfigError("a rules file is a mapping with one key, rules", path=where)
    rules = validate(RulesFile, data, path=where).rules
    try:
        return compile_rules(rules, "rules")
    except ConfigError as exc:
        raise ConfigError(exc.detail, key=exc.key, path=where) from None


#: Between two fields in :attr:`Content.text`: no pattern of the shipped rules reads across it.
_FIELD_BREAK = "\n。\n"


@dataclass(frozen=True)
class Content:
    """A record's titles, subjects and descriptions, folded once per record.

    Rules search :attr:`text`, every field folded and joined (one search per rule, not per field);
    a match is traced back to its field and to the source's own characters for the evidence.
    """

    fields: tuple[tuple[str, str, str], ...]  # (field, original, folded)
    text: str
    starts: tuple[int, ...]  # where each field begins in ``text``
    lowered: str = ""  # ``text.lower()``, for :func:`.prefilter.may_match`

    @classmethod
    def of(cls, record: Record) -> Content:
        texts = [("title", t.value) for t in record.titles] + [("subject", s) for s in record.subjects] \
            + [("description", d.value) for d in record.descriptions]
        fields = tuple((name, value, fold(value)) for name, value in texts if value)
        starts, at = [], 0
        for _, _, folded in fields:
            starts.append(at)
            at += len(folded) + len(_FIELD_BREAK)
        text = _FIELD_BREAK.join(f for _, _, f in fields)
        return cls(fields, text, tuple(starts), text.lower())

    def search(self, pattern: re.Pattern[str]) -> tuple[str, str] | None:
        """(field, the source's own words) of the first place ``pattern`` matches, or None."""
        if not may_match(pattern, self.lowered):
            return None
        m = pattern.search(self.text)
        if m is None:
            return None
        i = bisect.bisect_right(self.starts, m.start()) - 1
        name, original, _ = self.fields[i]
        start = self.starts[i]
        return name, _clip(original_span(original, m.start() - start, m.end() - start))

    def has(self, pattern: re.Pattern[str]) -> bool:
        return may_match(pattern, self.lowered) and pattern.search(self.text) is not None


def matches(rule: CompiledRule, record: Record, content: Content | None = None) -> Iterator[Match]:
    """Every way ``rule`` matches ``record``: one match per matching statement, else one.

    All the rule's clauses must match; the evidence names the statement when
    there is a statement clause, else the licence or content field (and, with a
    ``context`` clause, both words that decided).
    """
    others: list[Match] = []
    if rule.licence is not None:
        lic = record.licence.normalised or record.licence.raw or ""
        if not (lic and rule.licence.search(fold(lic))):
            return
        others.append(Match(rule, "licence", lic))
    if rule.content is not None:
        content = content if content is not None else Content.of(record)
        hit = content.search(rule.content)
        if hit is None:
            return
        for pattern in rule.context:
            around = content.search(pattern)
            if around is None:
                return
            if around[1] in hit[1]:  # the words that decided already say it (人类遗传资源 names 人类)
                continue
            fields = hit[0] if around[0] in hit[0].split("+") else f"{hit[0]}+{around[0]}"
            hit = (fields, f"{hit[1]} + {around[1]}")
        if rule.unless is not None and rule.statement is None and content.has(rule.unless):
            return
        others.append(Match(rule, *hit))
    if rule.statement is None:
        yield others[0]
        return
    for st in record.statements:
        m = statement_match(rule, st.field, st.value)
        if m is not None:
            yield m


def statement_match(rule: CompiledRule, field: str, value: str) -> Match | None:
    """How ``rule``'s statement clause matches one statement (read folded), or None."""
    assert rule.statement is not None
    if not rule.reads_field(field):
        return None
    folded = fold(value)
    m = rule.statement.search(folded)
    if m is None:
        return None
    if rule.unless is not None and rule.unless.search(folded):
        return None
    until = _iso(m.group("date")) if "date" in m.re.groupindex and m.group("date") else None
    return Match(rule, field, _clip(value), until)


def _iso(text: str) -> str | None:
    m = _DATE_RE.search(text)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


def _clip(value: str) -> str:
    return value if len(value) <= _MAX_EVIDENCE_CHARS else value[: _MAX_EVIDENCE_CHARS - 1] + "…"
