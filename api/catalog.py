"""The catalog: a config with its open store, index and harvester, shared by the CLI, API and scheduler."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from fedcat.harvester.config import Backend, Config
from fedcat.harvester.errors import ConfigError
from fedcat.harvester.pipeline import Harvester
from fedcat.harvester.store import RecordStore
from fedcat.index.base import SearchIndex
from fedcat.index.embedded import EmbeddedIndex

log = logging.getLogger(__name__)


def open_index(config: Config) -> SearchIndex:
    if config.index.backend is Backend.EMBEDDED:
        return EmbeddedIndex(config.data_path / "index")
    raise ConfigError("the elasticsearch backend is not available in this version", key="index.backend")


@dataclass
class Catalog:
    config: Config
    store: RecordStore
    index: SearchIndex
    harvester: Harvester

    @classmethod
    def open(cls, config: Config) -> Catalog:
        data = Path(config.data_path)
        data.mkdir(parents=True, exist_ok=True)
        store = RecordStore(data / "records.sqlite3")
        index = open_index(config)
        return cls(config=config, store=store, index=index, harvester=Harvester(config, store, index))

    def close(self) -> None:
        self.index.close()
        self.store.close()
