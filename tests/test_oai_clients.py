"""Third-party OAI-PMH clients list fedcat's provider: Sickle used plainly and oaipmh-scythe (its maintained
successor), the whole catalog and then incrementally with ``from``, in which a tag change and a dataset
leaving the public's sight show up. (pyoai 2.5.0, the other common client, cannot parse any answer with
lxml 6: it calls an XPath method lxml no longer has.)"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from oaipmh_scythe import HTTPConfig, Scythe
from sickle import Sickle

from fedcat.api.oai import provider as oai_provider
from fedcat.harvester.demo import OAIServer

from .conftest import source_for
from .test_oai_provider import Oai, hide, public_members, serving


@pytest.fixture
def oai(oai_server: OAIServer, catalog_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Oai:
    monkeypatch.setattr(oai_provider, "PAGE_SIZE", 40)  # several pages: the clients follow the tokens
    cat = catalog_factory([source_for(oai_server, "example", policy={})],
                          oai={"admin_emails": ["data@catalog.example.cn"], "identifier_domain": "catalog.example.cn"})
    cat.harvester.harvest()
    return Oai(cat)


def test_sickle_and_pyoai_list_the_catalog_then_only_what_changed(oai: Oai) -> None:
    prefix = "oai:catalog.example.cn:"
    want = {prefix + k for k in public_members(oai.catalog)}
    with serving(oai.app) as url:
        sickle = Sickle(f"{url}/oai", timeout=30)
        listed = [h.identifier for h in sickle.ListIdentifiers(metadataPrefix="oai_dc")]
        assert len(listed) == len(set(listed)) and set(listed) == want
        assert sickle.Identify().deletedRecord == "persistent"

        scythe = Scythe(f"{url}/oai", http_config=HTTPConfig(timeout=30))
        records = list(scythe.list_records(metadata_prefix="oai_dc"))
        assert {r.header.identifier for r in records} == want
        assert all(r.metadata.get("title") for r in records)

        time.sleep(1.1)  # datestamps are to the second
        since = datetime.now(UTC).replace(microsecond=0)
        changed_key, gone_key = sorted(public_members(oai.catalog))[:2]
        (group,) = oai.catalog.store.indexing.groups([changed_key])
        lead = group.members[0]
        lead.access.openness = type(lead.access.openness)("metadata_only")  # a tag changes
        oai.catalog.store.records.retag([lead])
        oai.catalog.harvester.feeder.catch_up()
        hide(oai, sorted(public_members(oai.catalog)[gone_key]))  # a dataset leaves the public's sight

        stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        fresh = {h.identifier: h.deleted for h in sickle.ListIdentifiers(metadataPrefix="oai_dc", **{"from": stamp})}
        assert fresh == {prefix + changed_key: False, prefix + gone_key: True}
        headers = {h.identifier: h.deleted for h in scythe.list_identifiers(from_=stamp, metadata_prefix="oai_dc")}
        assert headers == fresh
        scythe.close()
