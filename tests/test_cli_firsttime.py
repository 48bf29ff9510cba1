"""What a first-time user meets on the command line: a busy port, a source that refuses connections,
an empty catalog's metrics, paging through search hits, and hints that run as printed."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fedcat.api import cli, demo
from fedcat.api.cli import invoked_command, main
from fedcat.api.console import make_console
from fedcat.harvester.config import HttpConfig
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.errors import ConnectionRefused
from fedcat.harvester.sources.http import REFUSED_RETRY_DELAY, HttpClient

from .conftest import FAST_HTTP

#: A source id as long as the config allows ids to be: its record ids must still print whole at 80 columns.
LONG_ID = "national-glacier-frozen-soil-desert-science-data-center-archive"
URLLIB3_INTERNALS = ("HTTPConnectionPool", "NewConnectionError", "Max retries exceeded", "urllib3")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 another program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


def write_config(tmp_path: Path, sources: list[dict[str, Any]], **top: Any) -> Path:
    path = tmp_path / "fedcat.yaml"
    raw = {"data_dir": "./data", "sources": sources, **top}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def never_harvested(tmp_path: Path) -> Path:
    return write_config(tmp_path, [
        {"id": "ncdc", "name": "国家冰川冻土沙漠科学数据中心", "url": f"http://127.0.0.1:{free_port()}/oai"},
        {"id": "hep", "name": "国家高能物理科学数据中心", "url": f"http://127.0.0.1:{free_port()}/oai"},
    ])


# -- 1. a busy port is found before anything is harvested or started --------------------------------


def test_serve_on_a_busy_port_exits_before_opening_the_catalog(
    tmp_path: Path, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    config = never_harvested(tmp_path)
    code = main(["--config", str(config), "serve", "--host", "127.0.0.1", "--port", str(busy_port)])
    err = capsys.readouterr().err
    assert code != 0
    assert err.strip().count("\n") == 0, err  # one line
    assert f"127.0.0.1:{busy_port}" in err and "already in use" in err
    assert "--port" in err and "--host" in err
    assert not (tmp_path / "data").exists(), "the catalog was opened before the port was checked"


def test_demo_on_a_busy_port_exits_before_starting_the_federation(
    tmp_path: Path, busy_port: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[bool] = []
    monkeypatch.setattr(demo, "start_federation", lambda: started.append(True) or pytest.fail("federation started"))
    data_dir = tmp_path / "demo-data"
    code = main(["demo", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(busy_port)])
    err = capsys.readouterr().err
    assert code != 0
    assert f"127.0.0.1:{busy_port}" in err and "already in use" in err
    assert "--port" in err and "--host" in err
    assert not started and not data_dir.exists()


# -- 2. a refused connection fails fast, in one readable line ---------------------------------------------


def test_refused_source_fails_fast_naming_source_and_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/oai"
    config = write_config(tmp_path, [{"id": "dead", "name": "Dead", "url": url}])  # the default http settings
    started = time.monotonic()
    code = main(["--config", str(config), "harvest"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 1
    assert elapsed < 5, f"a refused connection took {elapsed:.1f}s"
    line = next(line for line in err.splitlines() if line.startswith("[dead] "))
    where = url.split("/")[2]
    assert line == f"[dead] {url} connection failed: connection refused (nothing is listening on {where})"
    assert not any(s in err for s in URLLIB3_INTERNALS), err

    assert main(["--config", str(config), "harvests", "--json"]) == 0
    [run] = json.loads(capsys.readouterr().out)["harvests"]
    assert run["status"] == "failed"
    assert "[dead]" in run["message"] and url in run["message"] and "connection refused" in run["message"]
    assert not any(s in run["message"] for s in URLLIB3_INTERNALS)


def test_refused_connection_is_tried_once_more_then_raised() -> None:
    waits: list[float] = []
    client = HttpClient(HttpConfig(), source_id="dead", sleep=waits.append)
    url = f"http://127.0.0.1:{free_port()}/oai"
    try:
        with pytest.raises(ConnectionRefused) as info:
            client.request("GET", url, params={"verb": "Identify"})
    finally:
        client.close()
    assert waits == [REFUSED_RETRY_DELAY]
    assert dict(client.retries) == {"refused": 1}
    assert info.value.source_id == "dead" and info.value.url == url


# -- 3. metrics of a catalog never harvested --------------------------------------------------------


def test_metrics_of_a_catalog_never_harvested(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = never_harvested(tmp_path)
    monkeypatch.setattr(cli, "invoked_command", lambda: "fedcat", raising=False)
    assert main(["--config", str(config), "metrics"]) == 0
    ranking = capsys.readouterr().out
    assert "None" not in ranking
    assert "国家冰川冻土沙漠科学数据中心 (ncdc)" in ranking and "国家高能物理科学数据中心 (hep)" in ranking
    assert "not yet harvested: ncdc, hep" in ranking
    assert f"fedcat --config {config} harvest" in ranking

    assert main(["--config", str(config), "metrics", "--center", "ncdc"]) == 0
    center = capsys.readouterr().out
    assert "None" not in center
    assert "not yet harvested: ncdc" in center and "hep" not in center


# -- 4. search pages, and ids kept whole at 80 columns ----------------------------------------------------


@pytest.fixture
def harvested(tmp_path: Path, oai_server: OAIServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config in the current folder whose one source (with a long id) has been harvested."""
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, [{"id": LONG_ID, "name": "冰川", "url": oai_server.url,
                                      "policy": {"security": "general"}}], http=dict(FAST_HTTP))
    assert main(["--config", config.name, "harvest"]) == 0
    return config


def test_search_pages_with_a_runnable_hint_and_whole_ids_at_80_columns(
    harvested: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(cli, "console", make_console())
    script = tmp_path / ".venv" / "bin" / "fedcat"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.setattr("sys.argv", [".venv/bin/fedcat"])
    capsys.readouterr()

    def hit_ids(page: int) -> tuple[int, list[str]]:
        assert main(["--config", harvested.name, "search", "", "--json", "--page", str(page)]) == 0
        body = json.loads(capsys.readouterr().out)
        return body["total"], [h["id"] for h in body["hits"]]

    total, ids = hit_ids(1)
    assert total > 20 and len(ids) == 20
    assert main(["--config", harvested.name, "search", ""]) == 0
    out = capsys.readouterr().out
    assert f"showing 20 of {total} records matching ''" in out
    assert_whole(ids, out)
    hint = next(line for line in out.splitlines() if line.startswith("next page: "))
    assert hint == "next page: .venv/bin/fedcat --config fedcat.yaml search --page 2 ''"

    argv = shlex.split(hint.removeprefix("next page: "))
    assert argv[0] == ".venv/bin/fedcat"
    assert main(argv[1:]) == 0
    second = capsys.readouterr().out
    assert f"showing 20 of {total} records matching '', from #21" in second
    assert_whole(hit_ids(2)[1], second)


def assert_whole(ids: list[str], out: str) -> None:
    """Each id (longer than 70 characters) is a line of the output by itself: not cut, not wrapped."""
    assert ids and all(len(i) > 70 for i in ids)
    lines = {line.rstrip() for line in out.splitlines()}
    missing = [i for i in ids if i not in lines]
    assert not missing, f"ids cut or wrapped: {missing[:3]}\n{out}"


# -- 5. hints print the command the user ran ------------------------------------------------------


def test_invoked_command_is_printed_as_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    script = work / ".venv" / "bin" / "fedcat"
    elsewhere = tmp_path / "opt" / "bin" / "fedcat"
    for path in (script, elsewhere):
        path.parent.mkdir(parents=True)
        path.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.chdir(work)
    assert invoked_command(".venv/bin/fedcat") == ".venv/bin/fedcat"
    assert invoked_command(str(script)) == ".venv/bin/fedcat"  # absolute but under the current folder
    assert invoked_command(str(elsewhere)) == str(elsewhere)
    assert invoked_command("../opt/bin/fedcat") == str(elsewhere)
    assert invoked_command(str(Path(cli.__file__))).endswith(" -m fedcat.api.cli")  # python -m fedcat.api.cli
    for unknown in ("", "-c", str(tmp_path / "missing" / "fedcat"), "/usr/bin/pytest"):
        assert invoked_command(unknown) == "fedcat"
    monkeypatch.setenv("PATH", str(elsewhere.parent))
    elsewhere.chmod(0o755)
    assert invoked_command(str(elsewhere)) == "fedcat"  # that very script is what `fedcat` runs


def test_demo_hints_start_with_the_command_the_user_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / ".venv" / "bin" / "fedcat"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("sys.argv", [".venv/bin/fedcat", "demo"])
    seen: dict[str, Any] = {}
    monkeypatch.setattr(demo, "run_demo", lambda **kwargs: seen.update(kwargs) or 0)
    assert main(["demo", "--no-serve"]) == 0
    assert seen["command"] == ".venv/bin/fedcat"

    config_path = Path("fedcat-data/demo.yaml")
    for base in ("http://127.0.0.1:8000", None):
        hints = demo.next_steps(seen["command"], config_path, base)
        commands = [line.strip() for line in hints.splitlines() if "--config" in line]
        assert ".venv/bin/fedcat --config fedcat-data/demo.yaml search 冰川" in commands
        assert all(c.startswith(".venv/bin/fedcat --config ") for c in commands)


def test_output_piped_into_a_reader_that_stopped_ends_without_a_traceback(tmp_path: Path) -> None:
    """`fedcat schema config | head`: head leaves, the next write fails; fedcat stops quietly."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before fedcat writes
    try:
        done = subprocess.run([sys.executable, "-m", "fedcat.api.cli", "schema", "config"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=60, cwd=tmp_path)
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == 141
