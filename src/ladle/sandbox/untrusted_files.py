"""Reading and writing files in directories user code has written to, without being led astray.

Ladle (possibly root) reads a buildpack's ``launch.yml``, ``config.yml`` or the app's ``Procfile``
and writes ``staging_info.yml`` after user code had the run of those directories. Any component
may have become a symlink (to the signing key, to ``/etc/cron.d``), or a FIFO that blocks an
open: every component is opened relative to its parent without following links, and only a
regular file is read or replaced.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path, PurePosixPath

__all__ = ["UnsafePath", "read_beneath", "write_beneath"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(OSError):
    """A component is a link or not the kind of file expected."""


def _open_parent(root: Path, relative: str) -> tuple[int, str]:
    parts = PurePosixPath(relative).parts
    if not parts or any(part in ("..", "/") for part in parts):
        raise UnsafePath(f"not a plain relative path: {relative}")
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            try:
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise UnsafePath(f"{relative}: {exc.strerror}") from None
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd, parts[-1]


def read_beneath(root: Path, relative: str, limit: int = 1024 * 1024) -> bytes | None:
    """The bytes of regular file ``root/relative`` (at most ``limit``), or None when it is absent,
    a link, or anything but a regular file."""
    try:
        parent, name = _open_parent(root, relative)
    except (UnsafePath, FileNotFoundError, NotADirectoryError):
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent)
    except OSError:
        return None
    finally:
        os.close(parent)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        remaining = limit
        while remaining > 0 and (chunk := os.read(fd, min(remaining, 65536))):
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_beneath(root: Path, relative: str, data: bytes) -> None:
    """Replace ``root/relative`` with a new regular file holding ``data`` (whatever was there)."""
    parent, name = _open_parent(root, relative)
    temporary = f".{name}.ladle-{os.getpid()}"
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=parent)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temporary, flags, 0o644, dir_fd=parent)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        # A rename replaces a link (or anything else) of that name rather than writing through it.
        os.rename(temporary, name, src_dir_fd=parent, dst_dir_fd=parent)
    finally:
        os.close(parent)
