"""The rich consoles the CLI prints with."""

from __future__ import annotations

import os

from rich.console import Console

#: Width of output that goes to a file or a pipe: tables are not cut to a terminal's 80 columns there.
PIPED_WIDTH = 160


def make_console(*, stderr: bool = False) -> Console:
    """A console as wide as the terminal; when the output is piped or redirected (and ``COLUMNS`` is
    not set), :data:`PIPED_WIDTH` wide, so table headers and ids are not truncated."""
    out = Console(stderr=stderr)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(stderr=stderr, width=PIPED_WIDTH)
    return out
