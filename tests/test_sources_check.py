"""``fedcat sources check ID`` as a user runs it: a subprocess probing loopback servers."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fedcat.harvester.demo.corpus import generate_records
from fedcat.harvester.demo.oai_server import OAIRepository, OAIServer
from fedcat.harvester.demo.rest_apis import demo_api
from fedcat.harvester.sources.rest.profile import PROFILE_PACKAGE

from .conftest import FAST_HTTP, center
from .rest_helpers import rest_source
from .test_cli import fedcat


def write_config(tmp_path: Path, sources: list[dict[str, Any]]) -> Path:
    path = tmp_path / "fedcat.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "http": FAST_HTTP, "sources": sources},
                                   allow_unicode=True), encoding="utf-8")
    return path


def sciencedb_profile_with(tmp_path: Path, **mapping: Any) -> str:
    text = (resources.files(PROFILE_PACKAGE) / "sciencedb.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["mapping"].update(mapping)
    path = tmp_path / "sdb.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_check_rest_source_reports_the_first_page(rest_serve: Any, tmp_path: Path) -> None:
    server = rest_serve(demo_api("sciencedb"))
    cfg = write_config(tmp_path, [rest_source(server, "sciencedb")])
    proc = fedcat(tmp_path, "--config", str(cfg), "sources", "check", "sciencedb")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = len(demo_api("sciencedb").live())
    assert "profile sciencedb" in proc.stdout
    assert f"first page: HTTP 200, 20 records, total {total}, envelope ok" in proc.stdout
    assert "20 of 20 records mapped" in proc.stdout and "0 problems" in proc.stdout
    assert len([r for r in server.requests if r.params.get("page")]) == 1


def test_check_warns_about_mapped_fields_no_record_fills(rest_serve: Any, tmp_path: Path) -> None:
    server = rest_serve(demo_api("sciencedb"))
    profile = sciencedb_profile_with(tmp_path, licence_url=["jsonld.licence"],
                                     titles=[{"path": "title", "lang": "zh"}, {"path": "jsonld.titel", "lang": "en"}])
    cfg = write_config(tmp_path, [rest_source(server, "sciencedb", profile=profile)])
    proc = fedcat(tmp_path, "--config", str(cfg), "sources", "check", "sciencedb")
    assert proc.returncode == 0, proc.stdout
    assert "mapping.licence_url[0] (jsonld.licence): no value in the 20 records" in proc.stdout
    assert "mapping.titles[1] (jsonld.titel)" in proc.stdout


def test_check_fails_when_records_cannot_be_mapped(rest_serve: Any, tmp_path: Path) -> None:
    server = rest_serve(demo_api("sciencedb"))
    profile = sciencedb_profile_with(tmp_path, titles=[{"path": "titel"}])
    cfg = write_config(tmp_path, [rest_source(server, "sciencedb", profile=profile)])
    proc = fedcat(tmp_path, "--config", str(cfg), "sources", "check", "sciencedb")
    assert proc.returncode == 1
    assert "cannot be mapped" in proc.stdout and "no title" in proc.stdout
    assert "0 of 20 records mapped" in proc.stdout


def test_check_reports_a_failing_envelope(rest_serve: Any, tmp_path: Path) -> None:
    server = rest_serve(demo_api("noda"))
    server.mutate = lambda request, body: {"code": "9999", "message": "接口已停用"}
    cfg = write_config(tmp_path, [rest_source(server, "noda")])
    proc = fedcat(tmp_path, "--config", str(cfg), "sources", "check", "noda")
    assert proc.returncode == 1
    assert "code=9999: 接口已停用" in proc.stdout


def test_check_oai_source(tmp_path: Path) -> None:
    c = center("ncdc")
    server = OAIServer(OAIRepository(c, generate_records(c))).start()
    try:
        cfg = write_config(tmp_path, [{"id": "ncdc", "name": "冰川", "url": server.url}])
        proc = fedcat(tmp_path, "--config", str(cfg), "sources", "check", "ncdc")
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Identify: granularity YYYY-MM-DDThh:mm:ssZ" in proc.stdout
    assert "metadata format: oai_datacite" in proc.stdout
    assert "first page: 50 records, 50 mapped" in proc.stdout


def test_check_unreachable_source_fails(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, [{"id": "gone", "name": "x", "protocol": "rest", "profile": "nbsdc",
                                   "url": "http://127.0.0.1:9"}])
    proc = fedcat(tmp_path, "--config", str(cfg), "sources", "check", "gone")
    assert proc.returncode == 1 and "connection failed" in proc.stdout


def test_check_names_unknown_sources_and_bad_profiles(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, [{"id": "a", "name": "x", "protocol": "rest", "profile": "nbsdc",
                                   "url": "http://127.0.0.1:9"}])
    proc = fedcat(tmp_path, "--config", str(cfg), "sources", "check", "b")
    assert proc.returncode == 2 and "no source with this id" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nrequest: {path: /x, params: {p: '{page}'}}\nrecords: {path: r, id: i}\n"
                   "pagination: {size_param: n}\nmapping: {titles: t}\n", encoding="utf-8")
    cfg = write_config(tmp_path, [{"id": "a", "name": "x", "protocol": "rest", "profile": str(bad),
                                   "url": "http://127.0.0.1:9"}])
    proc = fedcat(tmp_path, "--config", str(cfg), "sources", "check", "a")
    assert proc.returncode == 2 and "sources[0].profile.pagination.size_param: unknown key" in proc.stderr
