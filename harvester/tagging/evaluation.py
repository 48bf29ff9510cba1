"""Measuring the tagger against labelled cases: precision, recall, confusion, and the two errors that matter.

A corpus is a YAML file (``bench/tagging_corpus.yaml`` ships with fedcat) of cases, each one
access statement or one short record with the tags it must get::

    cases:
      - id: sec-bare-shemi
        lang: zh-Hans
        statement: {field: 密级, value: 涉密}
        expect: {openness: unknown, geo_scope: unknown, security: secret}
      - id: hgr-cn-pangenome
        lang: zh-Hans
        record: {title: 中国人群泛基因组数据集, statements: [{field: 共享方式, value: 有条件共享}]}
        expect: {openness: conditional, geo_scope: domestic, security: sensitive,
                 flags: [human_genetic_resources, export_review_required]}

Two kinds of error are reported apart from the rest, because they are the ones a catalog must not
make: **restricted → public** (the case must be hidden from the anonymous international public,
the default audience, and the tagger would show it) and **open → hidden** (the case is open and
visible, and the tagger would hide it or understate its openness: 假共享 by misreading).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config_schema import Config, Protocol, SourceConfig
from ..errors import ConfigError
from ..model import GeoScope, LangText, Licence, Openness, Record, Security, Statement, normalise_licence
from ..yaml_loader import safe_load
from .engine import TAGS, RuleBook, SourceTagger

_VALUES: dict[str, tuple[str, ...]] = {
    "openness": tuple(o.value for o in Openness),
    "geo_scope": tuple(g.value for g in GeoScope),
    "security": tuple(s.value for s in Security),
}
_PUBLIC_LEVELS = frozenset({Security.GENERAL.value, Security.UNKNOWN.value})


@dataclass(frozen=True)
class Case:
    id: str
    lang: str
    record: Record
    expect: dict[str, str]
    flags: frozenset[str]
    why: str = ""


@dataclass(frozen=True)
class Outcome:
    case: Case
    got: dict[str, str]
    flags: frozenset[str]

    @property
    def correct(self) -> bool:
        return self.got == self.case.expect and self.flags == self.case.flags

    @property
    def restricted_to_public(self) -> bool:
        return not is_public(self.case.expect) and is_public(self.got)

    @property
    def open_to_hidden(self) -> bool:
        expected, got = self.case.expect, self.got
        if is_public(expected) and not is_public(got):
            return True
        return expected["openness"] == Openness.OPEN.value and got["openness"] != Openness.OPEN.value


def is_public(tags: dict[str, str]) -> bool:
    """Whether the anonymous international public (the default audience) sees a record with these tags."""
    return tags["security"] in _PUBLIC_LEVELS and tags["geo_scope"] != GeoScope.DOMESTIC.value


@dataclass
class Report:
    outcomes: list[Outcome]
    #: per tag: per value: (true positives, predicted, expected)
    counts: dict[str, dict[str, tuple[int, int, int]]] = field(default_factory=dict)
    confusion: dict[str, Counter[tuple[str, str]]] = field(default_factory=dict)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.correct]

    @property
    def restricted_to_public(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.restricted_to_public]

    @property
    def open_to_hidden(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.open_to_hidden]

    @property
    def accuracy(self) -> float:
        return (len(self.outcomes) - len(self.failures)) / len(self.outcomes) if self.outcomes else 1.0

    def precision_recall(self, tag: str, value: str) -> tuple[float, float, int]:
        tp, predicted, expected = self.counts[tag].get(value, (0, 0, 0))
        precision = tp / predicted if predicted else 1.0
        recall = tp / expected if expected else 1.0
        return precision, recall, expected

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": len(self.outcomes),
            "correct": len(self.outcomes) - len(self.failures),
            "accuracy": round(self.accuracy, 4),
            "per_tag": {tag: {value: dict(zip(("precision", "recall", "support"),
                                              (round(x, 4) if isinstance(x, float) else x
                                               for x in self.precision_recall(tag, value))))
                              for value in _VALUES[tag] if self.counts[tag].get(value)}
                        for tag in TAGS},
            "confusion": {tag: [{"expected": e, "got": g, "n": n} for (e, g), n in sorted(self.confusion[tag].items())]
                          for tag in TAGS},
            "restricted_to_public": [_failure(o) for o in self.restricted_to_public],
            "open_to_hidden": [_failure(o) for o in self.open_to_hidden],
            "failures": [_failure(o) for o in self.failures],
        }


def _failure(o: Outcome) -> dict[str, Any]:
    return {"id": o.case.id, "expected": {**o.case.expect, "flags": sorted(o.case.flags)},
            "got": {**o.got, "flags": sorted(o.flags)}}


def load_corpus(path: str | Path) -> list[Case]:
    """The cases of a corpus file; ConfigError naming the case on a malformed one."""
    where = str(path)
    try:
        data = safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the corpus: {exc}", path=where) from exc
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise ConfigError("a corpus is a mapping with a list under cases", path=where)
    cases: list[Case] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["cases"]):
        case = _case(raw, f"cases[{i}]", where)
        if case.id in seen:
            raise ConfigError(f"duplicate case id {case.id!r}", key=f"cases[{i}].id", path=where)
        seen.add(case.id)
        cases.append(case)
    return cases


def _case(raw: Any, key: str, where: str) -> Case:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise ConfigError("a case is a mapping with an id", key=key, path=where)
    if ("statement" in raw) == ("record" in raw):
        raise ConfigError("a case has exactly one of statement, record", key=key, path=where)
    expect = raw.get("expect")
    if not isinstance(expect, dict) or any(expect.get(t) not in _VALUES[t] for t in TAGS):
        raise ConfigError("expect needs openness, geo_scope and security, each a known value",
                          key=f"{key}.expect", path=where)
    rec = Record(id=f"eval:{raw['id']}", source_id="eval", local_id=raw["id"])
    if "statement" in raw:
        st = raw["statement"]
        rec.statements = [Statement(str(st["field"]), str(st["value"]))]
    else:
        body = raw["record"]
        lang = raw.get("lang")
        if body.get("title"):
            rec.titles = [LangText(str(body["title"]), lang)]
        if body.get("description"):
            rec.descriptions = [LangText(str(body["description"]), lang)]
        rec.subjects = [str(s) for s in body.get("subjects") or []]
        rec.statements = [Statement(str(s["field"]), str(s["value"])) for s in body.get("statements") or []]
        if body.get("licence"):
            rec.licence = Licence(normalised=normalise_licence(str(body["licence"])) or str(body["licence"]),
                                  raw=str(body["licence"]))
    return Case(id=raw["id"], lang=str(raw.get("lang", "")), record=rec,
                expect={t: str(expect[t]) for t in TAGS}, flags=frozenset(expect.get("flags") or ()),
                why=str(raw.get("why", "")))


def evaluation_tagger(config: Config | None = None) -> SourceTagger:
    """The federation's rules (shipped, or the config's) for a source with no policy of its own."""
    source = SourceConfig(id="eval", name="evaluation", url="http://127.0.0.1/", protocol=Protocol.OAIPMH)
    return RuleBook.from_config(config or Config()).for_source(source)


def evaluate(cases: Sequence[Case], tagger: SourceTagger | None = None) -> Report:
    """Tag every case and compare."""
    tagger = tagger or evaluation_tagger()
    report = Report(outcomes=[], counts={t: {} for t in TAGS}, confusion={t: Counter() for t in TAGS})
    for case in cases:
        rec = Record.from_dict(case.record.to_dict())  # a fresh copy: tagging fills it in
        tagger.tag(rec)
        got = {t: getattr(rec.access, t).value for t in TAGS}
        report.outcomes.append(Outcome(case, got, frozenset(rec.access.flags)))
        for tag in TAGS:
            expected, value = case.expect[tag], got[tag]
            report.confusion[tag][(expected, value)] += 1
            for v in {expected, value}:
                tp, predicted, exp = report.counts[tag].get(v, (0, 0, 0))
                report.counts[tag][v] = (tp + (expected == value == v), predicted + (value == v),
                                         exp + (expected == v))
    return report
