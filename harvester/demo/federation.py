"""A demo federation: one OAI-PMH server per mock national data center, plus JSON API centers.

Usage::

    with DemoFederation() as fed:          # ephemeral ports on 127.0.0.1
        sources = fed.source_configs()     # fedcat source config dicts

``DemoFederation(rest=True)`` (what ``fedcat demo`` runs) adds centers that
have no OAI-PMH, only a JSON API: a ScienceDB-shaped and a NODA-shaped one
(:data:`DEMO_REST_APIS`), harvested with the shipped profiles of those names.
The OAI-PMH centers then deposit some of their datasets with ScienceDB too
(:data:`DEPOSITING`, :func:`~.corpus.deposits`): the same DOI and CSTR, or a
center's CSTR-only record and ScienceDB's copy with a DOI and that CSTR, each
one search hit with two sources.

Run ``python -m fedcat.harvester.demo.federation --base-port 8101`` to serve
the federation until interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from .corpus import DemoCenter, DemoRecord, demo_centers, deposits, generate_records
from .oai_server import DeletedRecordPolicy, LandingFault, OAIRepository, OAIServer
from .rest_apis import demo_api, rest_centers
from .rest_server import RestServer

logger = logging.getLogger(__name__)

__all__ = ["DEMO_REST_APIS", "DemoFederation", "main"]

#: JSON API centers of the demo federation (``rest=True``), by shipped profile name.
DEMO_REST_APIS = ("sciencedb", "noda")


def _every(n: int, fault: str) -> LandingFault:
    """A stable choice of about one landing page in ``n``."""
    return lambda r: fault if zlib.crc32(r.local_id.encode("utf-8")) % n == 0 else None


#: Centers that deposit some of their datasets with ScienceDB (``rest=True``).
DEPOSITING = ("ncdc", "ngdc")
#: The discipline of each demo center (``sources[].subject_area``: the OAI-PMH ``area:`` sets).
SUBJECT_AREAS = {"ncdc": "earth-science", "ngdc": "life-science", "meteo": "atmospheric-science",
                 "marine": "marine-science", "hep": "physics"}

#: ``link_faults=True``: landing pages that hide behind a login (marine) or are gone (meteo),
#: although their records are declared open: what the link checker is for.
LINK_FAULTS: dict[str, LandingFault] = {"marine": _every(4, "login"), "meteo": _every(8, "gone")}


class DemoFederation:
    """Repositories and servers for :func:`demo_centers` (or given centers).

    Servers listen on 127.0.0.1, ports ``base_port + i`` when ``base_port`` is
    given, else ephemeral ports chosen at :meth:`start`.  ``repositories``
    and ``servers`` are dicts keyed by center id (in center order); they exist
    before :meth:`start`, so records can be modified or faults installed first.
    """

    def __init__(
        self,
        *,
        base_port: int | None = None,
        seed: int = 0,
        centers: Sequence[DemoCenter] | None = None,
        deleted_record: DeletedRecordPolicy = "persistent",
        rest: bool = False,
        link_faults: bool = False,
    ) -> None:
        self.centers: list[DemoCenter] = list(centers) if centers is not None else demo_centers()
        self.seed = seed
        self.base_port = base_port
        self.repositories: dict[str, OAIRepository] = {}
        self.servers: dict[str, OAIServer] = {}
        deposited: list[DemoRecord] = []
        for i, center in enumerate(self.centers):
            records = generate_records(center, seed)
            if rest and "sciencedb" in DEMO_REST_APIS and center.id in DEPOSITING:
                records, copies = deposits(center, records, rest_centers()["sciencedb"])
                deposited += copies
            repo = OAIRepository(center, records, deleted_record=deleted_record)
            self.repositories[center.id] = repo
            port = base_port + i if base_port is not None else 0
            self.servers[center.id] = OAIServer(repo, port=port)
            if link_faults and center.id in LINK_FAULTS:
                self.servers[center.id].landing_fault = LINK_FAULTS[center.id]
        #: JSON API centers, keyed by profile name (empty unless ``rest``)
        self.rest_servers: dict[str, RestServer] = {}
        for j, name in enumerate(DEMO_REST_APIS if rest else ()):
            port = base_port + len(self.centers) + j if base_port is not None else 0
            own = generate_records(rest_centers()[name]) + deposited if name == "sciencedb" else None
            self.rest_servers[name] = RestServer(demo_api(name, own), port=port)

    @property
    def server_count(self) -> int:
        return len(self.servers) + len(self.rest_servers)

    def start(self) -> DemoFederation:
        try:
            for server in self.servers.values():
                server.start()
            for rest_server in self.rest_servers.values():
                rest_server.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        for rest_server in self.rest_servers.values():
            rest_server.stop()

    def __enter__(self) -> DemoFederation:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def records(self, center_id: str) -> list[DemoRecord]:
        """Current records of one center (incl. deleted), in datestamp order."""
        return self.repositories[center_id].records()

    def source_configs(self) -> list[dict[str, object]]:
        """fedcat source config dicts, one per center (servers must be started)."""
        configs: list[dict[str, object]] = []
        for center in self.centers:
            server = self.servers[center.id]
            configs.append(
                {
                    "id": center.id,
                    "name": center.name_zh,
                    "name_en": center.name_en,
                    "protocol": "oaipmh",
                    "url": server.url,
                    "metadata_prefix": "oai_datacite" if "oai_datacite" in center.metadata_formats else "oai_dc",
                    "subject_area": SUBJECT_AREAS.get(center.id),
                }
            )
        for name, rest_server in self.rest_servers.items():
            rc = rest_centers()[name]
            configs.append({"id": rc.id, "name": rc.name_zh, "name_en": rc.name_en, "protocol": "rest",
                            "profile": name, "url": rest_server.url})
        return configs


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the demo federation on 127.0.0.1 until interrupted."""
    parser = argparse.ArgumentParser(description="Serve the fedcat demo OAI-PMH federation on 127.0.0.1")
    parser.add_argument("--base-port", type=int, default=8101, help="first port (0 = ephemeral ports)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deleted-record", choices=("no", "transient", "persistent"), default="persistent")
    parser.add_argument("--write-sources", type=Path, help="write the source configs as JSON to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    federation = DemoFederation(
        base_port=args.base_port or None, seed=args.seed, deleted_record=args.deleted_record, rest=True
    )
    with federation:
        for cfg in federation.source_configs():
            logger.info("%s %s -> %s", cfg["id"], cfg["name"], cfg["url"])
        if args.write_sources:
            args.write_sources.write_text(
                json.dumps(federation.source_configs(), ensure_ascii=False, indent=2), encoding="utf-8"
            )
            logger.info("wrote source configs to %s", args.write_sources)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            logger.info("shutting down")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
