"""Which adapter harvests a source, and how a stored raw payload becomes an item again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config_schema import Protocol, SourceConfig
from .base import Adapter, HarvestedItem
from .http import HttpClient
from .oaipmh import OAIPMHAdapter
from .oaipmh import item_from_raw as oai_item_from_raw

if TYPE_CHECKING:
    from .rest.profile import Profile

# The REST adapter and its profiles are imported when a JSON source first needs them.


def build_adapter(source: SourceConfig, client: HttpClient) -> Adapter:
    """OAI-PMH sources get the OAI-PMH adapter; JSON APIs (rest, ckan, dataverse, datacite) the REST adapter."""
    if source.protocol is Protocol.OAIPMH:
        return OAIPMHAdapter(source, client)
    from .rest.adapter import RestAdapter

    return RestAdapter(source, client, _profile(source))


def is_json_format(fmt: str) -> bool:
    return fmt == "json" or fmt.startswith("json:")


def item_from_raw(raw: bytes, fmt: str, source: SourceConfig) -> HarvestedItem:
    """Rebuild a harvested item from its stored raw payload, by the payload's format."""
    if is_json_format(fmt):
        from .rest.adapter import item_from_json

        return item_from_json(raw, _profile(source))
    return oai_item_from_raw(raw, fmt)


def _profile(source: SourceConfig) -> Profile:
    from .rest.profile import profile_for

    return profile_for(source.id, source.profile)
