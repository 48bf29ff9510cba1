"""Demo federation: mock OAI-PMH data providers for Chinese national science data centers.

Deterministic bilingual corpus (:mod:`.corpus`), a real OAI-PMH 2.0 server with
fault injection (:mod:`.oai_server`) and :class:`DemoFederation`, which runs
one server per center on 127.0.0.1.
"""

from .corpus import DemoCenter, DemoRecord, demo_centers, generate_records
from .federation import DemoFederation
from .oai_server import FaultAction, FaultContext, OAIRepository, OAIServer

__all__ = [
    "DemoCenter",
    "DemoFederation",
    "DemoRecord",
    "FaultAction",
    "FaultContext",
    "OAIRepository",
    "OAIServer",
    "demo_centers",
    "generate_records",
]
