"""The labelled corpus (bench/tagging_corpus.yaml) is tagged 100% right: no restricted record shown to the
public, no open record hidden, every tag and flag as labelled. bench/tagging_eval.py reports the same
evaluation with precision, recall and the confusion matrices."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from fedcat.harvester.errors import ConfigError
from fedcat.harvester.tagging.evaluation import Case, evaluate, load_corpus

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / "tagging_corpus.yaml"


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_corpus(CORPUS)


def test_the_corpus_is_large_and_covers_every_script_and_class(cases: list[Case]) -> None:
    assert len(cases) >= 300
    langs = Counter(c.lang for c in cases)
    assert set(langs) == {"zh-Hans", "zh-Hant", "en"} and min(langs.values()) >= 40
    for tag, value in (("security", "secret"), ("security", "important"), ("security", "core"),
                       ("security", "sensitive"), ("security", "review"), ("security", "general"),
                       ("openness", "open"), ("openness", "conditional"), ("geo_scope", "domestic")):
        assert sum(c.expect[tag] == value for c in cases) >= 5, (tag, value)
    assert sum("human_genetic_resources" in c.flags for c in cases) >= 20
    assert sum("personal_info" in c.flags for c in cases) >= 10


def test_every_case_is_tagged_as_labelled(cases: list[Case]) -> None:
    report = evaluate(cases)
    assert [(o.case.id, o.got, sorted(o.flags)) for o in report.restricted_to_public] == []
    assert [(o.case.id, o.got, sorted(o.flags)) for o in report.open_to_hidden] == []
    assert [(o.case.id, o.case.expect, o.got, sorted(o.flags)) for o in report.failures] == []
    for tag in ("openness", "geo_scope", "security"):
        for value in report.counts[tag]:
            assert report.precision_recall(tag, value)[:2] == (1.0, 1.0), (tag, value)


def test_the_evaluation_counts_the_errors_that_matter(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text("""cases:
  - id: leak
    lang: zh-Hans
    statement: {field: rights, value: 完全公开}
    expect: {openness: open, geo_scope: unknown, security: secret}
  - id: hidden
    lang: zh-Hans
    statement: {field: rights, value: 不公开}
    expect: {openness: open, geo_scope: unknown, security: unknown}
  - id: right
    lang: en
    statement: {field: rights, value: open access}
    expect: {openness: open, geo_scope: unknown, security: unknown}
""", encoding="utf-8")
    report = evaluate(load_corpus(corpus))
    assert [o.case.id for o in report.restricted_to_public] == ["leak"]
    assert [o.case.id for o in report.open_to_hidden] == ["hidden"]
    assert report.precision_recall("openness", "open") == (1.0, 2 / 3, 3)
    assert report.confusion["openness"][("open", "metadata_only")] == 1
    bench = subprocess.run([sys.executable, str(ROOT / "bench" / "tagging_eval.py"), "--corpus", str(corpus)],
                           capture_output=True, text=True, timeout=120)
    assert bench.returncode == 1
    assert "restricted → public errors: 1" in bench.stdout and "open → hidden errors: 1" in bench.stdout
    assert "precision" in bench.stdout and "confusion" in bench.stdout


def test_a_malformed_case_is_named(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text("cases:\n  - id: x\n    statement: {field: a, value: b}\n    expect: {openness: wide}\n",
                      encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cases\[0\]\.expect"):
        load_corpus(corpus)
