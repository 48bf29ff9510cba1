"""How well the tagger reads access statements and records: precision, recall, confusion, errors.

Usage::

    python bench/tagging_eval.py [--corpus bench/tagging_corpus.yaml] [--config fedcat.yaml] [--json]

Tags every case of the labelled corpus (statements and short records in Simplified and
Traditional Chinese and English, with the look-alikes that must not fire) with the shipped rules,
or the rules of ``--config``, and prints per tag and value the precision, recall and support, the
confusion matrix of each tag, and then, separately, every **restricted → public** error (a case
the anonymous international public must not see that it would see) and every **open → hidden**
error (an open, visible case that would be hidden or shown as less open), and every other wrong
case. Exit status 1 when any case is wrong. The test suite holds the corpus at 100%
(tests/test_tagging_eval.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fedcat.harvester.config import load_config
from fedcat.harvester.tagging.engine import TAGS
from fedcat.harvester.tagging.evaluation import Outcome, Report, evaluate, evaluation_tagger, load_corpus

CORPUS = Path(__file__).resolve().parent / "tagging_corpus.yaml"


def _line(o: Outcome) -> str:
    exp = ", ".join(f"{t}={o.case.expect[t]}" for t in TAGS)
    got = ", ".join(f"{t}={o.got[t]}" for t in TAGS if o.got[t] != o.case.expect[t])
    if o.flags != o.case.flags:
        got += f"{', ' if got else ''}flags={sorted(o.flags)} (expected {sorted(o.case.flags)})"
    return f"  {o.case.id} [{o.case.lang}]: expected {exp}; got {got}"


def print_report(report: Report) -> None:
    print(f"{len(report.outcomes)} cases, {len(report.outcomes) - len(report.failures)} correct "
          f"({report.accuracy:.1%})\n")
    for tag in TAGS:
        print(f"{tag}")
        print(f"  {'value':<15}{'precision':>10}{'recall':>10}{'support':>9}")
        for value, (_, predicted, expected) in sorted(report.counts[tag].items()):
            if not (predicted or expected):
                continue
            p, r, n = report.precision_recall(tag, value)
            print(f"  {value:<15}{p:>10.3f}{r:>10.3f}{n:>9}")
        values = sorted({v for pair in report.confusion[tag] for v in pair})
        print("  confusion (rows expected, columns got):")
        print("  " + " " * 15 + "".join(f"{v[:9]:>10}" for v in values))
        for e in values:
            print(f"  {e:<15}" + "".join(f"{report.confusion[tag].get((e, g), 0):>10}" for g in values))
        print()
    print(f"restricted → public errors: {len(report.restricted_to_public)}")
    for o in report.restricted_to_public:
        print(_line(o))
    print(f"open → hidden errors: {len(report.open_to_hidden)}")
    for o in report.open_to_hidden:
        print(_line(o))
    others = [o for o in report.failures if not (o.restricted_to_public or o.open_to_hidden)]
    print(f"other wrong cases: {len(others)}")
    for o in others:
        print(_line(o))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--config", type=Path, help="use this config's rules (tagging.rules_file, tagging.rules)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    tagger = evaluation_tagger(load_config(args.config) if args.config else None)
    report = evaluate(load_corpus(args.corpus), tagger)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_report(report)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
