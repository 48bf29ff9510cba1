"""The step after validation: a config's REST profiles are loaded and its tagging rules compiled.

:func:`resolve` reads the profile files (a mistake names ``sources[N].profile.<key>`` and the
profile's file) and compiles every rule (``sources[N].tagging.rules[M].when.content`` ...), so a
config with a mistake stops before anything runs. The validated config is left as it is; the result
holds a copy whose sources name the profile they use, and what was loaded beside it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .config_schema import Config, Protocol, SourceConfig
from .tagging.rules import CompiledRule, compile_rules

if TYPE_CHECKING:
    from .sources.rest.profile_schema import Profile


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A validated config with its profiles loaded and its rules compiled."""

    #: The config, each source's ``profile`` as used: a shipped profile's name or an absolute path.
    config: Config
    #: The profile of each JSON API source, by source id.
    profiles: Mapping[str, Profile]
    #: The compiled rules of the config, by key (``tagging.rules``, ``sources[0].tagging.sets[1].rules``).
    rules: Mapping[str, list[CompiledRule]]


def resolve(cfg: Config) -> Resolved:
    """Load each source's profile and compile every rule of ``cfg``, which is left unchanged."""
    base_dir = Path(cfg.path).resolve().parent if cfg.path else None
    rules: dict[str, list[CompiledRule]] = {}
    profiles: dict[str, Profile] = {}
    sources: list[SourceConfig] = []
    for i, src in enumerate(cfg.sources):
        key = f"sources[{i}].tagging"
        rules[f"{key}.rules"] = compile_rules(src.tagging.rules, f"{key}.rules")
        for j, st in enumerate(src.tagging.sets):
            rules[f"{key}.sets[{j}].rules"] = compile_rules(st.rules, f"{key}.sets[{j}].rules")
        if src.protocol is not Protocol.OAIPMH:
            ref, profiles[src.id] = _profile(src, i, base_dir)
            if ref != src.profile:
                src = dataclasses.replace(src, profile=ref)
        sources.append(src)
    rules["tagging.rules"] = compile_rules(cfg.tagging.rules, "tagging.rules")
    return Resolved(dataclasses.replace(cfg, sources=sources), profiles, rules)


def _profile(src: SourceConfig, i: int, base_dir: Path | None) -> tuple[str, Profile]:
    """The profile a JSON API source uses (the built-in adapter's unless it names one), and its reference:
    a shipped profile's name, or a file made absolute against the config's folder."""
    # Imported only for a source that needs a profile: an OAI-PMH federation never loads the REST modules.
    from .sources.rest.profile import BUILTIN_PROFILES, load_profile, resolve_ref

    ref = resolve_ref(src.profile if src.profile is not None else BUILTIN_PROFILES[src.protocol.value], base_dir)
    return ref, load_profile(ref, key=f"sources[{i}].profile")
