"""Tagging: every record passes here before it is stored, and leaves with its access tags.

:mod:`.rules` loads and matches the rules (shipped in ``rules.yaml``, extended per
source and per set in the config); :mod:`.engine` weighs every signal by
precedence and records the evidence for each tag.
"""

from __future__ import annotations

from .engine import Clock, Override, RuleBook, SourceTagger, Tier, today

__all__ = ["Clock", "Override", "RuleBook", "SourceTagger", "Tier", "today"]
