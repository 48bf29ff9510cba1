"""Compare three analyses of Chinese text for tantivy on the demo corpus.

Usage::

    python bench/cjk_analysis.py [--copies 10] [--repeats 200] [--builds 3] [--json]

The texts are the zh + en titles, descriptions and subjects of every live
(not deleted) demo record, indexed ``--copies`` times under distinct ids so
the index has a measurable size. Each text part is one value of a
multi-valued, positional ``text`` field (tantivy leaves a position gap
between values, so no phrase matches across two parts). Latin words are
the same in every scheme (:func:`fedcat.index.analysis.fold`); CJK runs are
analysed as follows:

``unigram_or``
    one token per CJK character; a query word matches when all of its
    characters occur anywhere in the document (AND of terms, no phrase).
``unigram_phrase``
    one token per CJK character; a query word matches as a phrase of its
    characters.
``bigram_phrase``
    fedcat's scheme (:func:`fedcat.index.analysis.analyse` and
    :func:`~fedcat.index.analysis.term_groups`): overlapping bigrams, each CJK
    run of the query matches as a phrase of its bigrams. This is the baseline.

Ground truth for a query word is a literal substring match on a raw text part.
Reported per scheme: macro-averaged precision and recall over the query words,
index size on disk (sum of the index folder's files), indexing time (Python
analysis + tantivy, one writer thread, median of ``--builds`` builds), mean
query latency (analysis of the word + building the query + a top-10 search
with count, averaged over ``--repeats`` rounds of all words, schemes
interleaved), and every figure also as a ratio against ``bigram_phrase``
measured in the same run. No absolute figure is asserted; compare ratios.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tantivy

from fedcat.harvester.demo.corpus import demo_centers, generate_records
from fedcat.index.analysis import analyse, fold, is_cjk, term_groups

logger = logging.getLogger("bench.cjk_analysis")

BASELINE = "bigram_phrase"

#: Query words taken from the corpus: topic words, 2-character words whose characters
#: also occur apart (中国, 物理, 高原, 南海, 气温, 探空), 3-4 character terms, and one
#: compound (气温降水) that occurs both literally and split by punctuation (气温、降水).
WORDS: tuple[str, ...] = (
    "冰川", "冻土", "基因组", "基因", "气象", "海洋", "降水", "测序", "温盐", "物理",
    "事例", "高原", "积雪", "水稻", "中国", "南海", "气温", "探空", "盐度", "中微子",
    "青藏高原", "宏基因组", "同步辐射", "沙尘暴", "雪水当量", "气温降水",
)

WRITER_HEAP = 64_000_000
SEARCH_LIMIT = 10

# --------------------------------------------------------------------------
# The three schemes
# --------------------------------------------------------------------------


def unigram_tokens(text: str) -> list[str]:
    """One token per CJK character; Latin words folded as in fedcat."""
    tokens: list[str] = []
    for group in term_groups(text):
        if is_cjk(group.surface):
            tokens.extend(group.surface)
        else:
            folded = fold(group.surface)
            if folded:
                tokens.append(folded)
    return tokens


def _match_all(schema: tantivy.Schema, groups: Sequence[Sequence[str]]) -> tantivy.Query:
    """Every group must match: one token as a term, several as a phrase."""
    clauses: list[tantivy.Query] = []
    for tokens in groups:
        if len(tokens) == 1:
            clauses.append(tantivy.Query.term_query(schema, "text", tokens[0]))
        elif tokens:
            clauses.append(tantivy.Query.phrase_query(schema, "text", list(tokens)))
    if not clauses:
        return tantivy.Query.empty_query()
    if len(clauses) == 1:
        return clauses[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, c) for c in clauses])


def unigram_or_query(schema: tantivy.Schema, word: str) -> tantivy.Query:
    return _match_all(schema, [(tok,) for tok in dict.fromkeys(unigram_tokens(word))])


def unigram_phrase_query(schema: tantivy.Schema, word: str) -> tantivy.Query:
    groups: list[list[str]] = []
    for group in term_groups(word):
        groups.append(list(group.surface) if is_cjk(group.surface) else [fold(group.surface)])
    return _match_all(schema, groups)


def bigram_phrase_query(schema: tantivy.Schema, word: str) -> tantivy.Query:
    return _match_all(schema, [g.tokens for g in term_groups(word)])


@dataclass(frozen=True)
class Scheme:
    name: str
    tokens: Callable[[str], list[str]]
    query: Callable[[tantivy.Schema, str], tantivy.Query]


SCHEMES: tuple[Scheme, ...] = (
    Scheme("unigram_or", unigram_tokens, unigram_or_query),
    Scheme("unigram_phrase", unigram_tokens, unigram_phrase_query),
    Scheme("bigram_phrase", analyse, bigram_phrase_query),
)

# --------------------------------------------------------------------------
# Corpus, ground truth, indexes
# --------------------------------------------------------------------------


def load_texts(seed: int) -> list[tuple[str, ...]]:
    """Text parts of every live demo record: zh/en title, zh/en description, subjects."""
    texts: list[tuple[str, ...]] = []
    deleted = 0
    for center in demo_centers():
        for rec in generate_records(center, seed):
            if rec.deleted:
                deleted += 1
                continue
            parts = (rec.title_zh, rec.title_en, rec.description_zh, rec.description_en, *rec.subjects)
            texts.append(tuple(p for p in parts if p))
    logger.info("%d live demo records (%d deleted ones left out)", len(texts), deleted)
    return texts


def ground_truth(texts: Sequence[tuple[str, ...]], word: str) -> set[int]:
    """Records with ``word`` literally in one text part (case-insensitive, for Latin words given by --words)."""
    needle = word.lower()
    return {i for i, parts in enumerate(texts) if any(needle in p.lower() for p in parts)}


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_unsigned_field("rec", fast=True)
    sb.add_text_field("text", stored=False, tokenizer_name="whitespace", index_option="position")
    return sb.build()


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build_index(scheme: Scheme, texts: Sequence[tuple[str, ...]], copies: int, folder: Path) -> float:
    """Build the index in ``folder``; returns the seconds spent (analysis + indexing + commit)."""
    schema = _schema()
    index = tantivy.Index(schema, path=str(folder))
    start = time.perf_counter()
    writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
    for copy in range(copies):
        for i, parts in enumerate(texts):
            analysed = [" ".join(scheme.tokens(p)) for p in parts]
            doc = tantivy.Document(id=f"demo-{copy}-{i}", text=analysed)
            doc.add_unsigned("rec", i)
            writer.add_document(doc)
    writer.commit()
    writer.garbage_collect_files()
    writer.wait_merging_threads()
    return time.perf_counter() - start


def vocabulary(scheme: Scheme, texts: Sequence[tuple[str, ...]]) -> tuple[int, int]:
    """(tokens, distinct terms) of the ``text`` field for one copy of the texts."""
    n_tokens = 0
    terms: set[str] = set()
    for parts in texts:
        for p in parts:
            toks = scheme.tokens(p)
            n_tokens += len(toks)
            terms.update(toks)
    return n_tokens, len(terms)


# --------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------


@dataclass
class WordResult:
    word: str
    relevant: int
    retrieved: int
    true_positives: int
    precision: float
    recall: float


@dataclass
class SchemeResult:
    name: str
    precision: float = 0.0
    recall: float = 0.0
    size_bytes: int = 0
    index_seconds: float = 0.0
    query_microseconds: float = 0.0
    tokens: int = 0
    terms: int = 0
    segments: int = 0
    ratios: dict[str, float] = field(default_factory=dict)
    per_word: list[WordResult] = field(default_factory=list)


RATIO_KEYS = ("precision", "recall", "size_bytes", "index_seconds", "query_microseconds", "terms")


def evaluate(
    scheme: Scheme, searcher: tantivy.Searcher, schema: tantivy.Schema,
    words: Sequence[str], truth: dict[str, set[int]], copies: int,
) -> list[WordResult]:
    total = searcher.num_docs
    results: list[WordResult] = []
    for word in words:
        found = searcher.search(scheme.query(schema, word), limit=total, count=True)
        recs = searcher.fast_field_values("rec", [addr for _, addr in found.hits])
        relevant = len(truth[word]) * copies
        retrieved = len(recs)
        tp = sum(1 for r in recs if r in truth[word])
        precision = tp / retrieved if retrieved else 1.0
        recall = tp / relevant if relevant else 1.0
        results.append(WordResult(word, relevant, retrieved, tp, precision, recall))
        logger.debug("%s %s: relevant=%d retrieved=%d tp=%d", scheme.name, word, relevant, retrieved, tp)
    return results


def time_queries(
    schemes: Sequence[Scheme], searchers: dict[str, tantivy.Searcher], schema: tantivy.Schema,
    words: Sequence[str], repeats: int,
) -> dict[str, float]:
    """Mean microseconds per query word, schemes interleaved round by round."""
    spent = {s.name: 0 for s in schemes}
    for rnd in range(repeats + 1):  # round 0 warms up and is not counted
        order = [*schemes[rnd % len(schemes):], *schemes[: rnd % len(schemes)]]
        for scheme in order:
            searcher = searchers[scheme.name]
            start = time.perf_counter_ns()
            for word in words:
                searcher.search(scheme.query(schema, word), limit=SEARCH_LIMIT, count=True)
            if rnd:
                spent[scheme.name] += time.perf_counter_ns() - start
    return {name: ns / 1000 / (repeats * len(words)) for name, ns in spent.items()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    wall = time.perf_counter()
    words: list[str] = [w.strip() for w in args.words.split(",") if w.strip()] if args.words else list(WORDS)
    texts = load_texts(args.seed)
    truth = {w: ground_truth(texts, w) for w in words}
    missing = [w for w in words if not truth[w]]
    if missing:
        logger.warning("left out of the averages, not in the corpus: %s", " ".join(missing))
    scored = [w for w in words if truth[w]]
    schemes = list(SCHEMES)
    results = {s.name: SchemeResult(s.name) for s in schemes}
    schema = _schema()

    with tempfile.TemporaryDirectory(prefix="fedcat-cjk-bench-") as tmp:
        root = Path(tmp)
        times: dict[str, list[float]] = {s.name: [] for s in schemes}
        folders: dict[str, Path] = {}
        for b in range(args.builds):
            order = schemes[b % len(schemes):] + schemes[: b % len(schemes)]
            for scheme in order:
                folder = root / f"{scheme.name}-{b}"
                folder.mkdir()
                times[scheme.name].append(build_index(scheme, texts, args.copies, folder))
                size = folder_size(folder)
                logger.info("build %d of %s: %.3f s, %d bytes", b + 1, scheme.name, times[scheme.name][-1], size)
                if scheme.name in folders:
                    shutil.rmtree(folders[scheme.name])
                folders[scheme.name] = folder

        searchers: dict[str, tantivy.Searcher] = {}
        for scheme in schemes:
            res = results[scheme.name]
            res.index_seconds = statistics.median(times[scheme.name])
            res.size_bytes = folder_size(folders[scheme.name])
            tokens, res.terms = vocabulary(scheme, texts)
            res.tokens = tokens * args.copies
            index = tantivy.Index.open(str(folders[scheme.name]))
            searcher = index.searcher()
            searchers[scheme.name] = searcher
            res.segments = searcher.num_segments
            res.per_word = evaluate(scheme, searcher, schema, words, truth, args.copies)
            counted = [r for r in res.per_word if r.relevant]
            res.precision = statistics.fmean(r.precision for r in counted) if counted else 0.0
            res.recall = statistics.fmean(r.recall for r in counted) if counted else 0.0

        for name, micros in time_queries(schemes, searchers, schema, scored or words, args.repeats).items():
            results[name].query_microseconds = micros
        del searchers

    base = results[BASELINE]
    for res in results.values():
        for key in RATIO_KEYS:
            denominator = float(getattr(base, key))
            res.ratios[key] = float(getattr(res, key)) / denominator if denominator else float("nan")

    return {
        "baseline": BASELINE,
        "records": len(texts),
        "copies": args.copies,
        "documents": len(texts) * args.copies,
        "words": words,
        "repeats": args.repeats,
        "builds": args.builds,
        "seed": args.seed,
        "cpus": os.cpu_count(),
        "tantivy": getattr(tantivy, "__version__", "?"),
        "wall_seconds": time.perf_counter() - wall,
        "schemes": [asdict(results[s.name]) for s in schemes],
    }


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def _cell(value: str, ratio: float) -> str:
    return f"{value} ({ratio:.2f}x)"


def format_table(report: dict[str, Any], per_word: bool) -> str:
    lines = [
        f"CJK analysis: {report['records']} records x {report['copies']} copies = {report['documents']} docs, "
        f"{len(report['words'])} query words, {report['repeats']} query rounds, "
        f"median of {report['builds']} builds; ratios against {report['baseline']} (same run)",
        "",
    ]
    header = ("scheme", "precision", "recall", "index size (bytes)", "index time (s)",
              "query (us)", "distinct terms")
    rows: list[tuple[str, ...]] = [header]
    for s in report["schemes"]:
        r = s["ratios"]
        rows.append((
            s["name"],
            _cell(f"{s['precision']:.3f}", r["precision"]),
            _cell(f"{s['recall']:.3f}", r["recall"]),
            _cell(f"{s['size_bytes']:,}", r["size_bytes"]),
            _cell(f"{s['index_seconds']:.2f}", r["index_seconds"]),
            _cell(f"{s['query_microseconds']:.1f}", r["query_microseconds"]),
            _cell(f"{s['terms']:,}", r["terms"]),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    if per_word:
        lines += ["", "per word: retrieved/relevant documents, precision, recall"]
        names = [s["name"] for s in report["schemes"]]
        lines.append("word".ljust(10) + "".join(n.rjust(28) for n in names))
        for i, word in enumerate(report["words"]):
            cells = []
            for s in report["schemes"]:
                w = s["per_word"][i]
                cells.append(f"{w['retrieved']}/{w['relevant']} {w['precision']:.2f} {w['recall']:.2f}".rjust(28))
            lines.append(word + " " * max(1, 10 - 2 * len(word)) + "".join(cells))  # CJK: 2 columns
    lines += ["", f"wall time {report['wall_seconds']:.1f} s"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--copies", type=int, default=10, help="index every text this many times (default 10)")
    parser.add_argument("--repeats", type=int, default=200, help="query rounds over all words (default 200)")
    parser.add_argument("--builds", type=int, default=3, help="builds per scheme; median time (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="demo corpus seed (default 0)")
    parser.add_argument("--words", help="comma-separated query words instead of the built-in list")
    parser.add_argument("--per-word", action="store_true", help="also print retrieved/relevant per word")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log progress (-vv: per word)")
    args = parser.parse_args(argv)
    if args.copies < 1 or args.repeats < 1 or args.builds < 1:
        parser.error("--copies, --repeats and --builds must be at least 1")
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
        sys.stdout.write(format_table(report, args.per_word) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
