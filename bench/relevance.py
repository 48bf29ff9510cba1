"""Search relevance on the demo corpus: nDCG@10 and recall@100 for fedcat and a bigram BM25 baseline.

Usage::

    python bench/relevance.py [--judgements bench/relevance_judgements.yaml] [--per-query] [--json]

The catalog is the demo federation's five OAI-PMH centers (:func:`~fedcat.harvester.demo.corpus.demo_centers`)
plus two centers of records with no English text, derived from the same generator
(:func:`~fedcat.harvester.demo.corpus.generate_records`, over the centers of
:func:`~fedcat.harvester.demo.rest_apis.rest_centers` of those names) so that English queries can be
measured against Chinese-only records and Traditional queries against Traditional text:

``geodata``
    国家地球系统科学数据中心 (hydrology, climate, desert): Chinese only, Simplified script;
``nmdc``
    國家微生物科學數據中心 (metagenome, genome): Chinese only, Traditional script (OpenCC ``s2t``).

"Chinese only" drops the English title, description and subjects; Latin words inside the Chinese text
(CTD, MODIS, GWAS), romanised creator names and the identifiers stay. Every center is served on 127.0.0.1
and harvested by fedcat into a temporary catalog with the embedded index, as ``fedcat demo`` does; record
ids are ``<source>:<local_id>``.

Each judged query (``bench/relevance_judgements.yaml``) runs through fedcat's search
(``SearchQuery(text=q, size=100, visibility=<officer>, facets=())``) and through the **baseline**: a plain
BM25 index built in the same run over the same records (each record's titles, descriptions, subjects,
creators, publisher, identifiers and center names, analysed by :func:`fedcat.index.analysis.analyse` into
one field), queried as a should-only boolean of the query's tokens, i.e. what Elasticsearch's ``cjk``
analyzer with ``operator: or`` gives. Reported per query class and overall: nDCG@10 (graded gains 0-3,
log2 discount, the ideal ranking from the judgements); recall@100 of the records graded >= 1 and of those
graded >= 2 (found among the first 100 hits / min(relevant, 100)); whether every Traditional query returns
exactly the hits of its Simplified twin; and, for English queries, recall@100 of the relevant records that
have no English title or description. Runs in a few seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger("bench.relevance")

JUDGEMENTS = Path(__file__).resolve().parent / "relevance_judgements.yaml"
CLASSES: tuple[str, ...] = ("zh", "en", "traditional", "mixed", "multiword", "rare", "common")
SYSTEMS: tuple[str, ...] = ("fedcat", "baseline")
DEPTH = 10
WINDOW = 100

# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------


def dcg(gains: Iterable[float], k: int = DEPTH) -> float:
    """Discounted cumulative gain of the first ``k`` gains: sum of gain / log2(rank + 1)."""
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(list(gains)[:k], start=1))


def ndcg(ranking: Sequence[str], grades: Mapping[str, int], k: int = DEPTH) -> float:
    """nDCG@k of ``ranking`` (ids, best first) against graded judgements (unlisted ids have grade 0).

    The ideal ranking is every judged id, by grade; a query with no relevant id scores 0.0 (the judged
    set has none).
    """
    ideal = dcg(sorted((g for g in grades.values() if g > 0), reverse=True), k)
    if ideal == 0:
        return 0.0
    return dcg((grades.get(doc, 0) for doc in ranking), k) / ideal


def recall(ranking: Sequence[str], grades: Mapping[str, int], k: int = WINDOW, min_grade: int = 1,
           among: Iterable[str] | None = None) -> float | None:
    """Share of the ids graded >= ``min_grade`` (and in ``among`` when given) found in the first ``k``.

    The denominator is capped at ``k`` (a query with 130 relevant records scores 1.0 when its first 100
    hits are all relevant); ``None`` when there is no such id.
    """
    wanted = {doc for doc, g in grades.items() if g >= min_grade}
    if among is not None:
        wanted &= set(among)
    if not wanted:
        return None
    return len(wanted & set(ranking[:k])) / min(len(wanted), k)


# --------------------------------------------------------------------------
# Judgements
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    query: str
    cls: str
    grades: dict[str, int]
    #: For a Traditional query: the Simplified query it is the twin of.
    twin: str | None = None
    note: str = ""


def load_judgements(path: Path = JUDGEMENTS) -> list[Judged]:
    """Read the judged set: ``queries: [{query, class, twin?, note?, grades: {3: [ids], 2: [...], 1: [...]}}]``."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("queries"), list):
        raise ValueError(f"{path}: expected a mapping with a 'queries' list")
    out: list[Judged] = []
    for i, item in enumerate(raw["queries"]):
        where = f"{path}: queries[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("query"), str) or not item["query"].strip():
            raise ValueError(f"{where}: needs a non-empty 'query'")
        cls = item.get("class")
        if cls not in CLASSES:
            raise ValueError(f"{where} ({item['query']}): class must be one of {', '.join(CLASSES)}")
        grades: dict[str, int] = {}
        for grade, ids in (item.get("grades") or {}).items():
            if not isinstance(grade, int) or not 0 <= grade <= 3 or not isinstance(ids, list):
                raise ValueError(f"{where} ({item['query']}): grades must map 0..3 to lists of record ids")
            for doc in ids:
                if not isinstance(doc, str) or doc in grades:
                    raise ValueError(f"{where} ({item['query']}): {doc!r} is not an id or is graded twice")
                grades[doc] = grade
        twin = item.get("twin")
        if cls == "traditional" and not isinstance(twin, str):
            raise ValueError(f"{where} ({item['query']}): a traditional query names its Simplified 'twin'")
        out.append(Judged(item["query"], cls, grades, twin, str(item.get("note", ""))))
    return out


# --------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------

#: Derived centers of records without English text: rest_centers() name -> script.
MONOLINGUAL: dict[str, str] = {"geodata": "zh-Hans", "nmdc": "zh-Hant"}


def _chinese_only(record: Any, convert: Any) -> Any:
    from fedcat.index.analysis import is_cjk

    return dataclasses.replace(
        record,
        title_zh=convert(record.title_zh), title_en="",
        description_zh=convert(record.description_zh), description_en="",
        publisher_zh=convert(record.publisher_zh), publisher_en="",
        subjects=[convert(s) for s in record.subjects if is_cjk(s)],
        creators=[convert(c) for c in record.creators],
    )


def bench_corpus() -> list[tuple[Any, list[Any]]]:
    """(center, records) of every center of the bench catalog, deleted records included."""
    import opencc

    from fedcat.harvester.demo.corpus import demo_centers, generate_records
    from fedcat.harvester.demo.rest_apis import rest_centers

    out: list[tuple[Any, list[Any]]] = [(c, generate_records(c)) for c in demo_centers()]
    s2t = opencc.OpenCC("s2t")
    for name, script in MONOLINGUAL.items():
        center = rest_centers()[name]
        records = generate_records(center)
        convert = s2t.convert if script == "zh-Hant" else str
        center = dataclasses.replace(center, name_zh=convert(center.name_zh))
        out.append((center, [_chinese_only(r, convert) for r in records]))
    return out


def corpus_ids() -> dict[str, bool]:
    """Every record id of the bench corpus -> whether it is live (not deleted)."""
    return {f"{c.id}:{r.local_id}": not r.deleted for c, records in bench_corpus() for r in records}


# --------------------------------------------------------------------------
# The catalog
# --------------------------------------------------------------------------


def build_catalog(data_dir: Path) -> Any:
    """Serve every bench center on 127.0.0.1, harvest them into a catalog in ``data_dir``; the open Catalog."""
    from fedcat.api.catalog import Catalog
    from fedcat.api.demo import DEMO_POLICY
    from fedcat.harvester.config import config_from_dict
    from fedcat.harvester.demo.oai_server import OAIRepository, OAIServer

    servers: list[Any] = []
    sources: list[dict[str, Any]] = []
    try:
        for center, records in bench_corpus():
            server = OAIServer(OAIRepository(center, records), host="127.0.0.1", port=0).start()
            servers.append(server)
            prefix = "oai_datacite" if "oai_datacite" in center.metadata_formats else "oai_dc"
            sources.append({"id": center.id, "name": center.name_zh, "name_en": center.name_en,
                            "protocol": "oaipmh", "url": server.url, "metadata_prefix": prefix,
                            "policy": dict(DEMO_POLICY)})
        config = config_from_dict({"data_dir": str(data_dir), "sources": sources,
                                   "http": {"contact": "bench@fedcat.invalid"}})
        catalog = Catalog.open(config)
        try:
            catalog.harvester.harvest()
            catalog.harvester.maintenance.write_terms()  # as `fedcat reindex` and `fedcat demo` do
        except BaseException:
            catalog.close()
            raise
        return catalog
    finally:
        for server in servers:
            server.stop()


def officer_visibility() -> Any:
    """The widest audience's visibility (officer: general, sensitive, review, important; unknown as general)."""
    from fedcat.api.audience import visibility_for
    from fedcat.harvester.config import Audience
    from fedcat.harvester.model import Security

    return visibility_for(Audience.OFFICER, Security.GENERAL)


def has_english(record: Any) -> bool:
    """Whether a record has an English title or description."""
    return any(t.lang == "en" and t.value.strip() for t in [*record.titles, *record.descriptions])


# --------------------------------------------------------------------------
# The baseline: bigram BM25, OR of the query's tokens
# --------------------------------------------------------------------------


def record_text(record: Any) -> str:
    """Every searchable text of a record as harvested: titles, descriptions, subjects, creators, publisher,
    DOI, CSTR and the center's names (what a plain index of the record would hold; nothing removed)."""
    ident = record.identifiers
    parts = [*(t.value for t in record.titles), *(d.value for d in record.descriptions), *record.subjects,
             *record.creators, record.publisher, ident.doi, ident.cstr, record.center_zh, record.center_en]
    return " ".join(p for p in parts if p)


class Baseline:
    """A bare tantivy index of the same records: each record's text (:func:`record_text`) analysed by
    fedcat's bigram analysis into one field, BM25, queried as a should-only boolean of the query's tokens
    (what Elasticsearch's ``cjk`` analyzer with ``operator: or`` gives)."""

    def __init__(self, records: Iterable[Any], folder: Path) -> None:
        import tantivy

        from fedcat.index.analysis import analyse

        self._tantivy = tantivy
        self._analyse = analyse
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        sb.add_text_field("text", stored=False, tokenizer_name="whitespace", index_option="position")
        self.schema = sb.build()
        index = tantivy.Index(self.schema, path=str(folder))
        writer = index.writer(heap_size=64_000_000, num_threads=1)
        for record in records:
            writer.add_document(tantivy.Document(id=record.id, text=" ".join(analyse(record_text(record)))))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        self.searcher = index.searcher()

    def search(self, text: str, size: int = WINDOW) -> list[str]:
        tokens = list(dict.fromkeys(self._analyse(text)))
        if not tokens:
            return []
        t = self._tantivy
        query = t.Query.boolean_query(
            [(t.Occur.Should, t.Query.term_query(self.schema, "text", tok)) for tok in tokens])
        found = self.searcher.search(query, limit=size)
        return [self.searcher.doc(addr)["id"][0] for _, addr in found.hits]


def fedcat_search(catalog: Any, text: str, visibility: Any, size: int = WINDOW, offset: int = 0) -> list[str]:
    """Record ids of fedcat's hits, best first (a hit of several records contributes each of them)."""
    from fedcat.api.translate import translated
    from fedcat.index.base import SearchQuery

    query = SearchQuery(text=text, size=size, offset=offset, visibility=visibility, facets=())
    result = catalog.index.search(translated(query, catalog.store))  # what the API searches
    ids: list[str] = []
    for hit in result.hits:
        members = [s["id"] for s in hit.doc.get("sources") or [] if s.get("id")] or [hit.doc.get("id", hit.id)]
        ids.extend(m for m in members if m not in ids)
    return ids


def fedcat_search_all(catalog: Any, text: str, visibility: Any) -> list[str]:
    """Record ids of every hit fedcat gives (page after page, to the deepest page it serves)."""
    from fedcat.index.base import MAX_RESULT_WINDOW

    ids: list[str] = []
    for offset in range(0, MAX_RESULT_WINDOW, WINDOW):
        page = fedcat_search(catalog, text, visibility, offset=offset)
        ids.extend(m for m in page if m not in ids)
        if not page:
            break
    return ids


def reach(ranking: Sequence[str], grades: Mapping[str, int], among: Iterable[str] | None = None) -> float | None:
    """Share of the relevant ids (graded >= 1, and in ``among`` when given) found at any depth of ``ranking``:
    what matching reaches at all, whatever the order."""
    return recall(ranking, grades, k=len(grades) + len(ranking) + 1, among=among)


# --------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------


@dataclass
class QueryResult:
    query: str
    cls: str
    relevant: int
    ndcg: dict[str, float] = field(default_factory=dict)
    recall: dict[str, float] = field(default_factory=dict)
    recall2: dict[str, float | None] = field(default_factory=dict)
    #: en queries: recall@100 of the relevant records without English text (None: there are none)
    recall_zh_only: dict[str, float | None] = field(default_factory=dict)
    recall2_zh_only: dict[str, float | None] = field(default_factory=dict)
    #: Relevant records found at any depth (every hit), and for en queries those without English text.
    reach: dict[str, float | None] = field(default_factory=dict)
    reach_zh_only: dict[str, float | None] = field(default_factory=dict)
    top: dict[str, list[str]] = field(default_factory=dict)


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


def summarise(results: Sequence[QueryResult]) -> dict[str, dict[str, Any]]:
    """Per class and ``all``: query count and the mean of each metric per system."""
    groups: dict[str, list[QueryResult]] = {c: [r for r in results if r.cls == c] for c in CLASSES}
    groups["all"] = list(results)
    out: dict[str, dict[str, Any]] = {}
    for name, rs in groups.items():
        if not rs:
            continue
        row: dict[str, Any] = {"queries": len(rs)}
        for system in SYSTEMS:
            row[system] = {
                "ndcg@10": _mean(r.ndcg[system] for r in rs),
                "recall@100": _mean(r.recall[system] for r in rs),
                "recall@100_grade2": _mean(r.recall2[system] for r in rs),
                "recall@100_zh_only": _mean(r.recall_zh_only.get(system) for r in rs),
                "recall@100_grade2_zh_only": _mean(r.recall2_zh_only.get(system) for r in rs),
                "reach": _mean(r.reach.get(system) for r in rs),
                "reach_zh_only": _mean(r.reach_zh_only.get(system) for r in rs),
            }
        out[name] = row
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    from fedcat.index.documents import indexable

    wall = time.perf_counter()
    judged = load_judgements(Path(args.judgements))
    visibility = officer_visibility()
    with tempfile.TemporaryDirectory(prefix="fedcat-relevance-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        catalog = build_catalog(root / "data")
        try:
            build_seconds = time.perf_counter() - start
            records = [r for r in catalog.store.records.iter_records() if indexable(r)]
            visible = {r.id for r in records if visibility.allows_record(r)}
            zh_only = {r.id for r in records if not has_english(r)}
            unseen = sorted({doc for j in judged for doc in j.grades} - visible)
            if unseen:
                raise SystemExit(f"judged records the officer audience does not see in the catalog: {unseen[:10]}")
            (root / "baseline").mkdir()
            start = time.perf_counter()
            baseline = Baseline(records, root / "baseline")
            baseline_seconds = time.perf_counter() - start
            results: list[QueryResult] = []
            rankings: dict[str, dict[str, list[str]]] = {}
            spent = {s: 0.0 for s in SYSTEMS}
            for j in judged:
                start = time.perf_counter()
                ours = fedcat_search(catalog, j.query, visibility)
                middle = time.perf_counter()
                theirs = baseline.search(j.query)
                spent["fedcat"] += middle - start
                spent["baseline"] += time.perf_counter() - middle
                rankings[j.query] = {"fedcat": ours, "baseline": theirs}
                res = QueryResult(j.query, j.cls, sum(1 for g in j.grades.values() if g > 0))
                for system, ranking in (("fedcat", ours), ("baseline", theirs)):
                    res.ndcg[system] = ndcg(ranking, j.grades)
                    res.recall[system] = recall(ranking, j.grades) or 0.0
                    res.recall2[system] = recall(ranking, j.grades, min_grade=2)
                    if j.cls == "en":
                        res.recall_zh_only[system] = recall(ranking, j.grades, among=zh_only)
                        res.recall2_zh_only[system] = recall(ranking, j.grades, min_grade=2, among=zh_only)
                    res.top[system] = ranking[:DEPTH]
                every = {"fedcat": fedcat_search_all(catalog, j.query, visibility),
                         "baseline": baseline.search(j.query, size=len(records))}
                for system, ranking in every.items():
                    res.reach[system] = reach(ranking, j.grades)
                    if j.cls == "en":
                        res.reach_zh_only[system] = reach(ranking, j.grades, among=zh_only)
                results.append(res)
                logger.debug("%s: fedcat nDCG %.3f R %.3f; baseline nDCG %.3f R %.3f", j.query,
                             res.ndcg["fedcat"], res.recall["fedcat"], res.ndcg["baseline"], res.recall["baseline"])
        finally:
            catalog.close()

    twins = []
    for j in judged:
        if j.twin is None:
            continue
        pair = {"traditional": j.query, "simplified": j.twin}
        for system in SYSTEMS:
            pair[system] = rankings[j.query][system] == rankings.get(j.twin, {}).get(system)
        twins.append(pair)
    return {
        "records": len(records),
        "chinese_only_records": len(zh_only),
        "queries": len(judged),
        "judgements": args.judgements,
        "cpus": os.cpu_count(),
        "build_seconds": build_seconds,
        "baseline_build_seconds": baseline_seconds,
        "query_ms": {s: 1000 * spent[s] / max(1, len(judged)) for s in SYSTEMS},
        "summary": summarise(results),
        "traditional_equals_simplified": twins,
        "per_query": [dataclasses.asdict(r) for r in results],
        "wall_seconds": time.perf_counter() - wall,
    }


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def _f(value: float | None) -> str:
    return "   -" if value is None else f"{value:.3f}"


def _width(text: str) -> int:
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in text)


def format_report(report: dict[str, Any], per_query: bool) -> str:
    lines = [
        f"Search relevance: {report['queries']} judged queries over {report['records']} records "
        f"({report['chinese_only_records']} without English text); fedcat and the bigram BM25 OR baseline "
        "(same run, same records)",
        "",
        f"{'class':<12}{'n':>4}   {'nDCG@10':^21}   {'recall@100':^21}   {'recall@100, grade>=2':^21}",
        f"{'':<12}{'':>4}   {'fedcat':>10}{'baseline':>11}   {'fedcat':>10}{'baseline':>11}   "
        f"{'fedcat':>10}{'baseline':>11}",
    ]
    for name, row in report["summary"].items():
        f, b = row["fedcat"], row["baseline"]
        lines.append(
            f"{name:<12}{row['queries']:>4}   {_f(f['ndcg@10']):>10}{_f(b['ndcg@10']):>11}   "
            f"{_f(f['recall@100']):>10}{_f(b['recall@100']):>11}   "
            f"{_f(f['recall@100_grade2']):>10}{_f(b['recall@100_grade2']):>11}")
    en = report["summary"].get("en")
    if en:
        lines += ["", "English queries, recall@100 of the relevant records without English text: "
                  f"fedcat {_f(en['fedcat']['recall@100_zh_only'])} "
                  f"(grade>=2: {_f(en['fedcat']['recall@100_grade2_zh_only'])}), "
                  f"baseline {_f(en['baseline']['recall@100_zh_only'])} "
                  f"(grade>=2: {_f(en['baseline']['recall@100_grade2_zh_only'])})"]
    every = report["summary"]["all"]
    lines.append("Relevant records found at any depth (every hit, any order): "
                 f"fedcat {_f(every['fedcat']['reach'])}, baseline {_f(every['baseline']['reach'])}"
                 + (f"; English queries, those without English text: fedcat {_f(en['fedcat']['reach_zh_only'])}, "
                    f"baseline {_f(en['baseline']['reach_zh_only'])}" if en else ""))
    twins = report["traditional_equals_simplified"]
    lines.append("Traditional query returns exactly its Simplified twin's hits: "
                 + ", ".join(f"{s} {sum(t[s] for t in twins)}/{len(twins)}" for s in SYSTEMS))
    for t in twins:
        if not all(t[s] for s in SYSTEMS):
            lines.append(f"  differs: {t['traditional']} / {t['simplified']}")
    lines += ["", "targets (fedcat):"]
    overall = report["summary"]["all"]["fedcat"]
    classes = [(n, r) for n, r in report["summary"].items() if n != "all"]
    above = {m: [n for n, r in classes if r["fedcat"][m] > r["baseline"][m]] for m in ("ndcg@10", "recall@100")}
    lines.append(f"  nDCG@10 >= 0.95: {_f(overall['ndcg@10'])}; recall@100 >= 0.90: {_f(overall['recall@100'])}")
    for metric, names in above.items():
        lines.append(f"  above the baseline on every class, {metric}: {len(names)} of {len(classes)}"
                     + (f" ({', '.join(names)})" if names else ""))
    if en:
        lines.append(f"  English queries find >= 0.8 of the Chinese-only relevant records: "
                     f"{_f(en['fedcat']['recall@100_zh_only'])}")
    lines.append(f"  Traditional = Simplified: {sum(t['fedcat'] for t in twins)} of {len(twins)}")
    if per_query:
        lines += ["", f"{'query':<26}{'class':<12}{'rel':>4}   {'nDCG fedcat':>11}{'baseline':>9}   "
                  f"{'R@100 fedcat':>12}{'baseline':>9}   {'zh-only R':>9}"]
        for q in report["per_query"]:
            zh = q["recall_zh_only"].get("fedcat")
            pad = " " * max(1, 26 - _width(q["query"]))
            lines.append(
                f"{q['query']}{pad}{q['cls']:<12}{q['relevant']:>4}   {q['ndcg']['fedcat']:>11.3f}"
                f"{q['ndcg']['baseline']:>9.3f}   {q['recall']['fedcat']:>12.3f}{q['recall']['baseline']:>9.3f}   "
                f"{_f(zh) if q['cls'] == 'en' else '':>9}")
    lines += ["", f"catalog harvested in {report['build_seconds']:.1f} s, baseline index built in "
              f"{report['baseline_build_seconds']:.1f} s; mean query: fedcat {report['query_ms']['fedcat']:.1f} ms, "
              f"baseline {report['query_ms']['baseline']:.1f} ms; wall time {report['wall_seconds']:.1f} s"]
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--judgements", default=str(JUDGEMENTS), help="the judged set (YAML)")
    parser.add_argument("--per-query", action="store_true", help="also print every query's figures")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of tables")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log progress (-vv: per query)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    report = run(args)
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_report(report, args.per_query) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
