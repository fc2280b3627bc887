"""Ladle's system buildpacks: which there are, what each needs on the host, and their zips.

Each buildpack is a directory here (``<dir>/bin/{detect,supply,finalize,release}`` and a
``manifest.yml``); its code is the ``bpkit`` package next to them, which every zip carries as
``lib/bpkit``. Zips are built from the installed files and are deterministic (sorted entries,
one timestamp, ``bin/`` scripts 0755), so the same Ladle gives the same sha256 every start.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import shutil
import subprocess
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ladle import __version__

__all__ = ["CATALOG", "HERE", "SYSTEM_PATH", "BuildpackZip", "SystemBuildpack", "build_zip", "missing_runtimes"]

HERE = Path(__file__).resolve().parent
# What staging scripts see as their PATH (see staging/environment.py): tools must be found here.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# The staging sandbox shows only system directories; a tool living elsewhere (/root, /opt, a
# home directory) would be missing under it, so it counts as missing here too.
SYSTEM_PREFIXES = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/etc/")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Tool:
    command: str
    # What to install on Debian when it is missing.
    debian: str
    # A command that must succeed with it (e.g. that python3 has pip), besides being found.
    check: tuple[str, ...] = ()


# Every buildpack's scripts are Python: the host's python3 (3.9 or newer) runs them.
SCRIPTS = Tool("python3", "python3", ("python3", "-c", "import sys; sys.exit(sys.version_info < (3, 9))"))


@dataclass(frozen=True)
class SystemBuildpack:
    name: str
    directory: str
    # What the app's runtime needs on the host, besides python3 for the scripts.
    requires: tuple[Tool, ...] = ()

    @property
    def tools(self) -> tuple[Tool, ...]:
        return (SCRIPTS, *self.requires)


# Cloud Foundry's order of its system buildpacks, for the ones Ladle ships: a Rails app with a
# package.json is a Ruby app, and binary_buildpack (which never detects) comes last.
CATALOG: tuple[SystemBuildpack, ...] = (
    SystemBuildpack("staticfile_buildpack", "staticfile"),
    SystemBuildpack("ruby_buildpack", "ruby", (Tool("ruby", "ruby"), Tool("bundle", "ruby-bundler"))),
    SystemBuildpack("nodejs_buildpack", "nodejs", (Tool("node", "nodejs"), Tool("npm", "npm"))),
    SystemBuildpack("go_buildpack", "go", (Tool("go", "golang-go"),)),
    SystemBuildpack("python_buildpack", "python", (Tool("python3", "python3-pip", ("python3", "-c", "import pip")),)),
    SystemBuildpack("binary_buildpack", "binary"),
)


def _host_tool(command: str) -> str | None:
    found = shutil.which(command, path=SYSTEM_PATH)
    if found is None or not os.path.realpath(found).startswith(SYSTEM_PREFIXES):
        return None
    return found


def _passes(argv: tuple[str, ...]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def missing_runtimes(catalog: Sequence[SystemBuildpack] = CATALOG) -> dict[str, str | None]:
    """For each buildpack, why the host cannot run it (e.g. "node is not installed in ... (Debian
    package nodejs)"), or None when it can. Tools are looked up where staging scripts look; each
    check command runs once, all of them side by side."""
    tools = {tool for buildpack in catalog for tool in buildpack.tools}
    paths = {tool.command: _host_tool(tool.command) for tool in tools}
    checks = {
        tool.check: (paths[tool.command] or tool.command, *tool.check[1:])
        for tool in tools
        if tool.check and paths[tool.command]
    }
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(checks))) as pool:
        passed = dict(zip(checks, pool.map(_passes, checks.values()), strict=True))
    out: dict[str, str | None] = {}
    for buildpack in catalog:
        problems: list[str] = []
        for tool in buildpack.tools:
            if paths[tool.command] is None:
                problem = f"{tool.command} is not installed in {SYSTEM_PATH} (Debian package {tool.debian})"
            elif tool.check and not passed[tool.check]:
                problem = f"'{' '.join(tool.check)}' fails (Debian package {tool.debian})"
            else:
                continue
            if problem not in problems:
                problems.append(problem)
        out[buildpack.name] = "; ".join(problems) or None
    return out


@dataclass(frozen=True)
class BuildpackZip:
    path: Path
    sha256: str
    filename: str


def _entries(buildpack: SystemBuildpack) -> list[tuple[str, Path]]:
    root = HERE / buildpack.directory
    files = [(str(p.relative_to(root)), p) for p in root.rglob("*") if p.is_file()]
    files += [(f"lib/bpkit/{p.name}", p) for p in (HERE / "bpkit").glob("*.py")]
    return sorted(f for f in files if "__pycache__" not in f[0])


def build_zip(buildpack: SystemBuildpack, directory: Path) -> BuildpackZip:
    """Zip the buildpack into ``directory``; the same files give the same bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{buildpack.name}.zip"
    members: list[tuple[str, Path | None]] = [*_entries(buildpack), ("VERSION", None)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, source in sorted(members, key=lambda m: m[0]):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3  # Unix, so the modes below are honoured
            mode = 0o755 if name.startswith("bin/") else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, source.read_bytes() if source is not None else f"{__version__}\n")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return BuildpackZip(path, digest, f"{buildpack.name}-v{__version__}.zip")
