"""The version is written once, in pyproject.toml; everything that shows it reads the package metadata."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fedcat.api.cli import main
from fedcat.harvester.config import config_from_dict
from fedcat.harvester.linkcheck.run import settings_from
from fedcat.harvester.sources.http import user_agent
from fedcat.harvester.version import VERSION

ROOT = Path(__file__).resolve().parent.parent


def test_the_version_is_the_one_in_pyproject() -> None:
    written = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert VERSION == written
    assert f"fedcat/{VERSION} " in user_agent(None)
    assert settings_from(config_from_dict({})).user_agent == f"fedcat-linkcheck/{VERSION}"


def test_fedcat_version_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"fedcat {VERSION}"


def test_no_module_writes_a_version_of_its_own() -> None:
    for path in [*ROOT.glob("harvester/**/*.py"), *ROOT.glob("api/**/*.py"), *ROOT.glob("index/**/*.py")]:
        assert f'"{VERSION}"' not in path.read_text(encoding="utf-8"), path
