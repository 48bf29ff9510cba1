"""The federation's YAML configuration: read, validated, then resolved.

Every key is declared in :mod:`.config_schema` (typed models, published as JSON Schema by
``fedcat schema config``); an unknown key, a wrong type or a missing required field raises
:class:`ConfigError` naming the key (``sources[1].url``). Loading is two steps:
:func:`validate_config` checks structure and the rules between keys and reads no file;
:func:`fedcat.harvester.config_resolve.resolve` then loads the REST profiles and compiles the tagging
rules. :func:`config_from_dict` and :func:`load_config` do both. docs/config.md is the reference for users.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
import yaml.constructor

from .config_checks import check_config
from .config_schema import (
    ApiConfig,
    Audience,
    Backend,
    Config,
    HttpConfig,
    IndexConfig,
    LinkCheckConfig,
    OaiConfig,
    Policy,
    Protocol,
    RuleConfig,
    RuleMatch,
    RulesFile,
    SetTagging,
    SourceConfig,
    SourceTagging,
    TaggingConfig,
    TagValues,
)
from .errors import ConfigError
from .schema import validate
from .yaml_loader import SafeLoader

__all__ = [
    "ApiConfig", "Audience", "Backend", "Config", "ConfigError", "HttpConfig", "IndexConfig", "LinkCheckConfig",
    "OaiConfig", "Policy", "Protocol", "RuleConfig", "RuleMatch", "RulesFile", "SetTagging", "SourceConfig",
    "SourceTagging", "TagValues", "TaggingConfig", "config_from_dict", "load_config", "validate_config",
]


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read, validate and resolve a YAML config file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror}", path=str(p)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file is not UTF-8 text (byte {exc.start})", path=str(p)) from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", path=str(p)) from exc
    return config_from_dict(data if data is not None else {}, path=str(p))


class _StrictLoader(SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML requires unique keys)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def validate_config(data: Any, *, path: str | None = None) -> Config:
    """A parsed config mapping as a :class:`Config`, checked but not resolved: no file is read."""
    cfg = validate(Config, data, path=path)
    try:
        check_config(cfg)
    except ConfigError as exc:
        raise _in_file(exc, path) from None
    cfg.path = path
    return cfg


def config_from_dict(data: Any, *, path: str | None = None) -> Config:
    """Validate a parsed config mapping and resolve it (its profiles loaded, its rules compiled)."""
    # Imported here: the tagging package, which the resolution reads, imports this module.
    from .config_resolve import resolve

    cfg = validate_config(data, path=path)
    try:
        return resolve(cfg).config
    except ConfigError as exc:
        raise _in_file(exc, path) from None


def _in_file(exc: ConfigError, path: str | None) -> ConfigError:
    """``exc`` naming the config file, unless it names another file already (a profile's)."""
    if path and not exc.path:
        return ConfigError(exc.detail, key=exc.key, path=path)
    return exc
