"""The ``fedcat`` command line as a user runs it: a subprocess against real demo OAI-PMH servers."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fedcat.harvester.demo import FaultAction, OAIRepository, OAIServer
from fedcat.harvester.demo.corpus import DemoCenter, DemoRecord, demo_centers, generate_records

from .conftest import ACCEPTANCE_YAML


def center(center_id: str) -> DemoCenter:
    return next(c for c in demo_centers() if c.id == center_id)


def live(records: list[DemoRecord]) -> list[DemoRecord]:
    return [r for r in records if not r.deleted]


def fedcat(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fedcat.api.cli", *args], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout)


def cli_env() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1", PYTHONUNBUFFERED="1")
    env.pop("FEDCAT_CONFIG", None)
    return env


def summary_row(stdout: str, source: str) -> dict[str, str]:
    """One source's row of the printed harvest summary, keyed by column name."""
    lines = [line.split() for line in stdout.splitlines()]
    header = next(cols for cols in lines if cols[:3] == ["source", "status", "added"])
    row = next(cols for cols in lines if cols and cols[0] == source)
    return dict(zip(header, row, strict=True))


def read_db(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the record store without writing to it."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def store_counts(db: Path) -> dict[str, int]:
    rows = dict(read_db(db, "SELECT deleted, COUNT(*) FROM records GROUP BY deleted"))
    return {"live": rows.get(0, 0), "deleted": rows.get(1, 0)}


def search_json(cwd: Path, config: Path, query: str, *extra: str) -> dict[str, Any]:
    r = fedcat(cwd, "--config", str(config), "search", query, "--json", *extra)
    assert r.returncode == 0, r.stderr
    body: dict[str, Any] = json.loads(r.stdout)
    return body


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# -- the acceptance config ------------------------------------------------------------------------


@dataclass
class Acceptance:
    work: Path
    config: Path
    repo: OAIRepository
    first: subprocess.CompletedProcess[str]

    @property
    def db(self) -> Path:
        return self.work / "fedcat-data" / "records.sqlite3"


@pytest.fixture(scope="module")
def acceptance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acceptance]:
    c = center("ncdc")
    repo = OAIRepository(c, generate_records(c))
    server = OAIServer(repo, port=9100)
    try:
        server.start()
    except OSError as exc:
        pytest.skip(f"127.0.0.1:9100 is taken ({exc}); the acceptance config must harvest from it")
    try:
        work = tmp_path_factory.mktemp("acceptance")
        config = work / "fedcat.yaml"
        config.write_text(ACCEPTANCE_YAML, encoding="utf-8")
        first = fedcat(work, "--config", str(config), "harvest")
        yield Acceptance(work, config, repo, first)
    finally:
        server.stop()


def test_acceptance_harvest(acceptance: Acceptance) -> None:
    r = acceptance.first
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    records = acceptance.repo.records()
    row = summary_row(r.stdout, "example")
    assert row["status"] == "succeeded"
    assert int(row["added"]) == len(live(records))
    assert int(row["deleted"]) == len(records) - len(live(records)) > 0
    assert int(row["errored"]) == 0
    # data_dir is relative to the config file's folder
    assert store_counts(acceptance.db) == {"live": len(live(records)), "deleted": len(records) - len(live(records))}


def test_acceptance_search_json(acceptance: Acceptance) -> None:
    body = search_json(acceptance.work, acceptance.config, "冰川")
    records = acceptance.repo.records()

    def mentions(r: DemoRecord) -> bool:
        return any("冰川" in t for t in (r.title_zh, r.description_zh, r.publisher_zh, *r.subjects))

    expected = [r for r in live(records) if mentions(r)]
    assert body["total"] == len(expected) > 0
    assert body["total"] < sum(1 for r in records if mentions(r))  # the deleted ones would match too
    assert 0 < len(body["hits"]) <= 20
    live_ids = {f"example:{r.local_id}" for r in expected}
    for hit in body["hits"]:
        assert hit["id"] in live_ids
        assert hit["source_id"] == "example"
        assert hit["center"] == "示例数据中心"
    assert {b["value"]: b["count"] for b in body["facets"]["source"]} == {"example": body["total"]}


def test_acceptance_deleted_records_are_not_found(acceptance: Acceptance) -> None:
    deleted = [r for r in acceptance.repo.records() if r.deleted]
    target = deleted[0]
    body = search_json(acceptance.work, acceptance.config, target.title_en, "--size", "100")
    ids = {h["id"] for h in body["hits"]}
    assert f"example:{target.local_id}" not in ids
    assert len(ids) == body["total"] or body["total"] > 100


def test_acceptance_second_harvest_changes_nothing(acceptance: Acceptance) -> None:
    assert acceptance.first.returncode == 0
    before = store_counts(acceptance.db)
    rows_before = read_db(acceptance.db, "SELECT id, content_hash, updated_at FROM records ORDER BY id")
    r = fedcat(acceptance.work, "--config", str(acceptance.config), "harvest")
    assert r.returncode == 0, r.stderr
    row = summary_row(r.stdout, "example")
    assert row["status"] == "succeeded"
    assert (row["added"], row["updated"]) == ("0", "0")
    assert store_counts(acceptance.db) == before
    rows_after = read_db(acceptance.db, "SELECT id, content_hash, updated_at FROM records ORDER BY id")
    assert rows_after == rows_before


def test_acceptance_harvests_and_sources(acceptance: Acceptance) -> None:
    n_live = len(live(acceptance.repo.records()))
    r = fedcat(acceptance.work, "--config", str(acceptance.config), "harvests", "--json")
    assert r.returncode == 0, r.stderr
    runs = json.loads(r.stdout)["harvests"]
    assert runs and all(run["source_id"] == "example" for run in runs)
    assert all(run["status"] == "succeeded" for run in runs)
    assert runs[-1]["added"] == n_live  # the oldest run added everything
    table = fedcat(acceptance.work, "--config", str(acceptance.config), "harvests")
    assert table.returncode == 0, table.stderr
    assert "example" in table.stdout and "succeeded" in table.stdout

    s = fedcat(acceptance.work, "--config", str(acceptance.config), "sources")
    assert s.returncode == 0, s.stderr
    row = next(line for line in s.stdout.splitlines() if "example" in line)
    assert "示例数据中心" in row
    assert "http://127.0.0.1:9100/oai" in row
    assert str(n_live) in row.replace("│", " ").split()


def test_acceptance_reindex_keeps_the_totals(acceptance: Acceptance) -> None:
    n_live = len(live(acceptance.repo.records()))
    before = search_json(acceptance.work, acceptance.config, "冰川")["total"]
    everything = search_json(acceptance.work, acceptance.config, "", "--size", "1")["total"]
    assert everything == n_live
    r = fedcat(acceptance.work, "--config", str(acceptance.config), "reindex")
    assert r.returncode == 0, r.stderr
    assert f"indexed {n_live} records" in r.stdout
    assert search_json(acceptance.work, acceptance.config, "冰川")["total"] == before
    assert search_json(acceptance.work, acceptance.config, "", "--size", "1")["total"] == n_live


# -- a harvest killed mid-way -----------------------------------------------------------------------


def config_for(url: str, **top: Any) -> str:
    lines = ["data_dir: ./fedcat-data"]
    for key, value in top.items():
        lines.append(f"{key}: {json.dumps(value)}")
    lines += ["sources:", "  - id: example", "    name: 示例数据中心", "    protocol: oaipmh",
              f"    url: {url}", "    metadata_prefix: oai_dc"]
    return "\n".join(lines) + "\n"


def test_killed_harvest_is_resumed_and_reported_interrupted(tmp_path: Path) -> None:
    c = center("ncdc")
    repo = OAIRepository(c, generate_records(c), page_size=25)
    n_live = len(live(repo.records()))
    with OAIServer(repo) as server:
        server.fault = lambda ctx: FaultAction(delay=0.5) if ctx.params.get("verb") == "ListRecords" else None
        config = tmp_path / "fedcat.yaml"
        config.write_text(config_for(server.url), encoding="utf-8")
        db = tmp_path / "fedcat-data" / "records.sqlite3"
        with open(tmp_path / "killed.out", "w") as out, open(tmp_path / "killed.err", "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "fedcat.api.cli", "--config", str(config), "harvest"],
                                    cwd=tmp_path, env=cli_env(), stdout=out, stderr=err)
            try:
                stored = 0
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and proc.poll() is None:
                    try:
                        stored = read_db(db, "SELECT COUNT(*) FROM records")[0][0]
                    except sqlite3.Error:
                        stored = 0
                    if stored > 0:
                        break
                    time.sleep(0.02)
                assert proc.poll() is None, "the harvest ended before it could be killed"
                assert stored > 0, "no page was stored in time"
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        assert proc.returncode == -signal.SIGKILL
        assert store_counts(db)["live"] < n_live  # killed mid-way
        shown = fedcat(tmp_path, "--config", str(config), "harvests", "--json")
        assert [r["status"] for r in json.loads(shown.stdout)["harvests"]] == ["interrupted"], \
            "a killed run is reported interrupted as soon as anyone looks, not left running"

        server.fault = None
        r = fedcat(tmp_path, "--config", str(config), "harvest")
        assert r.returncode == 0, r.stderr
        assert summary_row(r.stdout, "example")["status"] == "succeeded"

    live_ids = [row[0] for row in read_db(db, "SELECT local_id FROM records WHERE deleted = 0")]
    assert len(live_ids) == len(set(live_ids)) == n_live
    assert set(live_ids) == {rec.local_id for rec in live(repo.records())}
    all_ids = [row[0] for row in read_db(db, "SELECT id FROM records")]
    assert len(all_ids) == len(set(all_ids)) == len(repo.records())
    assert search_json(tmp_path, config, "", "--size", "1")["total"] == n_live

    h = fedcat(tmp_path, "--config", str(config), "harvests", "--json")
    assert h.returncode == 0, h.stderr
    runs = json.loads(h.stdout)["harvests"]
    statuses = [run["status"] for run in sorted(runs, key=lambda run: run["id"])]
    assert statuses == ["interrupted", "succeeded"]


# -- failures -------------------------------------------------------------------------------------


def test_failing_source_exits_nonzero_without_traceback(tmp_path: Path) -> None:
    port = closed_port()
    config = tmp_path / "fedcat.yaml"
    config.write_text(config_for(f"http://127.0.0.1:{port}/oai", http={"max_retries": 0, "connect_timeout": 1}),
                      encoding="utf-8")
    r = fedcat(tmp_path, "--config", str(config), "harvest")
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert f"127.0.0.1:{port}" in r.stderr
    assert "connection" in r.stderr.lower()
    assert summary_row(r.stdout, "example")["status"] == "failed"
    runs = json.loads(fedcat(tmp_path, "--config", str(config), "harvests", "--json").stdout)["harvests"]
    assert [run["status"] for run in runs] == ["failed"]
    assert str(port) in runs[0]["message"]


def test_one_failing_source_fails_the_run_but_not_the_others(tmp_path: Path) -> None:
    c = center("hep")
    repo = OAIRepository(c, generate_records(c))
    with OAIServer(repo) as server:
        port = closed_port()
        config = tmp_path / "fedcat.yaml"
        config.write_text(
            "data_dir: ./fedcat-data\nhttp: {max_retries: 0, connect_timeout: 1}\nsources:\n"
            f"  - {{id: good, name: Good, url: '{server.url}'}}\n"
            f"  - {{id: dead, name: Dead, url: 'http://127.0.0.1:{port}/oai'}}\n",
            encoding="utf-8",
        )
        r = fedcat(tmp_path, "--config", str(config), "harvest")
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert summary_row(r.stdout, "good")["status"] == "succeeded"
    assert summary_row(r.stdout, "dead")["status"] == "failed"
    assert store_counts(tmp_path / "fedcat-data" / "records.sqlite3")["live"] == len(live(repo.records()))


OAI_ERROR_WITH_BRACKETS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z</responseDate>'
    b'<request>http://127.0.0.1/oai</request><error code="badArgument">bad [/oops] argument</error></OAI-PMH>'
)


def test_source_error_text_is_printed_verbatim(tmp_path: Path) -> None:
    c = center("hep")
    with OAIServer(OAIRepository(c, generate_records(c))) as server:
        server.fault = lambda ctx: FaultAction(body=OAI_ERROR_WITH_BRACKETS)
        config = tmp_path / "fedcat.yaml"
        config.write_text(config_for(server.url, http={"max_retries": 0}), encoding="utf-8")
        r = fedcat(tmp_path, "--config", str(config), "harvest")
    assert "Traceback" not in r.stderr, r.stderr[-300:]
    assert r.returncode == 1
    assert "bad [/oops] argument" in r.stderr


# -- config errors --------------------------------------------------------------------------------


CONFIG_ERRORS = [
    ("unknown-top-level", "bogus: 1\n" + ACCEPTANCE_YAML, "bogus"),
    ("unknown-source-key", ACCEPTANCE_YAML.replace("metadata_prefix", "metdata_prefix"),
     "sources[0].metdata_prefix"),
    ("wrong-type", "workers: many\n" + ACCEPTANCE_YAML, "workers"),
    ("missing-url", ACCEPTANCE_YAML.replace("    url: http://127.0.0.1:9100/oai\n", ""), "sources[0].url"),
    ("invalid-yaml", ACCEPTANCE_YAML + "  - id: [unclosed\n", "not valid YAML"),
    ("bad-enum", ACCEPTANCE_YAML + "    policy: {openness: bogus}\n", "sources[0].policy.openness"),
]


@pytest.mark.parametrize(("name", "text", "expected"), CONFIG_ERRORS, ids=[c[0] for c in CONFIG_ERRORS])
def test_config_errors_exit_2_and_name_the_key(tmp_path: Path, name: str, text: str, expected: str) -> None:
    config = tmp_path / f"{name}.yaml"
    config.write_text(text, encoding="utf-8")
    r = fedcat(tmp_path, "--config", str(config), "harvest")
    assert r.returncode == 2, r.stderr
    assert expected in r.stderr
    assert f"{name}.yaml" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "fedcat-data").exists()


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    r = fedcat(tmp_path, "--config", "no-such-file.yaml", "harvest")
    assert r.returncode == 2
    assert "no-such-file.yaml" in r.stderr
    assert "Traceback" not in r.stderr


def test_non_utf8_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "latin1.yaml"
    config.write_bytes(ACCEPTANCE_YAML.replace("示例数据中心", "Café").encode("latin-1"))
    r = fedcat(tmp_path, "--config", str(config), "harvest")
    assert "Traceback" not in r.stderr, r.stderr[-300:]
    assert r.returncode == 2
    assert "latin1.yaml" in r.stderr


def test_config_error_with_brackets_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "brackets.yaml"
    config.write_text('"[/x]": 1\n' + ACCEPTANCE_YAML, encoding="utf-8")
    r = fedcat(tmp_path, "--config", str(config), "harvest")
    assert "Traceback" not in r.stderr, r.stderr[-300:]
    assert r.returncode == 2
    assert "[/x]" in r.stderr
