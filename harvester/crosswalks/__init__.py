"""Crosswalks: one module per payload format, each ``crosswalk(item, source, run_id) -> Record``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from ..config_schema import SourceConfig
from ..errors import CrosswalkError
from ..model import Record
from ..sources.base import HarvestedItem

Crosswalk = Callable[[HarvestedItem, SourceConfig, "int | None"], Record]

#: Payload format → the module whose ``crosswalk`` maps it. A module is imported when a source first
#: needs it, so a harvest of Dublin Core does not load the RDF library.
CROSSWALKS: dict[str, str] = {
    "oai_dc": "oai_dc",
    "oai_datacite": "datacite",
    "datacite": "datacite",
    "dcat": "dcat",
    "rdf": "dcat",
    "iso19139": "iso19139",
    "gmd": "iso19139",
}


def crosswalk_for(fmt: str, source_id: str) -> Crosswalk:
    """The crosswalk for a payload format; ``json:<profile>`` payloads are mapped by their source's profile."""
    if fmt.startswith("json:"):
        module = "json_profile"
    else:
        try:
            module = CROSSWALKS[fmt]
        except KeyError:
            known = ", ".join(sorted(CROSSWALKS))
            raise CrosswalkError(f"no crosswalk for format {fmt!r} (known: {known})", source_id=source_id) from None
    return cast(Crosswalk, importlib.import_module(f"{__name__}.{module}").crosswalk)
