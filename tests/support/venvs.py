"""Separate virtual environments for real third-party clients (they pin their own dependencies)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["client_venv"]

CACHE = Path(os.environ.get("LADLE_TEST_CACHE", Path.home() / ".cache" / "ladle-tests"))


def client_venv(name: str, requirement: str) -> Path:
    """The python of a venv holding ``requirement``, built once and reused by later runs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    venv = CACHE / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers build it once between them
        if not marker.exists() or marker.read_text() != requirement:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
                check=True,
            )
            marker.write_text(requirement)
    return python
