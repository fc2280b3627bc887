"""docs/deploy.md stays true: every setting is documented, the systemd units it shows are the
ones in deploy/systemd/, and systemd accepts them (``systemd-analyze verify``, or a parser of
the unit format where systemd-analyze is not installed)."""

from __future__ import annotations

import configparser
import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ladle.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy.md"
UNITS = ROOT / "deploy" / "systemd"
LADLE = Path(sys.executable).parent / "ladle"
# What the units may set, by section (the parser's check where systemd-analyze is missing).
KNOWN = {
    "Unit": {"Description", "Documentation", "After", "Wants", "Requires"},
    "Service": {
        "Type",
        "User",
        "Group",
        "EnvironmentFile",
        "ExecStart",
        "Restart",
        "RestartSec",
        "KillSignal",
        "TimeoutStopSec",
        "UMask",
        "StateDirectory",
        "NoNewPrivileges",
        "PrivateTmp",
        "ProtectSystem",
        "LimitNOFILE",
    },
    "Install": {"WantedBy"},
}


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    missing = [f.name for f in dataclasses.fields(Settings) if f"`LADLE_{f.name.upper()}`" not in text]
    assert missing == [], f"settings missing from docs/deploy.md: {missing}"


def test_the_units_in_the_doc_are_the_shipped_ones() -> None:
    blocks = re.findall(r"`deploy/systemd/([^`]+)`[^\n]*:\n\n```ini\n(.*?)```", DOC.read_text(), re.S)
    assert sorted(name for name, _ in blocks) == ["ladle-serve.service", "ladle-worker@.service"]
    for name, body in blocks:
        assert (UNITS / name).read_text() == body, name


def _installed_copies(tmp_path: Path) -> list[Path]:
    """The units as installed here: ExecStart pointing at this checkout's ``ladle``."""
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/opt/ladle/venv/bin/ladle", str(LADLE))
        (tmp_path / unit.name).write_text(text)
    return [tmp_path / "ladle-serve.service", tmp_path / "ladle-worker@1.service"]


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    units = _installed_copies(tmp_path)
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (the parser test still runs)")
    result = subprocess.run(
        ["systemd-analyze", "verify", *(f"./{u.name}" for u in units)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys and malformed lines are only warnings to systemd: refuse them here.
    complaints = [line for line in result.stderr.splitlines() if "ladle-" in line and "ignoring" in line]
    assert complaints == []


def test_the_units_parse_with_known_keys_only() -> None:
    for unit in UNITS.iterdir():
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(unit.read_text())
        assert set(parser.sections()) == set(KNOWN), unit.name
        for section in parser.sections():
            unknown = set(parser[section]) - KNOWN[section]
            assert unknown == set(), (unit.name, section, unknown)
        argv = parser["Service"]["ExecStart"].split()
        assert argv[0] == "/opt/ladle/venv/bin/ladle"
        # The command line is one `ladle` accepts.
        from ladle.cli import _parser

        command = [arg.replace("%i", "1") for arg in argv[1:]]
        assert _parser().parse_args(command).command in {"serve", "worker"}
