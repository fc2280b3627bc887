"""How an instance of a docker image starts: its command, user, directory, port and environment.

As Diego runs docker images: the image's entrypoint and cmd in exec form (a command set on the
process instead goes through ``/bin/sh -c``), in ``WorkingDir`` (else ``/``), as ``User`` (else
root, which in the sandbox is only the sandbox's uid), on the first exposed TCP port (else
8080), with the image's ``Env`` under the user's variables and Cloud Foundry's. No buildpack
launcher runs: an image may have no bash at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ladle.docker.registry import ImageConfig
from ladle.runner.images import ImageUnavailable
from ladle.sandbox.untrusted_files import read_beneath

__all__ = ["DEFAULT_PORT", "DockerLaunch", "docker_launch"]

DEFAULT_PORT = 8080
# docker's PATH for images whose Env has none.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What the buildpack environment sets for the buildpack launcher, which a docker image does not get
# (unless the user set them): its PATH, HOME and USER are the image's.
_BUILDPACK_ONLY = frozenset({"PATH", "LANG", "HOME", "TMPDIR", "DEPS_DIR", "USER"})
_MAX_ID = 2**32 - 2


@dataclass(frozen=True)
class DockerLaunch:
    argv: list[str]
    cwd: str
    uid: int
    gid: int
    home: str
    port: int
    image_env: dict[str, str]

    def environment(self, cf_env: Mapping[str, str], user_keys: frozenset[str]) -> dict[str, str]:
        env = {"PATH": DEFAULT_PATH, "HOME": self.home}
        env.update(self.image_env)
        env.update({k: v for k, v in cf_env.items() if k not in _BUILDPACK_ONLY or k in user_keys})
        return env


def docker_launch(rootfs: Path, config: ImageConfig, execution_metadata: str, command: str | None) -> DockerLaunch:
    """Raises :class:`ImageUnavailable` when the image cannot be run as it says (no command, unknown user)."""
    default = [*config.entrypoint, *config.cmd]
    if command and command != " ".join(default):
        argv = ["/bin/sh", "-c", command]
    elif default:
        argv = default
    else:
        raise ImageUnavailable("the image has no entrypoint or cmd: set a start command with -c or the manifest")
    uid, gid, home = _user(rootfs, config.user)
    image_env: dict[str, str] = {}
    for item in config.env:
        key, sep, value = item.partition("=")
        if sep and key:
            image_env[key] = value
    return DockerLaunch(argv, config.workdir or "/", uid, gid, home, _port(execution_metadata), image_env)


def _port(execution_metadata: str) -> int:
    try:
        ports = json.loads(execution_metadata or "{}").get("ports") or []
    except (ValueError, AttributeError):
        return DEFAULT_PORT
    for port in ports:
        if isinstance(port, dict) and port.get("Protocol", "tcp") == "tcp" and isinstance(port.get("Port"), int):
            return int(port["Port"])
    return DEFAULT_PORT


def _table(rootfs: Path, name: str) -> list[list[str]]:
    # Read without following links: the image's files are not to lead Ladle anywhere.
    data = read_beneath(rootfs, f"etc/{name}") or b""
    return [line.split(":") for line in data.decode("utf-8", "replace").splitlines() if line and line[0] != "#"]


def _user(rootfs: Path, spec: str) -> tuple[int, int, str]:
    """(uid, gid, home) of the image's ``User``: ``name``, ``uid``, with ``:group`` or ``:gid``."""
    name, _, group = spec.partition(":")
    passwd = [row for row in _table(rootfs, "passwd") if len(row) >= 6]
    entry: list[str] | None
    if not name:
        uid, entry = 0, next((row for row in passwd if row[2] == "0"), None)
    elif name.isdigit():
        uid, entry = int(name), next((row for row in passwd if row[2] == name), None)
    else:
        entry = next((row for row in passwd if row[0] == name), None)
        if entry is None or not entry[2].isdigit():
            raise ImageUnavailable(f"the image's user {name!r} is not in its /etc/passwd")
        uid = int(entry[2])
    gid = int(entry[3]) if entry is not None and entry[3].isdigit() else 0
    if group.isdigit():
        gid = int(group)
    elif group:
        row = next((r for r in _table(rootfs, "group") if len(r) >= 3 and r[0] == group), None)
        if row is None or not row[2].isdigit():
            raise ImageUnavailable(f"the image's group {group!r} is not in its /etc/group")
        gid = int(row[2])
    if uid > _MAX_ID or gid > _MAX_ID:
        raise ImageUnavailable(f"the image's user {spec!r} has an id out of range")
    home = entry[5] if entry is not None and entry[5] else ("/root" if uid == 0 else "/")
    return uid, gid, home
