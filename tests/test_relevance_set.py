"""The judged relevance set (bench/relevance_judgements.yaml) is well formed, and the metrics
bench/relevance.py reports (nDCG@10, recall@100) are computed right. The bench itself builds a catalog
and is run by hand (docs/performance.md)."""

from __future__ import annotations

import importlib.util
import math
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from fedcat.index.analysis import simplified

ROOT = Path(__file__).resolve().parent.parent


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_relevance", ROOT / "bench" / "relevance.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


@pytest.fixture(scope="module")
def judged() -> list:
    return bench.load_judgements()


def test_the_set_is_large_and_covers_every_class(judged: list) -> None:
    assert len(judged) >= 60
    classes = Counter(j.cls for j in judged)
    assert set(classes) == set(bench.CLASSES) and min(classes.values()) >= 5, classes
    queries = [j.query for j in judged]
    assert len(set(queries)) == len(queries)
    for j in judged:
        assert any(g >= 2 for g in j.grades.values()), j.query
        assert all(g in (0, 1, 2, 3) for g in j.grades.values()), j.query
        assert j.note, j.query


def test_every_judged_record_is_a_live_record_of_the_corpus(judged: list) -> None:
    records = {f"{c.id}:{r.local_id}": r for c, rs in bench.bench_corpus() for r in rs}
    for j in judged:
        for doc in j.grades:
            assert doc in records, (j.query, doc)
            assert not records[doc].deleted, (j.query, doc)
            assert "密级：核心" not in records[doc].extra_rights, (j.query, doc)  # never indexed


def test_every_traditional_query_is_judged_as_its_simplified_twin(judged: list) -> None:
    by_query = {j.query: j for j in judged}
    traditional = [j for j in judged if j.cls == "traditional"]
    assert len(traditional) >= 5
    for j in traditional:
        assert j.twin in by_query, j.query
        assert by_query[j.twin].cls != "traditional"
        assert j.query != j.twin and simplified(j.query) == j.twin, (j.query, j.twin)
        assert by_query[j.twin].grades == j.grades, j.query


def test_the_corpus_has_chinese_only_and_traditional_records() -> None:
    corpus = dict((c.id, rs) for c, rs in bench.bench_corpus())
    assert all(not r.title_en and not r.description_en for r in corpus["geodata"] + corpus["nmdc"])
    assert any(simplified(r.title_zh) != r.title_zh for r in corpus["nmdc"])
    assert all(simplified(r.title_zh) == r.title_zh for r in corpus["geodata"])


def test_ndcg_on_a_hand_example() -> None:
    grades = {"a": 3, "b": 2, "c": 1, "x": 0}
    ideal = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert bench.ndcg(["a", "b", "c"], grades) == pytest.approx(1.0)
    # c, unjudged, a: 1/1 + 0 + 3/2
    assert bench.ndcg(["c", "z", "a"], grades) == pytest.approx((1 + 3 / 2) / ideal)
    # only the first k count; the ideal is over every judged record
    assert bench.ndcg(["x", "a"], grades, k=1) == pytest.approx(0.0)
    assert bench.ndcg(["b"], grades, k=1) == pytest.approx(2 / 3)
    assert bench.ndcg([], grades) == 0.0
    assert bench.ndcg(["a"], {"a": 0}) == 0.0


def test_recall_on_a_hand_example() -> None:
    grades = {"a": 3, "b": 2, "c": 1, "d": 1}
    assert bench.recall(["a", "x", "c"], grades) == pytest.approx(2 / 4)
    assert bench.recall(["a", "x", "c"], grades, min_grade=2) == pytest.approx(1 / 2)
    assert bench.recall(["a", "b", "c", "d"], grades, k=2) == pytest.approx(1.0)  # capped at k
    assert bench.recall(["a", "c", "b"], grades, k=2, min_grade=2) == pytest.approx(1 / 2)
    assert bench.recall(["c"], grades, among={"c", "d"}) == pytest.approx(1 / 2)
    assert bench.recall(["a"], grades, among={"z"}) is None
    assert bench.recall(["a"], {"a": 0}) is None


def test_a_malformed_set_is_named(tmp_path: Path) -> None:
    path = tmp_path / "j.yaml"
    path.write_text("queries:\n  - {query: 冰川, class: zh, grades: {4: [ncdc:glacier.0001]}}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"queries\[0\]"):
        bench.load_judgements(path)
    path.write_text("queries:\n  - {query: 冰川, class: klingon, grades: {}}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="class"):
        bench.load_judgements(path)
    path.write_text("queries:\n  - {query: 凍土, class: traditional, grades: {3: [a]}}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="twin"):
        bench.load_judgements(path)
    path.write_text("queries:\n  - {query: x, class: en, grades: {3: [a], 1: [a]}}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="twice"):
        bench.load_judgements(path)
