"""Crosswalks: one module per payload format, each ``crosswalk(item, source, run_id) -> Record``."""

from __future__ import annotations

from collections.abc import Callable

from ..adapters.base import HarvestedItem
from ..config import SourceConfig
from ..errors import CrosswalkError
from ..model import Record
from . import datacite, dcat, iso19139, json_profile, oai_dc

Crosswalk = Callable[[HarvestedItem, SourceConfig, "int | None"], Record]

CROSSWALKS: dict[str, Crosswalk] = {
    "oai_dc": oai_dc.crosswalk,
    "oai_datacite": datacite.crosswalk,
    "datacite": datacite.crosswalk,
    "dcat": dcat.crosswalk,
    "rdf": dcat.crosswalk,
    "iso19139": iso19139.crosswalk,
    "gmd": iso19139.crosswalk,
}


def crosswalk_for(fmt: str, source_id: str) -> Crosswalk:
    """The crosswalk for a payload format; ``json:<profile>`` payloads are mapped by their source's profile."""
    if fmt.startswith("json:"):
        return json_profile.crosswalk
    try:
        return CROSSWALKS[fmt]
    except KeyError:
        known = ", ".join(sorted(CROSSWALKS))
        raise CrosswalkError(f"no crosswalk for format {fmt!r} (known: {known})", source_id=source_id) from None
