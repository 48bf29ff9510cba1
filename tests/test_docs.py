"""The docs keep what the benches measured: every script in bench/ has its section in
docs/performance.md (its name in a heading), and every script a heading names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PERFORMANCE = ROOT / "docs" / "performance.md"


def headed_scripts() -> set[str]:
    headings = [line for line in PERFORMANCE.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]
    return {name for line in headings for name in re.findall(r"bench/([\w-]+\.py)", line)}


def test_every_bench_script_has_its_section_in_performance_md() -> None:
    scripts = {p.name for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_")}
    missing = scripts - headed_scripts()
    assert not missing, f"bench scripts without a '## … (bench/<name>.py)' section in docs/performance.md: {missing}"


def test_every_section_names_a_script_that_exists() -> None:
    gone = {name for name in headed_scripts() if not (ROOT / "bench" / name).is_file()}
    assert not gone, f"docs/performance.md has sections for scripts that are not in bench/: {gone}"
