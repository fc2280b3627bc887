"""Keeping Ladle's data directory private to the user Ladle runs as.

The data directory holds the database (password hashes, every app's environment), the token
signing key, the admin password and every package and droplet. It is created 0700; ``ladle
serve`` sets a umask of 077 so everything Ladle writes in it is 0600 (directories 0700); and a
directory left looser by an older Ladle or by hand is tightened at start, with a log line.

The exceptions are the unpacked admin buildpacks (``cache/buildpacks``), and the unpacked
droplets and docker images instances run (``runner/droplets``, ``runner/images``): the
sandbox's uid must read them, through the sandbox's own mounts, so they stay readable by
everyone, within the 0700 data directory that no other user can enter.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = ["PRIVATE_UMASK", "SHARED_WITH_SANDBOX", "make_private", "share_with_sandbox"]

log = logging.getLogger("ladle")

PRIVATE_UMASK = 0o077
SHARED_WITH_SANDBOX = (Path("cache") / "buildpacks", Path("runner") / "droplets", Path("runner") / "images")


def make_private(data_dir: Path) -> int:
    """Create ``data_dir`` 0700, or take group and other permissions off everything in it;
    returns how many entries had to be tightened."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tightened = 0
    skip = {str(data_dir / shared) for shared in SHARED_WITH_SANDBOX}
    mode = os.stat(data_dir).st_mode
    if mode & 0o077:
        os.chmod(data_dir, stat.S_IMODE(mode) & 0o700)
        tightened += 1
    for directory, dirs, files, dir_fd in os.fwalk(data_dir, follow_symlinks=False):
        dirs[:] = [name for name in dirs if os.path.join(directory, name) not in skip]
        for name in (*dirs, *files):
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o077:
                continue
            os.chmod(name, stat.S_IMODE(info.st_mode) & 0o700, dir_fd=dir_fd)
            tightened += 1
    if tightened:
        log.warning(
            "data directory was readable by other users: took group and other permissions off",
            extra={"data_dir": str(data_dir), "entries": tightened},
        )
    return tightened


def share_with_sandbox(root: Path) -> None:
    """Let every user read (and traverse, and run what its owner may run) a tree unpacked under
    one of ``SHARED_WITH_SANDBOX``: the sandbox's uid reads it through its mounts. Links are left
    alone (never followed)."""
    os.chmod(root, os.stat(root).st_mode & 0o7777 | 0o555)
    for _, dirs, files, dir_fd in os.fwalk(root, follow_symlinks=False):
        for name in (*dirs, *files):
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                continue
            mode = info.st_mode & 0o7777
            extra = 0o555 if stat.S_ISDIR(info.st_mode) else 0o444 | (0o111 if mode & 0o100 else 0)
            if mode | extra != mode:
                os.chmod(name, mode | extra, dir_fd=dir_fd)
