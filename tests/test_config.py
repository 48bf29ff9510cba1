"""Unit tests of the config loader: defaults, and errors that name the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from fedcat.harvester.config import (
    Audience,
    Backend,
    Config,
    Protocol,
    config_from_dict,
    load_config,
)
from fedcat.harvester.errors import ConfigError, FedcatError
from fedcat.harvester.model import GeoScope, Openness, Security

from .conftest import ACCEPTANCE_YAML


def base() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACCEPTANCE_YAML)
    return copy.deepcopy(data)


def error_for(data: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    assert isinstance(info.value, FedcatError)
    return info.value


def test_acceptance_yaml_loads_with_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "conf" / "fedcat.yaml"
    path.parent.mkdir()
    path.write_text(ACCEPTANCE_YAML, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(path)
    assert isinstance(cfg, Config)
    assert cfg.path == str(path)
    (src,) = cfg.sources
    assert (src.id, src.name, src.url) == ("example", "示例数据中心", "http://127.0.0.1:9100/oai")
    assert src.protocol is Protocol.OAIPMH
    assert src.metadata_prefix == "oai_dc"
    assert src.enabled is True
    assert src.sets == [] and src.schedule is None and src.name_en is None and src.min_delay is None
    assert (src.policy.openness, src.policy.geo_scope, src.policy.security) == (
        Openness.UNKNOWN, GeoScope.UNKNOWN, Security.UNKNOWN)
    assert cfg.workers == 4
    assert cfg.http.max_retries == 5 and cfg.http.connect_timeout == 10.0 and cfg.http.contact is None
    assert cfg.index.backend is Backend.EMBEDDED and cfg.index.url is None
    assert cfg.api.host == "127.0.0.1" and cfg.api.port == 8000
    assert cfg.api.anonymous_audience is Audience.PUBLIC_INTERNATIONAL
    # data_dir is relative to the config file's folder, not the working directory
    assert cfg.data_path == path.parent / "fedcat-data"


def test_absolute_data_dir_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "fedcat.yaml"
    target = tmp_path / "somewhere" / "data"
    path.write_text(ACCEPTANCE_YAML.replace("./fedcat-data", str(target)), encoding="utf-8")
    assert load_config(path).data_path == target


def test_values_are_typed(tmp_path: Path) -> None:
    data = base()
    data.update(workers=2, http={"connect_timeout": 3, "max_retries": 0, "contact": "ops@example.org"},
                api={"anonymous_audience": "officer", "port": 9000},
                index={"backend": "elasticsearch", "url": "http://127.0.0.1:9200"})
    data["sources"][0].update(sets=["glacier"], schedule="0 3 * * *", enabled=False, min_delay=0.5,
                              policy={"openness": "open", "geo_scope": "domestic", "security": "sensitive"})
    cfg = config_from_dict(data)
    assert cfg.workers == 2
    assert cfg.http.connect_timeout == 3.0 and isinstance(cfg.http.connect_timeout, float)
    assert cfg.http.max_retries == 0 and cfg.http.contact == "ops@example.org"
    assert cfg.api.anonymous_audience is Audience.OFFICER and cfg.api.port == 9000
    assert cfg.index.backend is Backend.ELASTICSEARCH
    src = cfg.sources[0]
    assert src.sets == ["glacier"] and src.schedule == "0 3 * * *" and src.enabled is False
    assert src.policy.openness is Openness.OPEN
    assert src.policy.geo_scope is GeoScope.DOMESTIC
    assert src.policy.security is Security.SENSITIVE
    assert cfg.source("example") is src


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
    return change


def _drop(path: tuple[Any, ...]) -> Any:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]
    return change


ERRORS = [
    ("unknown-top-level-key", _set(("bogus",), 1), "bogus", "unknown key"),
    ("unknown-source-key", _set(("sources", 0, "metdata_prefix"), "oai_dc"), "sources[0].metdata_prefix",
     "metadata_prefix"),
    ("unknown-nested-key", _set(("http",), {"retries": 3}), "http.retries", "max_retries"),
    ("wrong-type-int", _set(("workers",), "many"), "workers", "integer"),
    ("bool-is-not-int", _set(("workers",), True), "workers", "integer"),
    ("float-is-not-int", _set(("http",), {"max_retries": 1.5}), "http.max_retries", "integer"),
    ("wrong-type-str", _set(("sources", 0, "name"), 42), "sources[0].name", "string"),
    ("wrong-type-bool", _set(("sources", 0, "enabled"), "yes"), "sources[0].enabled", "true or false"),
    ("wrong-type-list", _set(("sources", 0, "sets"), "glacier"), "sources[0].sets", "list"),
    ("wrong-type-list-item", _set(("sources", 0, "sets"), ["a", 3]), "sources[0].sets[1]", "string"),
    ("sources-not-a-list", _set(("sources",), {"id": "x"}), "sources", "list"),
    ("source-not-a-mapping", _set(("sources",), ["example"]), "sources[0]", "mapping"),
    ("section-not-a-mapping", _set(("http",), 5), "http", "mapping"),
    ("missing-url", _drop(("sources", 0, "url")), "sources[0].url", "missing"),
    ("missing-id", _drop(("sources", 0, "id")), "sources[0].id", "missing"),
    ("missing-name", _drop(("sources", 0, "name")), "sources[0].name", "missing"),
    ("bad-protocol", _set(("sources", 0, "protocol"), "ftp"), "sources[0].protocol", "'oaipmh'"),
    ("bad-source-id", _set(("sources", 0, "id"), "Bad ID!"), "sources[0].id", "not a valid source id"),
    ("non-http-url", _set(("sources", 0, "url"), "ftp://127.0.0.1/oai"), "sources[0].url", "http"),
    ("url-without-scheme", _set(("sources", 0, "url"), "127.0.0.1:9100/oai"), "sources[0].url", "http"),
    ("bad-crontab-fields", _set(("sources", 0, "schedule"), "every day"), "sources[0].schedule", "crontab"),
    ("bad-crontab-value", _set(("sources", 0, "schedule"), "61 * * * *"), "sources[0].schedule", "crontab"),
    ("elasticsearch-without-url", _set(("index",), {"backend": "elasticsearch"}), "index.url", "elasticsearch"),
    ("bad-backend", _set(("index",), {"backend": "solr"}), "index.backend", "'embedded'"),
    ("bad-audience", _set(("api",), {"anonymous_audience": "everyone"}), "api.anonymous_audience",
     "'public_international'"),
    ("zero-workers", _set(("workers",), 0), "workers", "at least 1"),
    ("short-lease", _set(("store",), {"lease_seconds": 0.5}), "store.lease_seconds", "at least 1"),
    ("only-hosts-with-scheme", _set(("linkcheck",), {"only_hosts": ["127.0.0.1", "https://data.example"]}),
     "linkcheck.only_hosts[1]", "without scheme"),
    ("only-hosts-with-port", _set(("linkcheck",), {"only_hosts": ["data.example:8080"]}),
     "linkcheck.only_hosts[0]", "not a host"),
]


@pytest.mark.parametrize(("name", "change", "key", "hint"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_key(name: str, change: Any, key: str, hint: str) -> None:
    data = base()
    change(data)
    err = error_for(data)
    assert err.key == key
    assert str(err).startswith(f"{key}: ")
    assert hint in str(err)


def test_duplicate_source_ids() -> None:
    data = base()
    data["sources"].append(dict(data["sources"][0], url="http://127.0.0.1:9101/oai"))
    err = error_for(data)
    assert err.key == "sources[1].id"
    assert "duplicate" in str(err) and "example" in str(err)


@pytest.mark.parametrize("good", ["a", "ncdc", "my-center_2", "0abc"])
def test_good_source_ids(good: str) -> None:
    data = base()
    data["sources"][0]["id"] = good
    assert config_from_dict(data).sources[0].id == good


@pytest.mark.parametrize("bad", ["", "NCDC", "-lead", "with space", "点", "a" * 65, "a.b"])
def test_bad_source_ids(bad: str) -> None:
    data = base()
    data["sources"][0]["id"] = bad
    assert error_for(data).key == "sources[0].id"


@pytest.mark.parametrize("tag", ["openness", "geo_scope", "security"])
def test_policy_enum_rejects_bogus_listing_allowed_values(tag: str) -> None:
    data = base()
    data["sources"][0]["policy"] = {tag: "bogus"}
    err = error_for(data)
    assert err.key == f"sources[0].policy.{tag}"
    enum = {"openness": Openness, "geo_scope": GeoScope, "security": Security}[tag]
    for member in enum:
        assert repr(member.value) in str(err)
    assert "'bogus'" in str(err)


def test_elasticsearch_with_url_is_accepted() -> None:
    data = base()
    data["index"] = {"backend": "elasticsearch", "url": "https://127.0.0.1:9200"}
    assert config_from_dict(data).index.url == "https://127.0.0.1:9200"


def test_top_level_must_be_a_mapping() -> None:
    err = error_for(["data_dir", "x"])
    assert err.key == "(top level)"


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.sources == [] and cfg.workers == 4
    assert cfg.data_path == tmp_path / "fedcat-data"


def test_load_config_errors_name_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(ACCEPTANCE_YAML.replace("metadata_prefix", "metdata_prefix"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: sources[0].metdata_prefix: unknown key")


def test_load_config_error_keeps_the_key_attribute(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(ACCEPTANCE_YAML.replace("metadata_prefix", "metdata_prefix"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "sources[0].metdata_prefix"
    assert "sources[0].metdata_prefix: unknown key" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert info.value.path == str(tmp_path / "nope.yaml")
    assert "cannot read" in str(info.value)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("sources: [\n  - id: a\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert "not valid YAML" in str(info.value)


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(ACCEPTANCE_YAML.replace("示例数据中心", "Café").encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)


def test_duplicate_yaml_key_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(ACCEPTANCE_YAML + "    url: http://127.0.0.1:9999/oai\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "url" in str(info.value)


def test_unknown_source_lookup() -> None:
    cfg = config_from_dict(base())
    with pytest.raises(ConfigError) as info:
        cfg.source("nosuch")
    assert "example" in str(info.value)
