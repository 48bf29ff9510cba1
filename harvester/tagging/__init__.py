"""Tagging: every record passes here before it is stored, and leaves with its access tags.

A tagger fills ``record.access`` (openness, geo scope, security) and records
the evidence for each value. Taggers run in order of increasing precedence;
the policy tagger is the fallback (a source's configured defaults, else
``unknown``).
"""

from __future__ import annotations

from .policy import PolicyTagger, Tagger, tag_record

__all__ = ["PolicyTagger", "Tagger", "tag_record"]
