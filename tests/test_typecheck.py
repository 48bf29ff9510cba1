"""The packages are mypy-clean (strict); run as part of the suite so CI enforces it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_packages_are_mypy_clean(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    # The folders are installed as fedcat.harvester, fedcat.index and fedcat.api; mirror that layout.
    pkg = tmp_path / "fedcat"
    pkg.mkdir()
    for name in ("harvester", "index", "api", "profiles"):
        (pkg / name).symlink_to(ROOT / name, target_is_directory=True)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(tmp_path / ".mypy_cache"), "-p", "fedcat"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
