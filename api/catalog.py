"""The catalog: a config with its open store, index and harvester, shared by the CLI, API and scheduler."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from fedcat.harvester.config import Backend, Config, IndexConfig
from fedcat.harvester.errors import ConfigError
from fedcat.harvester.metrics.report import MetricsCache
from fedcat.harvester.pipeline.decisions import Decisions
from fedcat.harvester.pipeline.run import Harvester
from fedcat.harvester.store import RecordStore, open_store
from fedcat.index.base import SearchIndex
from fedcat.index.embedded import EmbeddedIndex
from fedcat.index.errors import IndexUnavailable

from .audience import visibility_for
from .snapshots import SnapshotAfterRun, refresh_after_link_check
from .translate import adopt_file

if TYPE_CHECKING:
    from fedcat.harvester.linkcheck.run import LinkCheckReport

log = logging.getLogger(__name__)

#: Secrets may come from the environment (a Kubernetes Secret, a compose .env) instead of the config file.
PASSWORD_ENV = "FEDCAT_ES_PASSWORD"
API_KEY_ENV = "FEDCAT_ES_API_KEY"


def elastic_settings(index: IndexConfig) -> IndexConfig:
    """The index settings with the secrets the environment gives where the file has none."""
    if not index.url:
        raise ConfigError("required when backend is elasticsearch", key="index.url")
    return replace(index, api_key=index.api_key or os.environ.get(API_KEY_ENV) or None,
                   password=index.password or os.environ.get(PASSWORD_ENV) or None)


def open_index(config: Config, *, required: bool = True) -> SearchIndex:
    """The configured index. An unreachable cluster is an error unless ``required`` is False
    (harvesting): then records stay pending and are indexed once the cluster is back."""
    if config.index.backend is Backend.EMBEDDED:
        return EmbeddedIndex(config.data_path / "index", write_process=config.index.write_process,
                             search_cache=config.index.search_cache)
    from fedcat.index.elastic import ElasticsearchIndex

    index = ElasticsearchIndex(elastic_settings(config.index))
    try:
        return index.open()
    except IndexUnavailable as exc:
        message = f"cannot use the Elasticsearch index at index.url = {config.index.url}: {exc}"
        if not required:
            log.warning("%s; harvested records stay pending until it is reachable", message)
            return index
        index.close()
        raise IndexUnavailable(message) from exc


@dataclass
class Catalog:
    config: Config
    store: RecordStore
    index: SearchIndex
    harvester: Harvester
    #: Each center's metrics tally, kept for the API and the web pages until that center changes.
    metrics: MetricsCache = field(init=False)
    #: Officers' decisions: overrides, four eyes, the review queue.
    decisions: Decisions = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = MetricsCache(self.store)
        self.decisions = Decisions(self.store, self.harvester)

    @classmethod
    def open(cls, config: Config, *, index_required: bool = True) -> Catalog:
        """Open the store and the index; ``index_required=False`` lets a harvest run while the cluster is down."""
        data = Path(config.data_path)
        data.mkdir(parents=True, exist_ok=True)
        index = open_index(config, required=index_required)
        store = open_store(config.store, data)
        adopt_file(store, data)  # a term table an earlier release kept beside the store
        harvester = Harvester(config, store, index)
        # what the public sees is published as it is indexed (the OAI-PMH provider serves it)
        harvester.feeder.publish_as = visibility_for(config.api.anonymous_audience, config.api.unknown_security)
        harvester.feeder.subject_areas = {s.id: s.subject_area for s in config.sources if s.subject_area}
        harvester.after_run = SnapshotAfterRun(store, config, lambda: harvester.clock())
        harvester.feeder.check()
        return cls(config=config, store=store, index=index, harvester=harvester)

    def check_links(self, source_id: str | None = None) -> LinkCheckReport:
        """Visit the links of records declared open (one source, or all), then bring the last run's metrics
        snapshot of each checked source up to date."""
        from fedcat.harvester.linkcheck.run import check_links  # loaded by the commands that check links only

        report = check_links(self.store, self.config, source_id)
        checked = [source_id] if source_id else [s.id for s in self.config.sources]
        refresh_after_link_check(self.store, self.config, self.harvester.clock(), checked)
        return report

    def close(self) -> None:
        self.harvester.close()
        self.index.close()
        self.store.close()
