"""What every Ladle system buildpack shares.

The Cloud Foundry script contract (arguments of ``bin/detect``, ``supply``, ``finalize`` and
``release``), the staging log's ``----->`` style, receipts (``config.yml``), ``launch.yml``,
``profile.d`` scripts, and finding host tools where the staging sandbox can see them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SYSTEM_PATH",
    "Buildpack",
    "BuildpackError",
    "Dirs",
    "capture",
    "header",
    "host_tool",
    "parse_simple_yaml",
    "procfile_command",
    "run",
    "say",
    "staging_env",
    "warn",
    "write_profile",
]

# The PATH staging scripts get; host tools are looked up here and nowhere else.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# The staging sandbox shows system directories only (no /root, /home, /opt, /var/lib), so a tool
# that resolves to anywhere else would vanish under it; such a tool counts as not installed.
SYSTEM_PREFIXES = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/etc/")
INDENT = "       "


class BuildpackError(Exception):
    """Stops a staging step; the message goes to the staging log."""


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def header(text: str) -> None:
    """A step of the staging, as the cf CLI's buildpacks print it: ``-----> text``."""
    _out("-----> " + text)


def say(text: str) -> None:
    for line in text.splitlines() or [""]:
        _out(INDENT + line)


def warn(text: str) -> None:
    say("**WARNING** " + text)


def version() -> str:
    """The buildpack's version: the ``VERSION`` file Ladle writes at the zip's root."""
    path = Path(__file__).resolve().parents[2] / "VERSION"
    try:
        return path.read_text().strip() or "dev"
    except OSError:
        return "dev"


def host_tool(name: str, extra_dirs: Sequence[str] = ()) -> str | None:
    """Where the host has ``name`` in a system directory, or None."""
    found = shutil.which(name, path=":".join([*SYSTEM_PATH.split(":"), *extra_dirs]))
    if found is None:
        return None
    return found if os.path.realpath(found).startswith(SYSTEM_PREFIXES) else None


def run(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> int:
    """Run a tool with its output (stdout and stderr, in order) indented into the staging log."""
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(env) if env is not None else None,
        cwd=cwd,
    )
    assert process.stdout is not None
    for raw in process.stdout:
        # Progress bars redraw with carriage returns; the log wants the last state only.
        text = raw.decode("utf-8", "replace").rstrip("\r\n").rsplit("\r", 1)[-1]
        if text.strip():
            _out(INDENT + text)
    return process.wait()


def capture(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> str | None:
    """A tool's stdout, stripped, or None when it cannot run or fails."""
    try:
        result = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=dict(env) if env is not None else None,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


@dataclass(frozen=True)
class Dirs:
    """The directories the builder hands a script (``supply`` and ``finalize`` arguments)."""

    build: Path
    cache: Path
    deps: Path
    index: str
    profile: Path | None = None

    @property
    def dep(self) -> Path:
        """This buildpack's own directory in the droplet (``deps/<index>``)."""
        return self.deps / self.index

    def at_launch(self, *parts: str) -> str:
        """A path under ``dep`` as the started app's shell sees it (the launcher sets ``DEPS_DIR``)."""
        return "/".join(["$DEPS_DIR", self.index, *parts])


def write_profile(dirs: Dirs, name: str, body: str) -> None:
    """A script the app's shell sources before its start command.

    It goes to ``deps/<index>/profile.d/``, where a final buildpack of any kind (Ladle's or Cloud
    Foundry's) picks it up and installs it in the droplet's ``profile.d``."""
    directory = dirs.dep / "profile.d"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.sh").write_text(body)


def install_profiles(dirs: Dirs) -> None:
    """What the final buildpack does for all of them: put every ``bin/`` of ``deps`` on the PATH
    at launch, and install each buildpack's ``profile.d`` scripts."""
    assert dirs.profile is not None
    dirs.profile.mkdir(parents=True, exist_ok=True)
    bins = []
    for dep in sorted(p for p in dirs.deps.iterdir() if p.is_dir()):
        if (dep / "bin").is_dir():
            bins.append(f"$DEPS_DIR/{dep.name}/bin")
        scripts = dep / "profile.d"
        if scripts.is_dir():
            for script in sorted(scripts.iterdir()):
                shutil.copyfile(script, dirs.profile / f"{dep.name}_{script.name}")
    if bins:
        (dirs.profile / "000_ladle-deps.sh").write_text(f'export PATH="{":".join(bins)}:$PATH"\n')


def staging_env(dirs: Dirs, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for tools run while staging: what earlier buildpacks put in ``deps/*/bin``
    comes first on the PATH (so a supply buildpack's runtime is usable by the later ones)."""
    env = dict(os.environ if base is None else base)
    bins = [str(p / "bin") for p in sorted(dirs.deps.iterdir()) if (p / "bin").is_dir()]
    env["PATH"] = ":".join([*bins, env.get("PATH") or SYSTEM_PATH])
    return env


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return str(json.loads(value))
        except ValueError:
            return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def parse_simple_yaml(text: str) -> dict[str, str | dict[str, str]]:
    """The YAML subset that Staticfiles use: ``key: value`` lines, ``#`` comments, and one level of
    nested ``key:`` blocks. (The host's python3 may not have PyYAML, and these files need no more.)"""
    out: dict[str, str | dict[str, str]] = {}
    parent: dict[str, str] | None = None
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not line.strip() or line.strip() == "---":
            continue
        key, sep, value = line.strip().partition(":")
        if not sep:
            continue
        key = _unquote(key)
        if line[0] in " \t" and parent is not None:
            parent[key] = _unquote(value)
        elif value.strip():
            out[key] = _unquote(value)
            parent = None
        else:
            parent = {}
            out[key] = parent
    return out


def procfile_command(build: Path, process_type: str = "web") -> str | None:
    """The command a ``Procfile`` gives a process type (the builder reads it again itself)."""
    path = build / "Procfile"
    if not path.is_file():
        return None
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == process_type and value.strip():
            return _unquote(value)
    return None


class Buildpack:
    """One buildpack: subclasses say what detects it and what supply and finalize do."""

    # The detect output and the receipt's name ("python"); the title for the log ("Python").
    name = ""
    title = ""

    def detect(self, build: Path) -> str | None:
        """Why this buildpack fits the app ("requirements.txt found"), or None when it does not."""
        raise NotImplementedError

    def supply(self, dirs: Dirs) -> None:
        """Install what the app needs into ``dirs.dep`` (and the app dir); may be a supply step of
        a multi-buildpack app."""

    def finalize(self, dirs: Dirs) -> None:
        """Last touches when this buildpack is the app's final one."""

    def web_command(self, build: Path, index: str) -> str | None:
        """The start command this buildpack gives the app when its Procfile has none."""
        return None

    # --- the contract ---------------------------------------------------------------------------
    def main(self, argv: Sequence[str]) -> int:
        phase = os.path.basename(argv[0])
        wanted = {"detect": 1, "supply": 4, "finalize": 5, "release": 1}.get(phase)
        if wanted is None or len(argv) - 1 < wanted:
            print(f"not a buildpack step with its arguments: {' '.join(argv)}", file=sys.stderr)
            return 2
        args = [str(Path(a).absolute()) for a in argv[1:]]
        if phase in ("supply", "finalize"):
            args[3] = argv[4]  # the index is a name, not a path
        try:
            if phase == "detect":
                if self.detect(Path(args[0])) is None:
                    return 1
                _out(self.name)
            elif phase == "supply":
                build, cache, deps, index = args[:4]
                self._supply(Dirs(Path(build), Path(cache), Path(deps), index))
            elif phase == "finalize":
                build, cache, deps, index, profile = args[:5]
                self._finalize(Dirs(Path(build), Path(cache), Path(deps), index, Path(profile)))
            elif phase == "release":
                command = self.web_command(Path(args[0]), "0")
                types = f"\n  web: {json.dumps(command)}" if command else " {}"
                _out(f"---\ndefault_process_types:{types}")
        except BuildpackError as exc:
            for line in str(exc).splitlines():
                _out(INDENT + "**ERROR** " + line)
            return 1
        return 0

    def _supply(self, dirs: Dirs) -> None:
        header(f"{self.title} Buildpack {version()} (Ladle)")
        reason = self.detect(dirs.build)
        if reason:
            say(f"{self.title} app: {reason}")
        dirs.dep.mkdir(parents=True, exist_ok=True)
        self.supply(dirs)
        (dirs.dep / "config.yml").write_text(f"---\nname: {self.name}\nversion: {json.dumps(version())}\n")

    def _finalize(self, dirs: Dirs) -> None:
        self.finalize(dirs)
        command = self.web_command(dirs.build, dirs.index)
        # The builder reads the final buildpack's launch.yml instead of running bin/release (a
        # Procfile still wins over both); writing one, even empty, saves a process per staging.
        processes = f"\n- type: web\n  command: {json.dumps(command)}" if command else " []"
        (dirs.dep / "launch.yml").write_text(f"---\nprocesses:{processes}\n")
        if command and not procfile_command(dirs.build):
            say(f"Start command: {command}")
        install_profiles(dirs)
