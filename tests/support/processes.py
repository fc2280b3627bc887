"""Finding processes by what is in their environment (the marker a test gave them)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["processes_with_env"]


def processes_with_env(entries: list[str]) -> list[int]:
    """The pids whose environment holds any of ``entries`` (``NAME=value``) as a whole entry."""
    wanted = {entry.encode() for entry in entries}
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                environ = (proc / "environ").read_bytes()
            except OSError:
                continue
            if wanted.intersection(environ.split(b"\0")):
                found.append(int(proc.name))
    return found
