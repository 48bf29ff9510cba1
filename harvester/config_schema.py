"""The federation's config file and the tagging rules files, as typed models.

Every key is declared here, with its type and default; the docstring under a key is its description
in the published JSON Schema (``fedcat schema config``, ``fedcat schema rules``). These models check
structure only: :mod:`.config_checks` adds the checks between keys, :mod:`.config_resolve` loads the
profiles and compiles the rules, and :mod:`.config` reads a file through both steps.
docs/config.md is the reference for users.
"""

from __future__ import annotations

from dataclasses import field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic.dataclasses import dataclass
from pydantic.json_schema import SkipJsonSchema

from .errors import ConfigError
from .model import Flag, GeoScope, Openness, Security
from .schema import NOT_A_KEY, SCHEMA, Bool, Dict, Float, Int, List, Str, json_schema


class Protocol(StrEnum):
    """How a source is harvested."""

    OAIPMH = "oaipmh"
    REST = "rest"  # a JSON API described by a profile (``profiles/``)
    CKAN = "ckan"
    DATAVERSE = "dataverse"
    DATACITE = "datacite"


class Backend(StrEnum):
    """Where the search index lives."""

    EMBEDDED = "embedded"
    ELASTICSEARCH = "elasticsearch"


class StoreBackend(StrEnum):
    """Where the record store lives."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class Audience(StrEnum):
    """Who is asking: what they may see."""

    PUBLIC_INTERNATIONAL = "public_international"
    PUBLIC_DOMESTIC = "public_domestic"
    REGISTERED = "registered"
    OFFICER = "officer"


@dataclass(config=SCHEMA)
class Policy:
    """Per-source defaults for the access tags, used when nothing more specific is known."""

    openness: Openness = Openness.UNKNOWN
    geo_scope: GeoScope = GeoScope.UNKNOWN
    security: Security = Security.UNKNOWN


@dataclass(config=SCHEMA)
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

    statement: Str | None = None
    """Searched in the record's access statements (a named group ``date`` captures an embargo end)."""
    fields: List[Str] = field(default_factory=list)
    """Statement fields read (shell-style patterns; ``!pattern`` leaves fields out)."""
    licence: Str | None = None
    """Searched in the normalised licence id."""
    content: Str | None = None
    """Searched in titles, descriptions and subjects."""
    context: List[Str] = field(default_factory=list)
    """Patterns that must also match the content."""
    unless: Str | None = None
    """Cancels the match when found (in the statement, or anywhere in the content)."""


@dataclass(config=SCHEMA)
class TagValues:
    """The tag values a rule proposes."""

    openness: Openness | None = None
    geo_scope: GeoScope | None = None
    security: Security | None = None


@dataclass(config=SCHEMA)
class RuleConfig:
    """One tagging rule: when ``when`` matches, propose the tags in ``set`` and add ``flags``.

    A rule with a ``statement`` clause reads what the source record says about itself (an
    explicit field: eu-repo and COAR URIs, 密级, 开放共享 …) and outranks rules that infer from
    the licence or the content.
    """

    id: Str
    """The rule's id; a rule with the id of another replaces it."""
    when: RuleMatch
    set: TagValues = field(default_factory=TagValues)
    flags: List[Flag] = field(default_factory=list)
    after_embargo: Openness | None = None
    """The openness once the embargo has ended (required with ``openness: embargoed``)."""
    note: Str | None = None


@dataclass(config=SCHEMA)
class RulesFile:
    """A tagging rules file (``tagging.rules_file``, or the shipped ``rules.yaml``)."""

    rules: List[RuleConfig]


@dataclass(config=SCHEMA)
class SetTagging:
    """Tagging overrides for the records of one OAI-PMH set of a source."""

    set: Str
    """The setSpec."""
    policy: Policy = field(default_factory=Policy)
    """Replaces the source policy for the tags it sets."""
    rules: List[RuleConfig] = field(default_factory=list)
    disable: List[Str] = field(default_factory=list)


@dataclass(config=SCHEMA)
class SourceTagging:
    """Per-source tagging: extra rules, rules switched off, per-set overrides."""

    rules: List[RuleConfig] = field(default_factory=list)
    """Extra rules for this source (a rule with a shipped rule's id replaces it)."""
    disable: List[Str] = field(default_factory=list)
    """Ids of shipped or federation rules switched off for this source."""
    sets: List[SetTagging] = field(default_factory=list)


@dataclass(config=SCHEMA)
class TaggingConfig:
    """Federation-wide tagging: ``rules_file`` replaces the shipped rules, ``rules`` are added."""

    rules_file: Str | None = None
    rules: List[RuleConfig] = field(default_factory=list)


@dataclass(config=SCHEMA)
class SourceConfig:
    """One source to harvest."""

    id: Str
    """Stable id: lower-case letters, digits, ``-`` and ``_``; record ids are ``<id>:<local identifier>``."""
    name: Str
    """The center's name (Chinese)."""
    url: Str
    """The endpoint (http or https); for JSON APIs the base URL the profile's paths are appended to."""
    protocol: Protocol = Protocol.OAIPMH
    name_en: Str | None = None
    """The center's English name."""
    metadata_prefix: Str | None = None
    """OAI-PMH format; chosen from ListMetadataFormats when absent."""
    sets: List[Str] = field(default_factory=list)
    """Harvest only these OAI sets."""
    schedule: Str | None = None
    """When ``fedcat schedule`` harvests it: a crontab expression (UTC)."""
    enabled: Bool = True
    policy: Policy = field(default_factory=Policy)
    min_delay: Float | None = None
    """Minimum delay (s) between two requests to this source's host (default: ``http.min_delay``)."""
    delete_by_absence: Bool = True
    overlap_days: Float = 1.0
    """OAI-PMH: an incremental harvest starts this many days before the last run's newest datestamp."""
    tagging: SourceTagging = field(default_factory=SourceTagging)
    profile: Str | None = None
    """JSON APIs: a shipped profile's name or a YAML file (relative to the config file)."""
    query: Dict[Str] = field(default_factory=dict)
    """JSON APIs: extra parameters for every listing request."""
    subject_area: Str | None = None
    """The discipline the center covers (``earth-science``, ``life-science``): its datasets are in the
    OAI-PMH set ``area:<subject_area>``."""


@dataclass(config=SCHEMA)
class HttpConfig:
    """Transport settings shared by every source."""

    connect_timeout: Float = 10.0
    read_timeout: Float = 60.0
    max_retries: Int = 5
    backoff_base: Float = 1.0
    backoff_max: Float = 60.0
    retry_after_max: Float = 300.0
    min_delay: Float = 0.0
    max_response_bytes: Int = 100 * 1024 * 1024
    contact: Str | None = None
    """Contact address added to the User-Agent."""
    response_deadline: Float = 300.0
    """Total time one response may take, headers and body, however steadily its bytes trickle in."""
    page_deadline: Float = 900.0
    """Total time one request may take with its retries and their waits; then it fails."""
    retry_budget: Int = 50
    """Retries a source may spend in a run before its first successful request ..."""
    retry_budget_per_success: Float = 1.0
    """... plus this many for every successful request of the run ..."""
    retry_budget_max: Int = 10000
    """... never more than this in one run."""


@dataclass(config=SCHEMA)
class ElasticSettings:
    """How to reach an Elasticsearch cluster and shape its indices: the ``index:`` keys for
    ``backend: elasticsearch``, and what :class:`fedcat.index.elastic.ElasticsearchIndex` is given."""

    url: Str | None = None
    """The Elasticsearch cluster (several nodes separated by commas); required for ``elasticsearch``."""
    api_key: Str | None = None
    """Or the environment variable FEDCAT_ES_API_KEY."""
    username: Str | None = None
    password: Str | None = None
    """Or the environment variable FEDCAT_ES_PASSWORD."""
    ca_certs: Str | None = None
    index_prefix: Str = "fedcat"
    timeout: Float = 30.0
    max_retries: Int = 3
    shards: Int = 1
    replicas: Int = 1


@dataclass(config=SCHEMA)
class IndexConfig(ElasticSettings):
    """The search index."""

    backend: Backend = Backend.EMBEDDED
    write_process: Bool = False
    """Embedded index: build documents and write them in a child process (faster, more memory)."""
    search_cache: Int = 256
    """Embedded index: answers to repeated searches kept until the index changes (first pages and facet
    counts; 0 keeps none)."""


@dataclass(config=SCHEMA)
class StoreConfig:
    """The record store: SQLite in the data folder (the default), or a PostgreSQL database."""

    backend: StoreBackend = StoreBackend.SQLITE
    url: Str | None = None
    """PostgreSQL: the database's connection URL (``postgresql://user@host:5432/fedcat``); required then."""
    lease_seconds: Float = 120.0
    """How long a harvest holds its source without a sign of life: a process that stops renewing its
    lease (killed, or cut off from the store) loses the source to the next run after this long."""


@dataclass(config=SCHEMA)
class ApiConfig:
    """The HTTP API and the web pages."""

    host: Str = "127.0.0.1"
    port: Int = 8000
    anonymous_audience: Audience = Audience.PUBLIC_INTERNATIONAL
    unknown_security: Security = Security.GENERAL
    """The level a record with ``unknown`` security is shown as (``general``: visible to everyone)."""


@dataclass(config=SCHEMA)
class OaiConfig:
    """fedcat as an OAI-PMH data provider (``/oai``): how it names itself to the aggregators harvesting it."""

    repository_name: Str = "fedcat: 中国科学数据联邦目录 Federated catalog of Chinese science data"
    admin_emails: List[Str] = field(default_factory=list)
    """Who runs this catalog (Identify's ``adminEmail``); say at least one."""
    identifier_domain: Str = "fedcat.local"
    """The repository identifier in item identifiers (``oai:<domain>:<dataset key>``): the catalog's domain
    name. Keep it once published: harvesters know the items by it."""


@dataclass(config=SCHEMA)
class LinkCheckConfig:
    """``fedcat linkcheck``: how the landing pages and access URLs of open records are visited."""

    timeout: Float = 10.0
    max_redirects: Int = 5
    min_delay: Float = 1.0
    workers: Int = 4
    allow_networks: List[Str] = field(default_factory=list)
    """Networks (CIDR) the checker may contact although they are loopback/private/link-local/multicast."""
    only_hosts: List[Str] = field(default_factory=list)
    """When not empty, the only hosts visited; links elsewhere are left unchecked."""


@dataclass(config=SCHEMA)
class Config:
    """A fedcat federation: the sources to harvest, and how to harvest, index and serve them."""

    data_dir: Str = "./fedcat-data"
    """Where the record store (unless it is PostgreSQL: ``store``) and the embedded index live;
    relative to the config file's folder."""
    sources: List[SourceConfig] = field(default_factory=list)
    http: HttpConfig = field(default_factory=HttpConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    tagging: TaggingConfig = field(default_factory=TaggingConfig)
    linkcheck: LinkCheckConfig = field(default_factory=LinkCheckConfig)
    oai: OaiConfig = field(default_factory=OaiConfig)
    workers: Int = 4
    """Sources harvested at the same time."""
    map_process: Bool = False
    """Crosswalk and tag pages in a child process (faster, more memory)."""
    path: SkipJsonSchema[Str | None] = field(default=None, metadata=NOT_A_KEY)  # the file it was read from

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


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file (``fedcat schema config``)."""
    return json_schema(Config, title="fedcat config",
                       description="The fedcat federation config: sources, transport, index, API (docs/config.md).")


def rules_json_schema() -> dict[str, Any]:
    """The JSON Schema of a tagging rules file (``fedcat schema rules``)."""
    return json_schema(RulesFile, title="fedcat tagging rules",
                       description="A fedcat tagging rules file (docs/tagging.md).")
