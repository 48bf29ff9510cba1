"""The published JSON Schemas (``fedcat schema config|profile|rules``) and the models behind them.

Each schema is valid JSON Schema of the keywords pydantic writes; the shipped profiles, the shipped
rules and the demo and deployment configs are valid against it (checked by the small validator below,
which knows every keyword the schemas use); unknown keys are refused, by the schema and by the loaders
with the file and the key named; validation reads no file and resolving leaves the validated config as
it was.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from fedcat.api.cli import main
from fedcat.api.demo import demo_config
from fedcat.harvester.config import Config, RulesFile, config_from_dict, load_config, validate_config
from fedcat.harvester.config_resolve import resolve
from fedcat.harvester.demo.federation import DemoFederation
from fedcat.harvester.errors import ConfigError
from fedcat.harvester.schema import DIALECT, config_keys
from fedcat.harvester.sources.rest.profile import PROFILE_PACKAGE, Profile, load_profile, shipped_profiles
from fedcat.harvester.tagging.rules import SHIPPED_RULES, load_rules_file

from .conftest import ACCEPTANCE_YAML

REPO = Path(__file__).resolve().parent.parent
KINDS = {"config": Config, "profile": Profile, "rules": RulesFile}
#: Every keyword the published schemas may use; the validator below implements each.
KEYWORDS = {"$schema", "definitions", "$ref", "title", "description", "default", "type", "properties",
            "additionalProperties", "required", "items", "anyOf", "enum"}
TYPES: dict[str, Any] = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def schema_of(kind: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["schema", kind]) == 0
    schema: dict[str, Any] = json.loads(capsys.readouterr().out)
    return schema


def problems(root: dict[str, Any], value: Any, node: dict[str, Any] | None = None, where: str = "") -> list[str]:
    """Where ``value`` breaks the schema ``root`` (at ``node``): an empty list when it is valid."""
    node = root if node is None else node
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/definitions/")
        return problems(root, value, root["definitions"][name], where)
    unknown = set(node) - KEYWORDS
    assert not unknown, f"{where}: keywords the validator does not know: {unknown}"
    if "anyOf" in node and all(problems(root, value, sub, where) for sub in node["anyOf"]):
        return [f"{where}: {value!r} matches none of anyOf"]
    if "enum" in node and value not in node["enum"]:
        return [f"{where}: {value!r} not in {node['enum']}"]
    kind = node.get("type")
    if kind is not None and not _is(kind, value):
        return [f"{where}: {value!r} is not {kind}"]
    found: list[str] = []
    if isinstance(value, dict) and kind == "object":
        found += [f"{where}.{k}: required" for k in node.get("required", []) if k not in value]
        extra = node.get("additionalProperties", True)
        for k, v in value.items():
            if k in node.get("properties", {}):
                found += problems(root, v, node["properties"][k], f"{where}.{k}")
            elif extra is False:
                found.append(f"{where}.{k}: additional property")
            elif isinstance(extra, dict):
                found += problems(root, v, extra, f"{where}.{k}")
    if isinstance(value, list) and "items" in node:
        for i, item in enumerate(value):
            found += problems(root, item, node["items"], f"{where}[{i}]")
    return found


def _is(kind: str, value: Any) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, TYPES[kind])


def subschemas(node: dict[str, Any]) -> list[dict[str, Any]]:
    """``node`` and every schema inside it (not the property names, which are no keywords)."""
    inner = [*node.get("definitions", {}).values(), *node.get("properties", {}).values(), *node.get("anyOf", [])]
    inner += [node[k] for k in ("items", "additionalProperties") if isinstance(node.get(k), dict)]
    return [node] + [s for sub in inner for s in subschemas(sub)]


@pytest.mark.parametrize("kind", list(KINDS))
def test_schema_command_prints_a_json_schema(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    schema = schema_of(kind, capsys)
    assert schema["$schema"] == DIALECT and schema["title"].startswith("fedcat")
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    for node in subschemas(schema):
        assert set(node) <= KEYWORDS, set(node) - KEYWORDS
        if "$ref" in node:
            assert node["$ref"].removeprefix("#/definitions/") in schema["definitions"], node["$ref"]
    assert problems(schema, []) == [": [] is not object"]


def _dataclasses(model: type[Any]) -> set[type[Any]]:
    """``model`` and every dataclass its fields hold."""
    out = {model}
    for hint in typing.get_type_hints(model).values():
        for tp in _types(hint):
            if dataclasses.is_dataclass(tp) and isinstance(tp, type) and tp not in out:
                out |= _dataclasses(tp)
    return out


def _types(tp: Any) -> list[Any]:
    return [tp] + [t for a in typing.get_args(tp) for t in _types(a)]


@pytest.mark.parametrize("kind", list(KINDS))
def test_schema_properties_are_the_models_keys(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    schema = schema_of(kind, capsys)
    model = KINDS[kind]
    assert list(schema["properties"]) == config_keys(model)
    for sub in _dataclasses(model) - {model}:
        assert list(schema["definitions"][sub.__name__]["properties"]) == config_keys(sub), sub.__name__
    assert "path" not in schema["properties"]  # where the config was read from: no key of the file


def test_descriptions_reach_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    schema = schema_of("profile", capsys)
    assert "name" not in schema["required"]  # a profile is named after its file unless it says otherwise
    assert "description" in schema["properties"]["name"]
    assert "placeholders" in schema["definitions"]["RequestSpec"]["properties"]["params"]["description"]
    config = schema_of("config", capsys)
    assert "relative to the config file" in config["properties"]["data_dir"]["description"]


@pytest.mark.parametrize("name", shipped_profiles())
def test_shipped_profiles_match_the_published_schema(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load((resources.files(PROFILE_PACKAGE) / f"{name}.yaml").read_text(encoding="utf-8"))
    assert problems(schema_of("profile", capsys), data) == []
    assert load_profile(name).name == name


def test_shipped_rules_match_the_published_schema(capsys: pytest.CaptureFixture[str]) -> None:
    package = "fedcat.harvester.tagging"
    data = yaml.safe_load((resources.files(package) / SHIPPED_RULES).read_text(encoding="utf-8"))
    assert problems(schema_of("rules", capsys), data) == []
    assert len(load_rules_file()) == len(data["rules"])


def test_demo_and_deployment_configs_match_the_published_schema(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    schema = schema_of("config", capsys)
    with DemoFederation(rest=True) as fed:
        raw = demo_config(fed, tmp_path / "data", "127.0.0.1", 8000)
    assert any(s["protocol"] == "rest" for s in raw["sources"])
    compose = yaml.safe_load((REPO / "deploy" / "compose" / "fedcat.yaml").read_text(encoding="utf-8"))
    for data in (raw, compose, yaml.safe_load(ACCEPTANCE_YAML)):
        assert problems(schema, data) == []
        config_from_dict(data)


def test_the_schema_refuses_what_the_loader_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    schema = schema_of("config", capsys)
    data = yaml.safe_load(ACCEPTANCE_YAML)
    data["sources"][0]["metdata_prefix"] = data["sources"][0].pop("metadata_prefix")
    assert problems(schema, data) == [".sources[0].metdata_prefix: additional property"]
    assert problems(schema, {"workers": "4"}) == [".workers: '4' is not integer"]
    assert problems(schema, {"sources": [{"id": "a", "name": "n", "url": "http://h", "protocol": "ftp"}]})
    assert problems(schema, {"path": "/elsewhere"}) == [".path: additional property"]


def test_unknown_keys_are_refused_naming_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "fedcat.yaml"
    config.write_text("http:\n  max_retries: 2\n  retires: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert (info.value.path, info.value.key) == (str(config), "http.retires")
    assert str(info.value).startswith(f"{config}: http.retires: unknown key (allowed: backoff_base, ")

    profile = yaml.safe_load((resources.files(PROFILE_PACKAGE) / "nmdc.yaml").read_text(encoding="utf-8"))
    profile["records"]["id_path"] = "datasetId"
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    config.write_text("sources:\n  - {id: a, name: x, protocol: rest, url: 'http://127.0.0.1:9', "
                      "profile: mine.yaml}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert info.value.path == str(tmp_path / "mine.yaml")
    assert info.value.key == "sources[0].profile.records.id_path"
    assert "unknown key (allowed: datestamp, datestamp_format, dedupe, id, path)" in str(info.value)

    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: x\n    wen: {content: a}\n    set: {openness: open}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules_file(rules)
    assert (info.value.path, info.value.key) == (str(rules), "rules[0].wen")
    assert "unknown key (allowed: after_embargo, flags, id, note, set, when)" in str(info.value)


def test_validation_reads_no_file_and_resolving_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    data = {"sources": [{"id": "a", "name": "x", "protocol": "rest", "url": "http://127.0.0.1:9",
                         "profile": "profiles/mine.yaml"},
                        {"id": "b", "name": "y", "protocol": "ckan", "url": "http://127.0.0.1:9"}],
            "tagging": {"rules": [{"id": "r", "when": {"content": "冰川"}, "set": {"openness": "open"}}]}}
    path = str(tmp_path / "fedcat.yaml")
    validated = validate_config(data, path=path)  # the profile file does not exist yet
    assert validated.sources[0].profile == "profiles/mine.yaml" and validated.sources[1].profile is None
    with pytest.raises(ConfigError) as info:
        resolve(validated)
    assert info.value.key == "sources[0].profile" and "cannot read profile file" in str(info.value)

    nmdc = (resources.files(PROFILE_PACKAGE) / "nmdc.yaml").read_text(encoding="utf-8")
    (tmp_path / "profiles" / "mine.yaml").write_text(nmdc, encoding="utf-8")
    resolved = resolve(validated)
    mine = str((tmp_path / "profiles" / "mine.yaml").resolve())
    assert [s.profile for s in resolved.config.sources] == [mine, "ckan"]
    assert validated.sources[0].profile == "profiles/mine.yaml" and validated.sources[1].profile is None
    assert resolved.profiles["a"].name == "nmdc" and resolved.profiles["b"].name == "ckan"
    assert [r.id for r in resolved.rules["tagging.rules"]] == ["r"]
    assert resolved.config.path == path and config_from_dict(data, path=path) == resolved.config
