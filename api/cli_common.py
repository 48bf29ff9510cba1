"""What every CLI module shares: the config a command reads, and command lines printed as hints.

The subcommand modules (``cli_metrics``, ``cli_officer``, ``cli_status``) import these from here, not from
the main module that registers them, so no CLI module imports another back.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path

from fedcat.harvester.config import Config, load_config
from fedcat.harvester.errors import FedcatError

DEFAULT_CONFIG = "fedcat.yaml"
#: What the hints print when the command the user ran cannot be told.
FALLBACK_COMMAND = "fedcat"


def config_path(args: argparse.Namespace) -> Path:
    """The config file the command reads: ``--config``, else ``$FEDCAT_CONFIG``, else ./fedcat.yaml."""
    path = args.config or os.environ.get("FEDCAT_CONFIG")
    if not path:
        if Path(DEFAULT_CONFIG).exists():
            path = DEFAULT_CONFIG
        else:
            raise FedcatError(f"no config: pass --config FILE, set FEDCAT_CONFIG, or create ./{DEFAULT_CONFIG}")
    return Path(path)


def _config(args: argparse.Namespace) -> Config:
    return load_config(config_path(args))


def invoked_command(argv0: str | None = None, cwd: Path | None = None) -> str:
    """The command the user ran fedcat with, for hints that must run verbatim when pasted.

    ``.venv/bin/fedcat`` (relative) when the script is under the current folder, its absolute path
    when elsewhere, ``fedcat`` when that very script is what ``fedcat`` finds on ``PATH`` or when the
    command cannot be told; ``python -m fedcat.api.cli`` (that interpreter) when run as a module.
    """
    arg = sys.argv[0] if argv0 is None else argv0
    here = cwd or Path.cwd()
    if not arg or arg in ("-c", "-m"):
        return FALLBACK_COMMAND
    script = Path(os.path.abspath(here / arg))
    if script.suffix == ".py" and script.resolve() == Path(__file__).with_name("cli.py").resolve():
        return f"{_runnable_path(Path(sys.executable), here)} -m fedcat.api.cli"
    if not script.name.startswith("fedcat") or not script.is_file():
        return FALLBACK_COMMAND
    found = shutil.which(script.name)
    if found and Path(found).resolve() == script.resolve():
        return shlex.quote(script.name)
    return _runnable_path(script, here)


def _runnable_path(path: Path, cwd: Path) -> str:
    """``path`` relative to ``cwd`` when under it (``.venv/bin/fedcat``, ``./fedcat``), else absolute."""
    try:
        rel = path.relative_to(cwd.absolute())
    except ValueError:
        return shlex.quote(str(path))
    return shlex.quote(str(rel) if rel.parent != Path(".") else f"./{rel}")


def shell_word(word: str) -> str:
    """``word`` as one shell word: left as it is when safe (CJK letters are), else single-quoted."""
    if word and all(ch.isalnum() or ch in "@%+=:,./-_" for ch in word):
        return word
    return shlex.quote(word)


def command_line(args: argparse.Namespace, *words: str) -> str:
    """A fedcat command line to print as a hint: the command the user ran, their ``--config``, ``words``."""
    parts = [invoked_command()]
    if args.config:
        parts += ["--config", shell_word(args.config)]
    return " ".join([*parts, *(shell_word(w) for w in words)])
