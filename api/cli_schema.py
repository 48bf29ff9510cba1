"""``fedcat schema config|profile|rules``: the JSON Schema of a file fedcat reads.

Editors use it to complete and check a config, a REST profile or a tagging rules file as it is
written (docs/profiles.md); the schema comes from the same models that validate the files.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

#: What ``fedcat schema`` can print.
KINDS = ("config", "profile", "rules")


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of the config file, a REST profile or a tagging rules file."""
    # The models load for this command only: other commands need not build the profile's.
    if kind == "profile":
        from fedcat.harvester.sources.rest.profile_schema import profile_json_schema

        return profile_json_schema()
    from fedcat.harvester.config_schema import config_json_schema, rules_json_schema

    return config_json_schema() if kind == "config" else rules_json_schema()


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(args.kind), ensure_ascii=False, indent=2))
    return 0


def add_parsers(sub: Any) -> None:
    sc = sub.add_parser("schema", help="print the JSON Schema of the config file, a REST profile or a tagging "
                        "rules file (for editors)")
    sc.add_argument("kind", choices=KINDS, help="which file: config, profile or rules")
    sc.set_defaults(fn=cmd_schema)
