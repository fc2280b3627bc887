"""python_buildpack: apps with ``requirements.txt``, ``pyproject.toml``, ``Pipfile`` or ``setup.py``.

The interpreter is the host's: the one ``runtime.txt`` or ``.python-version`` asks for when the
host has it, else the host's ``python3``. Dependencies are installed with that interpreter's
pip into ``deps/<index>/python`` (``pip install --target``), which ``profile.d`` puts on
``PYTHONPATH``; ``python`` and ``python3`` go on the PATH. What is installed: ``requirements.txt``;
else ``Pipfile.lock`` (or ``Pipfile``); else the ``[project] dependencies`` of a
``pyproject.toml`` without ``[build-system]`` (an app, not a package); else the project itself
(``pip install .`` of a package with ``setup.py`` or a ``[build-system]``).

Build cache (``/tmp/cache`` is kept per app between stagings):
- ``python/wheels``: every wheel the last requirements resolved to, so a changed requirements
  file downloads only what is new;
- ``python/site.tar`` and ``python/site.key``: the installed packages (one tar file, so the
  build cache stays a few files however many packages there are) and a hash of everything that
  decided them (interpreter, requirement files, ``PIP_*`` settings). When the hash is unchanged
  the packages are unpacked from there: nothing is resolved or downloaded. Unpinned requirements
  therefore stay at the versions first installed until the files change or the app's build cache
  is cleared.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from .common import (
    Buildpack,
    BuildpackError,
    Dirs,
    capture,
    header,
    host_tool,
    procfile_command,
    run,
    say,
    staging_env,
    warn,
    write_profile,
)

MARKERS = ("requirements.txt", "pyproject.toml", "Pipfile", "setup.py")
# Change to make every app's cached packages stale (when the way they are installed changes).
CACHE_FORMAT = "1"
PROBE = (
    "import sys, importlib.util; print('%d.%d.%d' % sys.version_info[:3], importlib.util.find_spec('pip') is not None)"
)
NESTED = re.compile(r"^\s*(?:-r|--requirement|-c|--constraint)[\s=]+(\S+)")
# Lines a wheelhouse cannot serve offline: editable installs, URLs and VCS links, local paths.
ONLINE_ONLY = re.compile(r"^\s*(?:-e\b|--editable\b|\.|/|\S+\s*@\s*\S)|://")


class Interpreter(NamedTuple):
    path: str
    version: str
    has_pip: bool


def probe(path: str) -> Interpreter | None:
    if os.path.realpath(path) == os.path.realpath(sys.executable):
        # The interpreter running this script: no need to start another one to ask.
        has_pip = importlib.util.find_spec("pip") is not None
        return Interpreter(path, ".".join(map(str, sys.version_info[:3])), has_pip)
    out = capture([path, "-c", PROBE], env={"PATH": os.environ.get("PATH", "")})
    if not out:
        return None
    version, pip = out.split()
    return Interpreter(path, version, pip == "True")


def requested_version(build: Path) -> tuple[str, str] | None:
    """The Python version the app asks for, and the file that asks."""
    for name in ("runtime.txt", ".python-version"):
        path = build / name
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            found = re.fullmatch(r"\s*(?:python-)?(\d+\.\d+(?:\.\d+)?)\S*\s*", line)
            if found:
                return found.group(1), name
    return None


def host_interpreters() -> dict[str, str]:
    """``3.11`` -> ``/usr/bin/python3.11``: the versioned interpreters in system directories."""
    found: dict[str, str] = {}
    for directory in ("/usr/bin", "/usr/local/bin"):  # /usr/local wins, as on the PATH
        for path in sorted(Path(directory).glob("python3.*")):
            if re.fullmatch(r"python3\.\d+", path.name) and host_tool(path.name, [directory]):
                found[path.name[len("python") :]] = str(path)
    return found


def choose_interpreter(build: Path) -> Interpreter:
    host = host_tool("python3")
    default = probe(host) if host else None
    requested = requested_version(build)
    if requested is not None:
        wanted, source = requested
        minor = ".".join(wanted.split(".")[:2])
        path = host_interpreters().get(minor)
        chosen = probe(path) if path else None
        if chosen is not None and chosen.has_pip:
            if wanted not in (minor, chosen.version):
                say(f"{source} asks for Python {wanted}; the host has {chosen.version}, which is used")
            else:
                say(f"Using Python {chosen.version} ({chosen.path}), as {source} asks")
            return chosen
        why = "installed without pip" if chosen is not None else "not installed on this host"
        if default is not None:
            warn(
                f"{source} asks for Python {wanted}, which is {why}; "
                f"using the host's python3 instead: Python {default.version} ({default.path})"
            )
    elif default is not None:
        say(f"No runtime.txt or .python-version: using the host's python3, Python {default.version} ({default.path})")
    if default is None:
        raise BuildpackError("Python 3 is not installed on this Ladle host (Debian: apt-get install python3-pip)")
    if not default.has_pip:
        raise BuildpackError(f"pip is not installed for {default.path} (Debian: apt-get install python3-pip)")
    return default


# --- what to install ------------------------------------------------------------------------------
def _requirement_files(path: Path, seen: set[Path] | None = None) -> list[Path]:
    """A requirements file and the ones it pulls in with ``-r`` or ``-c``."""
    seen = set() if seen is None else seen
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    files = [path]
    for line in path.read_text(errors="replace").splitlines():
        found = NESTED.match(line)
        if found:
            files += _requirement_files((path.parent / found.group(1)).resolve(), seen)
    return files


def _from_pipfile_lock(lock: Path) -> list[str]:
    try:
        packages = json.loads(lock.read_text()).get("default") or {}
    except ValueError:
        raise BuildpackError("Pipfile.lock is not valid JSON") from None
    lines = []
    for name, entry in sorted(packages.items()):
        spec = entry if isinstance(entry, dict) else {}
        extras = "[" + ",".join(spec["extras"]) + "]" if spec.get("extras") else ""
        line = f"{name}{extras}{spec.get('version', '')}"
        if spec.get("markers"):
            line += f"; {spec['markers']}"
        lines.append(line)
    return lines


def _toml(path: Path, instead: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:
        raise BuildpackError(
            f"Reading {path.name} needs the host's python3 to be 3.11 or newer; add {instead} or a requirements.txt"
        ) from None
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BuildpackError(f"{path.name} is not valid TOML: {exc}") from None


def _project_dependencies(pyproject: Path) -> list[str] | None:
    """``[project] dependencies`` of an app that is not itself a package to build (it has no
    ``[build-system]``, as ``uv init --app`` makes them); None for a package, which pip builds."""
    data = _toml(pyproject, "a [build-system]")
    dependencies = (data.get("project") or {}).get("dependencies")
    if "build-system" in data or not isinstance(dependencies, list):
        return None
    return [str(d) for d in dependencies]


def _from_pipfile(pipfile: Path) -> list[str]:
    packages = _toml(pipfile, "Pipfile.lock (pipenv lock)").get("packages") or {}
    lines = []
    for name, spec in sorted(packages.items()):
        version = spec if isinstance(spec, str) else (spec.get("version") if isinstance(spec, dict) else None)
        lines.append(name if not version or version == "*" else f"{name}{version}")
    return lines


class Requirements(NamedTuple):
    args: list[str]  # what pip installs
    files: list[Path]  # what decides it
    offline: bool  # whether a wheelhouse can serve it without the network
    origin: str


def requirements(build: Path, scratch: Path) -> Requirements | None:
    path = build / "requirements.txt"
    if path.is_file():
        files = _requirement_files(path)
        lines = [line for f in files for line in f.read_text(errors="replace").splitlines()]
        offline = not any(ONLINE_ONLY.search(line) for line in lines)
        return Requirements(["-r", str(path)], files, offline, "requirements.txt")
    listed = None
    for name, convert in (("Pipfile.lock", _from_pipfile_lock), ("Pipfile", _from_pipfile)):
        if (build / name).is_file():
            listed = name, convert(build / name)
            break
    if listed is None and (build / "pyproject.toml").is_file() and not (build / "setup.py").is_file():
        dependencies = _project_dependencies(build / "pyproject.toml")
        if dependencies is not None:
            listed = "pyproject.toml", dependencies
    if listed is not None:
        generated = scratch / "requirements.txt"
        generated.write_text("".join(line + "\n" for line in listed[1]))
        offline = not any(ONLINE_ONLY.search(line) for line in listed[1])
        return Requirements(["-r", str(generated)], [generated], offline, listed[0])
    if (build / "pyproject.toml").is_file() or (build / "setup.py").is_file():
        files = [build / n for n in ("pyproject.toml", "setup.py", "setup.cfg") if (build / n).is_file()]
        return Requirements([str(build)], files, False, files[0].name)
    return None


def cache_key(python: Interpreter, wanted: Requirements, env: dict[str, str]) -> str:
    digest = hashlib.sha256()
    # What was asked (not the args: a generated requirements file has a new path every time).
    parts = [CACHE_FORMAT, os.path.realpath(python.path), python.version, platform.machine(), wanted.origin]
    parts += [f"{k}={v}" for k, v in sorted(env.items()) if k.startswith("PIP_")]
    for part in parts:
        digest.update(part.encode() + b"\0")
    for path in wanted.files:
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _tar(*args: str) -> None:
    tar = host_tool("tar")
    if tar is None:
        raise BuildpackError("tar is not installed on this Ladle host")
    result = subprocess.run([tar, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildpackError(f"tar failed: {result.stderr.strip()}")


def pip_failed() -> BuildpackError:
    return BuildpackError(
        "pip could not install the app's requirements (pip's message is above).\n"
        "Check the package names and versions, then push again."
    )


def install(dirs: Dirs, python: Interpreter) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="ladle-python-"))
    try:
        wanted = requirements(dirs.build, scratch)
        if wanted is None:
            say("No requirements to install")
            return
        env = staging_env(dirs)
        # The host's pip configuration is the host's business, not the app's (the app's own PIP_*
        # variables still apply).
        env.setdefault("PIP_CONFIG_FILE", os.devnull)
        env.update(
            PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PIP_PROGRESS_BAR="off", PIP_ROOT_USER_ACTION="ignore"
        )
        target, cache = dirs.dep / "python", dirs.cache / "python"
        cache.mkdir(parents=True, exist_ok=True)
        key = cache_key(python, wanted, env)
        stamp = cache / "site.key"
        pip = [python.path, "-m", "pip"]
        site = cache / "site.tar"
        if wanted.offline and site.is_file() and stamp.is_file() and stamp.read_text() == key:
            header(f"Installing requirements from {wanted.origin}")
            say("Unchanged since the last staging: reusing the packages it installed (build cache)")
            say("Nothing is downloaded")
            target.mkdir(parents=True, exist_ok=True)
            _tar("-xf", str(site), "-C", str(target))
            return
        stamp.unlink(missing_ok=True)
        site.unlink(missing_ok=True)
        header(f"Installing requirements from {wanted.origin} with pip")
        install_args = ["install", "--target", str(target), "--no-warn-script-location", *wanted.args]
        if not wanted.offline:
            if run([*pip, *install_args, "--cache-dir", str(cache / "pip")], env=env, cwd=dirs.build) != 0:
                raise pip_failed()
            return
        # Resolve and download into a fresh wheelhouse (the old one serves what it already has),
        # then install from it alone.
        wheels, fresh = cache / "wheels", cache / "wheels.new"
        shutil.rmtree(fresh, ignore_errors=True)
        resolve = [*pip, "wheel", "--no-cache-dir", "--wheel-dir", str(fresh)]
        if wheels.is_dir():
            resolve += ["--find-links", str(wheels)]
        if run([*resolve, *wanted.args], env=env, cwd=dirs.build) != 0:
            shutil.rmtree(fresh, ignore_errors=True)
            raise pip_failed()
        shutil.rmtree(wheels, ignore_errors=True)
        fresh.rename(wheels)
        offline_install = [*pip, *install_args, "--no-index", "--no-cache-dir", "--find-links", str(wheels)]
        if run(offline_install, env=env, cwd=dirs.build) != 0:
            raise pip_failed()
        _tar("-cf", str(site), "-C", str(target), ".")
        stamp.write_text(key)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class Python(Buildpack):
    name = "python"
    title = "Python"

    def detect(self, build: Path) -> str | None:
        found = [name for name in MARKERS if (build / name).is_file()]
        return ", ".join(found) + " found" if found else None

    def supply(self, dirs: Dirs) -> None:
        python = choose_interpreter(dirs.build)
        bin_dir = dirs.dep / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        for name in ("python", "python3"):
            (bin_dir / name).unlink(missing_ok=True)
            (bin_dir / name).symlink_to(python.path)
        install(dirs, python)
        write_profile(
            dirs,
            "python",
            f'export PATH="{dirs.at_launch("python", "bin")}:{dirs.at_launch("bin")}:$PATH"\n'
            f'export PYTHONPATH="{dirs.at_launch("python")}${{PYTHONPATH:+:$PYTHONPATH}}"\n'
            "export PYTHONUNBUFFERED=1\n",
        )

    def finalize(self, dirs: Dirs) -> None:
        if procfile_command(dirs.build):
            return
        header("No start command for the web process")
        say(
            "Add a Procfile to the app that says how to start it, for example:\n"
            "    web: python app.py\n"
            "or, with gunicorn in requirements.txt:\n"
            "    web: gunicorn app:app --bind 0.0.0.0:$PORT\n"
            "(a start command from cf push -c or the manifest's command works too)"
        )


BUILDPACK = Python()
