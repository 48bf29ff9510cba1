"""The checks between a config's keys, after its structure is validated: pure, no file is read.

Each raises :class:`ConfigError` naming the key (``sources[1].url``); the REST profiles and the
tagging rules are checked when the config is resolved (:mod:`.config_resolve`).
"""

from __future__ import annotations

import ipaddress
import re

from .config_schema import (
    Backend,
    Config,
    HttpConfig,
    IndexConfig,
    LinkCheckConfig,
    Protocol,
    SourceConfig,
    StoreBackend,
    StoreConfig,
)
from .errors import ConfigError
from .model import Security

_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_config(cfg: Config) -> None:
    """Every check between keys, in the order the file reads."""
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
        _check_source(src, i)
    if cfg.api.unknown_security not in (Security.GENERAL, Security.SENSITIVE, Security.IMPORTANT):
        raise ConfigError("must be general, sensitive or important", key="api.unknown_security")
    if cfg.index.backend is Backend.ELASTICSEARCH and not cfg.index.url:
        raise ConfigError("required when backend is elasticsearch", key="index.url")
    _check_http(cfg.http)
    _check_index(cfg.index)
    _check_store(cfg.store)
    _check_linkcheck(cfg.linkcheck)
    if not re.match(r"^[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z][A-Za-z0-9-]*)+$", cfg.oai.identifier_domain):
        raise ConfigError(f"{cfg.oai.identifier_domain!r} is not a domain name (OAI-PMH repository identifier, "
                          "such as catalog.example.cn)", key="oai.identifier_domain")
    for i, email in enumerate(cfg.oai.admin_emails):
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
            raise ConfigError(f"{email!r} is not an e-mail address", key=f"oai.admin_emails[{i}]")
    if cfg.workers < 1:
        raise ConfigError("must be at least 1", key="workers")


def _check_source(src: SourceConfig, i: int) -> None:
    if not re.match(r"^https?://", src.url):
        raise ConfigError(f"{src.url!r} is not an http(s) URL", key=f"sources[{i}].url")
    if src.schedule is not None:
        _check_cron(src.schedule, f"sources[{i}].schedule")
    if src.overlap_days < 0:
        raise ConfigError("must be 0 or more", key=f"sources[{i}].overlap_days")
    if src.subject_area is not None and not re.match(r"^[a-z][a-z0-9-]{0,63}$", src.subject_area):
        raise ConfigError(f"{src.subject_area!r} is not a subject area name (lower-case letters, digits and '-', "
                          "such as earth-science)", key=f"sources[{i}].subject_area")
    key = f"sources[{i}].profile"
    if src.protocol is Protocol.OAIPMH and src.profile is not None:
        raise ConfigError("only for protocol rest, ckan, dataverse or datacite", key=key)
    if src.protocol is Protocol.REST and src.profile is None:
        raise ConfigError("required for protocol rest: a profile name (e.g. sciencedb) or a YAML file", key=key)


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
    for name in ("max_retries", "replicas", "search_cache"):
        if getattr(index, name) < 0:
            raise ConfigError("must be 0 or more", key=f"index.{name}")
    if index.shards < 1:
        raise ConfigError("must be at least 1", key="index.shards")


def _check_store(store: StoreConfig) -> None:
    if store.lease_seconds < 1:
        raise ConfigError("must be at least 1 (seconds)", key="store.lease_seconds")
    if store.backend is StoreBackend.POSTGRESQL:
        if not store.url:
            raise ConfigError("required when backend is postgresql", key="store.url")
        if not re.match(r"^postgres(ql)?://", store.url):
            raise ConfigError("must be a postgresql:// URL", key="store.url")
    elif store.url is not None:
        raise ConfigError("only with backend: postgresql (the SQLite store lives in data_dir)", key="store.url")


def _check_linkcheck(lc: LinkCheckConfig) -> None:
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
    from apscheduler.triggers.cron import CronTrigger  # read only when a source has a schedule

    try:
        CronTrigger.from_crontab(expr)
    except ValueError as exc:
        raise ConfigError(f"not a valid crontab expression ({exc})", key=key) from None
