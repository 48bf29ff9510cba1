"""The federation's YAML configuration, loaded into typed dataclasses.

Every key is declared here; an unknown key, a wrong type or a missing
required field raises :class:`ConfigError` naming the key
(``sources[1].url``). docs/config.md is the reference for users.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Union

import yaml
import yaml.constructor

from .errors import ConfigError
from .model import Flag, GeoScope, Openness, Security
from .yaml_loader import SafeLoader


class Protocol(StrEnum):
    OAIPMH = "oaipmh"
    REST = "rest"  # a JSON API described by a profile (``profiles/``)
    CKAN = "ckan"
    DATAVERSE = "dataverse"
    DATACITE = "datacite"


class Backend(StrEnum):
    EMBEDDED = "embedded"
    ELASTICSEARCH = "elasticsearch"


class Audience(StrEnum):
    PUBLIC_INTERNATIONAL = "public_international"
    PUBLIC_DOMESTIC = "public_domestic"
    REGISTERED = "registered"
    OFFICER = "officer"


@dataclass
class Policy:
    """Per-source defaults for the access tags, used when nothing more specific is known."""

    openness: Openness = Openness.UNKNOWN
    geo_scope: GeoScope = GeoScope.UNKNOWN
    security: Security = Security.UNKNOWN


@dataclass
class RuleMatch:
    """What a tagging rule looks for; every key given must match (regular expressions, any case).

    ``statement`` is searched in the record's access statements (restricted to ``fields``,
    shell-style patterns, when given; ``!pattern`` leaves those fields out); ``licence`` in the
    normalised licence id; ``content`` in titles, descriptions and subjects, and every pattern of
    ``context`` must then match there too (words that must also be present: a genome *and* a
    human population). ``unless`` cancels the
    match when it is found: in the same statement for a statement rule, anywhere in the
    content for a content rule. Every pattern reads folded text (one script, one width: see
    ``harvester/tagging/normalise.py``). A named group ``date`` captures an embargo end.
    """

    statement: str | None = None
    fields: list[str] = field(default_factory=list)
    licence: str | None = None
    content: str | None = None
    context: list[str] = field(default_factory=list)
    unless: str | None = None


@dataclass
class TagValues:
    openness: Openness | None = None
    geo_scope: GeoScope | None = None
    security: Security | None = None


@dataclass
class RuleConfig:
    """One tagging rule: when ``when`` matches, propose the tags in ``set`` and add ``flags``.

    A rule with a ``statement`` clause reads what the source record says about itself (an
    explicit field: eu-repo and COAR URIs, 密级, 开放共享 …) and outranks rules that infer from
    the licence or the content.
    """

    id: str
    when: RuleMatch
    set: TagValues = field(default_factory=TagValues)
    flags: list[Flag] = field(default_factory=list)
    after_embargo: Openness | None = None
    note: str | None = None


@dataclass
class SetTagging:
    """Tagging overrides for the records of one OAI-PMH set of a source."""

    set: str
    policy: Policy = field(default_factory=Policy)
    rules: list[RuleConfig] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)


@dataclass
class SourceTagging:
    """Per-source tagging: extra rules, rules switched off, per-set overrides."""

    rules: list[RuleConfig] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    sets: list[SetTagging] = field(default_factory=list)


@dataclass
class TaggingConfig:
    """Federation-wide tagging: ``rules_file`` replaces the shipped rules, ``rules`` are added."""

    rules_file: str | None = None
    rules: list[RuleConfig] = field(default_factory=list)


@dataclass
class SourceConfig:
    id: str
    name: str
    url: str
    protocol: Protocol = Protocol.OAIPMH
    name_en: str | None = None
    metadata_prefix: str | None = None
    sets: list[str] = field(default_factory=list)
    schedule: str | None = None
    enabled: bool = True
    policy: Policy = field(default_factory=Policy)
    min_delay: float | None = None
    delete_by_absence: bool = True
    overlap_days: float = 1.0
    tagging: SourceTagging = field(default_factory=SourceTagging)
    profile: str | None = None
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class HttpConfig:
    """Transport settings shared by every source."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    retry_after_max: float = 300.0
    min_delay: float = 0.0
    max_response_bytes: int = 100 * 1024 * 1024
    contact: str | None = None
    #: Total time one response may take, headers and body, however steadily its bytes trickle in.
    response_deadline: float = 300.0
    #: Total time one request may take with its retries and their waits; then it fails.
    page_deadline: float = 900.0
    #: Retries a source may spend in a run before its first successful request ...
    retry_budget: int = 50
    #: ... plus this many for every successful request of the run ...
    retry_budget_per_success: float = 1.0
    #: ... never more than this in one run.
    retry_budget_max: int = 10000


@dataclass
class IndexConfig:
    backend: Backend = Backend.EMBEDDED
    url: str | None = None
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_certs: str | None = None
    index_prefix: str = "fedcat"
    timeout: float = 30.0
    max_retries: int = 3
    shards: int = 1
    replicas: int = 1
    #: Embedded index: build documents and write them in a child process (faster, more memory).
    write_process: bool = False


@dataclass
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    anonymous_audience: Audience = Audience.PUBLIC_INTERNATIONAL
    #: The level a record with ``unknown`` security is shown as (``general``: visible to everyone).
    unknown_security: Security = Security.GENERAL


@dataclass
class LinkCheckConfig:
    """``fedcat linkcheck``: how the landing pages and access URLs of open records are visited."""

    timeout: float = 10.0
    max_redirects: int = 5
    min_delay: float = 1.0
    workers: int = 4
    #: Networks (CIDR) the checker may contact although they are loopback/private/link-local/multicast.
    allow_networks: list[str] = field(default_factory=list)
    #: When not empty, the only hosts visited; links elsewhere are left unchecked.
    only_hosts: list[str] = field(default_factory=list)


@dataclass
class Config:
    data_dir: str = "./fedcat-data"
    sources: list[SourceConfig] = field(default_factory=list)
    http: HttpConfig = field(default_factory=HttpConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    tagging: TaggingConfig = field(default_factory=TaggingConfig)
    linkcheck: LinkCheckConfig = field(default_factory=LinkCheckConfig)
    workers: int = 4
    #: Crosswalk and tag pages in a child process (faster, more memory).
    map_process: bool = False
    path: str | None = field(default=None, metadata={"config_key": False})  # the file it was read from

    @property
    def data_path(self) -> Path:
        """``data_dir`` resolved against the config file's folder when relative."""
        p = Path(self.data_dir).expanduser()
        if not p.is_absolute() and self.path:
            p = Path(self.path).resolve().parent / p
        return p

    def source(self, source_id: str) -> SourceConfig:
        for s in self.sources:
            if s.id == source_id:
                return s
        known = ", ".join(s.id for s in self.sources) or "none"
        raise ConfigError(f"no source with this id (known: {known})", key=source_id)


_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a YAML config file."""
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


def config_from_dict(data: Any, *, path: str | None = None) -> Config:
    """Validate a parsed config mapping."""
    try:
        cfg: Config = _build(Config, data, "")
        _check(cfg, path)
    except ConfigError as exc:
        if path and not exc.path:
            raise ConfigError(exc.detail, key=exc.key, path=path) from None
        raise
    cfg.path = path
    return cfg


def _check(cfg: Config, path: str | None) -> None:
    base_dir = Path(path).resolve().parent if path else None
    seen: set[str] = set()
    for i, src in enumerate(cfg.sources):
        key = f"sources[{i}].id"
        if not _SOURCE_ID.match(src.id):
            raise ConfigError(
                f"{src.id!r} is not a valid source id (lower-case letters, digits, '-' and '_')", key=key
            )
        if src.id in seen:
            raise ConfigError(f"duplicate source id {src.id!r}", key=key)
        seen.add(src.id)
        if not re.match(r"^https?://", src.url):
            raise ConfigError(f"{src.url!r} is not an http(s) URL", key=f"sources[{i}].url")
        if src.schedule is not None:
            _check_cron(src.schedule, f"sources[{i}].schedule")
        if src.overlap_days < 0:
            raise ConfigError("must be 0 or more", key=f"sources[{i}].overlap_days")
        _check_source_tagging(src.tagging, f"sources[{i}].tagging")
        _check_profile(src, i, base_dir)
    _check_rules(cfg.tagging.rules, "tagging.rules")
    if cfg.api.unknown_security not in (Security.GENERAL, Security.SENSITIVE, Security.IMPORTANT):
        raise ConfigError("must be general, sensitive or important", key="api.unknown_security")
    if cfg.index.backend is Backend.ELASTICSEARCH and not cfg.index.url:
        raise ConfigError("required when backend is elasticsearch", key="index.url")
    _check_http(cfg.http)
    _check_index(cfg.index)
    _check_linkcheck(cfg.linkcheck)
    if cfg.workers < 1:
        raise ConfigError("must be at least 1", key="workers")


def _check_source_tagging(tagging: SourceTagging, key: str) -> None:
    _check_rules(tagging.rules, f"{key}.rules")
    for j, st in enumerate(tagging.sets):
        _check_rules(st.rules, f"{key}.sets[{j}].rules")


def _check_rules(rules: list[RuleConfig], key: str) -> None:
    from .tagging.rules import compile_rules  # the tagging package imports this module

    compile_rules(rules, key)


def _check_profile(src: SourceConfig, i: int, base_dir: Path | None) -> None:
    """A REST source needs a profile (built-in adapters have one); it is loaded now so mistakes show at once."""
    from .rest.profile import BUILTIN_PROFILES, load_profile, resolve_ref

    key = f"sources[{i}].profile"
    if src.protocol is Protocol.OAIPMH:
        if src.profile is not None:
            raise ConfigError("only for protocol rest, ckan, dataverse or datacite", key=key)
        return
    if src.profile is None:
        if src.protocol is Protocol.REST:
            raise ConfigError("required for protocol rest: a profile name (e.g. sciencedb) or a YAML file",
                              key=key)
        src.profile = BUILTIN_PROFILES[src.protocol.value]
    src.profile = resolve_ref(src.profile, base_dir)
    load_profile(src.profile, key=key)


def _check_http(http: HttpConfig) -> None:
    for name in ("response_deadline", "page_deadline"):
        if getattr(http, name) <= 0:
            raise ConfigError("must be greater than 0", key=f"http.{name}")
    for name in ("retry_budget", "retry_budget_per_success"):
        if getattr(http, name) < 0:
            raise ConfigError("must be 0 or more", key=f"http.{name}")
    if http.retry_budget_max < http.retry_budget:
        raise ConfigError(f"must be at least http.retry_budget ({http.retry_budget})", key="http.retry_budget_max")


def _check_index(index: IndexConfig) -> None:
    for url in (index.url or "").split(","):
        if index.url is not None and not re.match(r"^https?://", url.strip()):
            raise ConfigError(f"{url.strip()!r} is not an http(s) URL (several are separated by commas)",
                              key="index.url")
    if not re.match(r"^[a-z0-9][a-z0-9_-]{0,63}$", index.index_prefix):
        raise ConfigError(f"{index.index_prefix!r} is not a valid index prefix "
                          "(lower-case letters, digits, '-' and '_')", key="index.index_prefix")
    if index.timeout <= 0:
        raise ConfigError("must be greater than 0", key="index.timeout")
    for name in ("max_retries", "replicas"):
        if getattr(index, name) < 0:
            raise ConfigError("must be 0 or more", key=f"index.{name}")
    if index.shards < 1:
        raise ConfigError("must be at least 1", key="index.shards")


def _check_linkcheck(lc: LinkCheckConfig) -> None:
    import ipaddress

    for i, net in enumerate(lc.allow_networks):
        try:
            ipaddress.ip_network(net.strip(), strict=False)
        except ValueError:
            raise ConfigError(f"{net!r} is not a network (CIDR such as 127.0.0.0/8 or ::1/128)",
                              key=f"linkcheck.allow_networks[{i}]") from None
    for i, host in enumerate(lc.only_hosts):
        _check_host(host, f"linkcheck.only_hosts[{i}]")
    if lc.timeout <= 0:
        raise ConfigError("must be greater than 0", key="linkcheck.timeout")
    if lc.max_redirects < 0 or lc.min_delay < 0:
        raise ConfigError("must be 0 or more", key="linkcheck.max_redirects" if lc.max_redirects < 0
                          else "linkcheck.min_delay")
    if lc.workers < 1:
        raise ConfigError("must be at least 1", key="linkcheck.workers")


def _check_host(host: str, key: str) -> None:
    """A bare host name or IP literal, as a URL's host part (no scheme, port or path)."""
    import ipaddress

    if ":" not in host:  # only an IPv6 literal has one
        ok = re.fullmatch(r"[A-Za-z0-9_.-]+", host) is not None
    else:
        try:
            ipaddress.IPv6Address(host.strip("[]"))
            ok = True
        except ValueError:
            ok = False
    if not ok:
        raise ConfigError(f"{host!r} is not a host (a name or IP address, without scheme or port)", key=key)


def _check_cron(expr: str, key: str) -> None:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr)
    except ValueError as exc:
        raise ConfigError(f"not a valid crontab expression ({exc})", key=key) from None


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and issubclass(tp, StrEnum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    origin = typing.get_origin(tp)
    if origin is list:
        return "a list"
    if origin is dict:
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _build(tp: Any, value: Any, key: str) -> Any:
    """Coerce ``value`` into type ``tp``, raising ConfigError naming ``key``."""
    if tp is Any:  # free-form data (a JSON body template): kept as parsed
        return value
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _build(args[0], value, key)
    if dataclasses.is_dataclass(tp):
        assert isinstance(tp, type)
        if not isinstance(value, dict):
            raise ConfigError(f"expected a mapping, got {type(value).__name__}", key=key or "(top level)")
        hints = typing.get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp) if f.metadata.get("config_key", True)}
        for k in value:
            if k not in fields:
                allowed = ", ".join(sorted(fields))
                raise ConfigError(f"unknown key (allowed: {allowed})", key=_join(key, str(k)))
        kwargs: dict[str, Any] = {}
        for name, f in fields.items():
            sub = _join(key, name)
            if name in value:
                kwargs[name] = _build(hints[name], value[name], sub)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError("required key is missing", key=sub)
        return tp(**kwargs)
    if origin is dict:
        key_tp, item = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"expected a mapping, got {type(value).__name__}", key=key)
        return {_build(key_tp, k, _join(key, str(k))): _build(item, v, _join(key, str(k))) for k, v in value.items()}
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"expected a list, got {type(value).__name__}", key=key)
        return [_build(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(tp, type) and issubclass(tp, StrEnum):
        try:
            return tp(value)
        except ValueError:
            raise ConfigError(f"{value!r} is not {_type_name(tp)}", key=key) from None
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"expected true or false, got {value!r}", key=key)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"expected an integer, got {value!r}", key=key)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"expected a number, got {value!r}", key=key)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"expected a string, got {value!r}", key=key)
        return value
    raise ConfigError(f"unsupported type {tp!r}", key=key)  # pragma: no cover - schema bug


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
