"""What user code sees of the host's filesystem: the system's programs and libraries, and no more.

Visible, read-only: ``/usr``, ``/bin``, ``/sbin`` and ``/lib*`` (programs and libraries buildpacks
and apps run), and ``/etc`` (name resolution, CA certificates, locale and tool configuration)
with its secrets covered: ``shadow``, ``gshadow``, ssh host keys, ``ssl/private``, and every
other entry of ``/etc`` that is not readable by everyone. ``/etc/passwd`` and ``/etc/group`` are
replaced by ones that name ``vcap``, and ``/etc/resolv.conf`` by the sandbox's resolvers.

Private to the sandbox: ``/tmp``, ``/dev`` (null, zero, random, tty, shm, pts), ``/proc`` of its
own processes, and ``/home/vcap``. Besides those, only the directories its caller mounts (a
staging's build directories, an instance's droplet).

Everything else is absent, not merely unreadable: Ladle's data directory, ``/root``, ``/home``,
``/var`` (``/var/lib`` above all), ``/srv``, ``/run``, ``/mnt``, ``/opt``, ``/media``, ``/sys``,
and the home of whoever runs Ladle.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

__all__ = ["SYSTEM_DIRECTORIES", "etc_masks", "group_file", "passwd_file", "replaceable_path", "system_mounts"]

SYSTEM_DIRECTORIES = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Covered even if some host made them readable by everyone.
ETC_SECRETS = ("shadow", "shadow-", "gshadow", "gshadow-", "ssl/private", "security/opasswd", "sudoers", "sudoers.d")
# /etc changes rarely; scanning it (about a thousand entries) is cheap but not free per script.
_ETC_SCAN_TTL = 60.0
_etc_cache: dict[str, tuple[float, list[tuple[str, bool]]]] = {}
_etc_lock = threading.Lock()


def _scan_etc(root: str) -> list[tuple[str, bool]]:
    """Paths under ``root`` to cover, each with whether it is a directory."""
    masks: list[tuple[str, bool]] = []
    explicit = {os.path.join(root, name) for name in ETC_SECRETS}
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            mode = info.st_mode
            if stat.S_ISLNK(mode):
                continue  # resolved inside the sandbox, where it can only reach what is visible
            is_dir = stat.S_ISDIR(mode)
            name = entry.name
            ssh_host_key = directory.endswith("/ssh") and name.startswith("ssh_host_") and "key" in name
            private = not (mode & stat.S_IROTH) or (is_dir and not mode & stat.S_IXOTH)
            if entry.path in explicit or ssh_host_key or private:
                masks.append((entry.path, is_dir))
            elif is_dir:
                stack.append(entry.path)
    return sorted(masks)


def etc_masks(root: str = "/etc") -> list[tuple[str, bool]]:
    with _etc_lock:
        now = time.monotonic()
        cached = _etc_cache.get(root)
        if cached is None or now - cached[0] > _ETC_SCAN_TTL:
            cached = _etc_cache[root] = (now, _scan_etc(root))
        return cached[1]


def system_mounts() -> list[str]:
    """bwrap arguments for the system's directories and a covered ``/etc``."""
    args: list[str] = []
    for directory in SYSTEM_DIRECTORIES:
        path = Path(directory)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), directory]  # merged /usr: /bin -> usr/bin
        elif path.is_dir():
            args += ["--ro-bind", directory, directory]
    args += ["--ro-bind", "/etc", "/etc"]
    for secret, is_dir in etc_masks():
        if is_dir:
            args += ["--tmpfs", secret, "--remount-ro", secret]
        else:
            args += ["--ro-bind", "/dev/null", secret]
    return args


def replaceable_path(path: str, hops: int = 8) -> str:
    """Where to put the sandbox's own copy of ``path`` (an /etc file): the file itself, or what
    its link points to (``/etc/resolv.conf`` is often a link into ``/run``), since a mount over a
    link lands on its target."""
    for _ in range(hops):
        try:
            target = os.readlink(path)
        except OSError:
            return path
        path = os.path.normpath(os.path.join(os.path.dirname(path), target))
    return path


def passwd_file(uid: int) -> bytes:
    return (
        "root:x:0:0:root:/root:/bin/bash\n"
        f"vcap:x:{uid}:{uid}:vcap:/home/vcap:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    ).encode()


def group_file(gid: int) -> bytes:
    return f"root:x:0:\nvcap:x:{gid}:\nnogroup:x:65534:\n".encode()
