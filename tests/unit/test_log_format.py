"""``ladle serve`` writes readable lines to a terminal and JSON lines anywhere else, unless told."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ladle.logs import resolve_format

SCRIPT = (
    "import logging, sys\n"
    "from ladle.logs import configure_logging\n"
    "configure_logging('info', sys.argv[1])\n"
    "logging.getLogger('ladle.test').info('hello', extra={'path': '/v3'})\n"
)


def _run(fmt: str, *, tty: bool, tmp_path: Path) -> str:
    """Run a process that logs one line, its stderr a real terminal (a pty) or a pipe."""
    if tty:
        leader, follower = os.openpty()
        proc = subprocess.run([sys.executable, "-c", SCRIPT, fmt], stderr=follower, check=True)
        os.close(follower)
        out = os.read(leader, 65536).decode()
        os.close(leader)
        assert proc.returncode == 0
        return out
    return subprocess.run([sys.executable, "-c", SCRIPT, fmt], capture_output=True, text=True, check=True).stderr


@pytest.mark.parametrize(
    ("fmt", "tty", "expect_json"),
    [
        ("auto", True, False),
        ("auto", False, True),
        ("json", True, True),
        ("text", False, False),
    ],
)
def test_format_follows_the_terminal_unless_told(fmt: str, tty: bool, expect_json: bool, tmp_path: Path) -> None:
    line = _run(fmt, tty=tty, tmp_path=tmp_path).strip()
    if expect_json:
        entry = json.loads(line)
        assert (entry["level"], entry["logger"], entry["message"], entry["path"]) == (
            "info",
            "ladle.test",
            "hello",
            "/v3",
        )
    else:
        assert line == "info    ladle.test: hello [path=/v3]"


def test_resolve_format_on_a_closed_stream(tmp_path: Path) -> None:
    with open(tmp_path / "f", "w") as stream:
        assert resolve_format("auto", stream) == "json"
    assert resolve_format("auto", stream) == "json"  # closed: isatty raises, JSON is the safe choice
