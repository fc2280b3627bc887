"""The ``ladle`` command: client commands go to ``ladle.client`` before anything of the server is
imported (a push starts in a fraction of the time), the rest to the server's ``ladle.cli``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ladle.client import COMMANDS as CLIENT_COMMANDS

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in CLIENT_COMMANDS:
        # httpx's package imports its own command-line tool (rich's syntax highlighting, pygments)
        # whenever click is installed, and falls back to a stub when that import fails. A client
        # command never runs that tool: a None entry makes the import fail, and start-up quicker.
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
        from ladle.client.commands import run

        return run(arguments)
    from ladle.cli import main as server_main

    return server_main(arguments)
