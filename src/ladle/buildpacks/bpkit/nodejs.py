"""nodejs_buildpack: apps with a ``package.json``, run with the host's ``node`` and ``npm``.

``engines.node`` (and ``engines.npm``) are checked against the host's versions with npm's range
syntax; a mismatch stops the staging. Dependencies go to the app's ``node_modules`` with
``npm ci`` when a lockfile exists (else ``npm install``), with npm's cache in the build cache so
a second staging takes the packages from there. ``NODE_ENV`` is ``production`` unless the app
sets it, so development dependencies are left out as on Cloud Foundry. The start command is the
Procfile's, else ``npm start`` when ``scripts.start`` exists, else ``node server.js`` when that
file exists (npm's own default).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

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

Version = tuple[int, int, int]
Comparator = tuple[str, Version]
OPERATORS = re.compile(r"(<=|>=|<|>|=|~>|~|\^)\s+")


def parse_version(text: str) -> Version | None:
    found = re.match(r"\s*v?(\d+)\.(\d+)\.(\d+)", text)
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def _partial(text: str) -> list[int | None] | None:
    """``1``, ``1.2``, ``1.2.x``, ``1.2.3`` (pre-release and build tags dropped); None if not a version."""
    text = re.split(r"[-+]", text.lstrip("v="), maxsplit=1)[0]
    parts: list[int | None] = []
    for piece in text.split(".")[:3] if text else []:
        if piece in ("x", "X", "*"):
            parts.append(None)
        elif piece.isdigit():
            parts.append(int(piece))
        else:
            return None
    while len(parts) < 3:
        parts.append(None)
    # Anything after a wildcard is a wildcard too (1.x.3 means 1.x).
    for index in range(1, 3):
        if parts[index - 1] is None:
            parts[index] = None
    return parts


def _comparators(token: str) -> list[Comparator] | None:
    found = re.fullmatch(r"(<=|>=|<|>|=|~>|~|\^)?(.*)", token)
    assert found is not None
    op, parts = found[1] or "=", _partial(found[2])
    if parts is None:
        return None
    major, minor, patch = parts
    if major is None:
        return [] if op in ("=", ">=", "<=", "~", "~>", "^") else [("<", (0, 0, 0))]
    low = (major, minor or 0, patch or 0)
    next_minor = (major, (minor or 0) + 1, 0)
    next_major = (major + 1, 0, 0)
    if op in ("=", "~", "~>"):
        if minor is None:
            return [(">=", low), ("<", next_major)]
        if patch is None or op != "=":
            return [(">=", low), ("<", next_minor)]
        return [("=", low)]
    if op == "^":
        if major > 0 or minor is None:
            upper = next_major
        elif minor > 0 or patch is None:
            upper = next_minor
        else:
            upper = (0, 0, (patch or 0) + 1)
        return [(">=", low), ("<", upper)]
    if op == ">=":
        return [(">=", low)]
    if op == "<":
        return [("<", low)]
    if op == ">":
        return [(">=", next_major)] if minor is None else [(">=", next_minor)] if patch is None else [(">", low)]
    # "<="
    return [("<", next_major)] if minor is None else [("<", next_minor)] if patch is None else [("<=", low)]


def _hyphen(low_text: str, high_text: str) -> list[Comparator] | None:
    low, high = _partial(low_text), _partial(high_text)
    if low is None or high is None:
        return None
    out: list[Comparator] = [(">=", (low[0] or 0, low[1] or 0, low[2] or 0))] if low[0] is not None else []
    major, minor, patch = high
    if major is None:
        return out
    if minor is None:
        return [*out, ("<", (major + 1, 0, 0))]
    if patch is None:
        return [*out, ("<", (major, minor + 1, 0))]
    return [*out, ("<=", (major, minor, patch))]


def satisfies(version: Version, spec: str) -> bool | None:
    """Whether ``version`` is in an npm-style range (``^18``, ``>=16 <21``, ``18.x || 20``, ``1 - 2``);
    None when the range cannot be read."""
    for alternative in spec.split("||"):
        text = OPERATORS.sub(r"\1", alternative.strip())
        hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
        comparators: list[Comparator] = []
        if hyphen:
            parsed = _hyphen(hyphen[1], hyphen[2])
            if parsed is None:
                return None
            comparators = parsed
        else:
            for token in text.split():
                parsed = _comparators(token)
                if parsed is None:
                    return None
                comparators += parsed
        checks = {
            "=": version.__eq__,
            ">=": version.__ge__,
            ">": version.__gt__,
            "<": version.__lt__,
            "<=": version.__le__,
        }
        if all(checks[op](bound) for op, bound in comparators):
            return True
    return False


def read_package_json(build: Path) -> dict[str, Any]:
    try:
        data = json.loads((build / "package.json").read_text())
    except ValueError as exc:
        raise BuildpackError(f"package.json is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BuildpackError("package.json must hold a JSON object")
    return data


def _object(package: dict[str, Any], key: str) -> dict[str, Any]:
    value = package.get(key)
    return value if isinstance(value, dict) else {}


def check_engine(tool: str, have: str, wanted: object) -> None:
    if not isinstance(wanted, str) or not wanted.strip():
        return
    version = parse_version(have)
    result = satisfies(version, wanted) if version else None
    if result is None:
        warn(f"engines.{tool} '{wanted}' could not be read; using {tool} {have}")
    elif not result:
        raise BuildpackError(
            f"package.json asks for {tool} '{wanted}' (engines.{tool}), but this Ladle host has {tool} {have}.\n"
            f"Change engines.{tool} to a range that includes {have}, or install a matching {tool} on the host."
        )
    else:
        say(f"engines.{tool} '{wanted}' is satisfied by {tool} {have}")


class NodeJS(Buildpack):
    name = "nodejs"
    title = "Node.js"

    def detect(self, build: Path) -> str | None:
        return "package.json found" if (build / "package.json").is_file() else None

    def supply(self, dirs: Dirs) -> None:
        package = read_package_json(dirs.build)
        node, npm = host_tool("node"), host_tool("npm")
        if node is None or npm is None:
            raise BuildpackError("Node.js is not installed on this Ladle host (Debian: apt-get install nodejs npm)")
        env = staging_env(dirs)
        node_version = capture([node, "--version"], env=env) or "unknown"
        npm_version = capture([npm, "--version"], env=env) or "unknown"
        say(f"Using the host's node {node_version} and npm {npm_version}")
        engines = _object(package, "engines")
        check_engine("node", node_version, engines.get("node"))
        check_engine("npm", npm_version, engines.get("npm"))
        bin_dir = dirs.dep / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        for name, path in (("node", node), ("npm", npm)):
            (bin_dir / name).unlink(missing_ok=True)
            (bin_dir / name).symlink_to(path)
        self._install(dirs, package, npm, env)
        write_profile(
            dirs, "nodejs", 'export PATH="$HOME/node_modules/.bin:$PATH"\nexport NODE_ENV="${NODE_ENV:-production}"\n'
        )

    def _install(self, dirs: Dirs, package: dict[str, Any], npm: str, env: dict[str, str]) -> None:
        if not package.get("dependencies") and not package.get("devDependencies"):
            say("No dependencies in package.json")
            return
        cache = dirs.cache / "npm"
        env.setdefault("NODE_ENV", "production")
        env.update(
            npm_config_cache=str(cache),
            npm_config_update_notifier="false",
            npm_config_fund="false",
            npm_config_audit="false",
        )
        locked = any((dirs.build / name).is_file() for name in ("package-lock.json", "npm-shrinkwrap.json"))
        command = "ci" if locked else "install"
        header(f"Installing dependencies with npm {command} (NODE_ENV={env['NODE_ENV']})")
        if cache.is_dir():
            say("npm's cache from the last staging is used (build cache)")
        code = run([npm, command, "--prefer-offline", "--no-audit", "--no-fund"], env=env, cwd=dirs.build)
        # npm's own logs are of no use to the next staging.
        shutil.rmtree(cache / "_logs", ignore_errors=True)
        if code != 0:
            raise BuildpackError(f"npm {command} failed (npm's message is above)")

    def web_command(self, build: Path, index: str) -> str | None:
        try:
            package = read_package_json(build)
        except (BuildpackError, OSError):
            return None
        scripts = _object(package, "scripts")
        if scripts.get("start"):
            return "npm start"
        if (build / "server.js").is_file():
            return "node server.js"
        return None

    def finalize(self, dirs: Dirs) -> None:
        if self.web_command(dirs.build, dirs.index) is None and procfile_command(dirs.build) is None:
            header("No start command for the web process")
            say("Add scripts.start to package.json, a server.js, or a Procfile with a web: line")


BUILDPACK = NodeJS()
