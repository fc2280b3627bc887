"""Checking an uploaded droplet (a gzipped tarball) without extracting it.

A droplet comes from a user, and whatever later unpacks it (a runtime, or ``cf`` downloading it)
must not be led outside its directory. So every member is looked at, streamed through the
decompressor once: names must be relative and stay inside, links must point inside, and only
files, directories and links are allowed. Nothing is written anywhere.
"""

from __future__ import annotations

import posixpath
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DropletLimits", "InvalidDroplet", "TarballSummary", "inspect_droplet"]

GZIP_MAGIC = b"\x1f\x8b"
# Above this much content the expansion ratio is checked (small tarballs of zeros are fine).
RATIO_APPLIES_ABOVE = 64 * 1024 * 1024


class InvalidDroplet(ValueError):
    pass


@dataclass(frozen=True)
class DropletLimits:
    max_expanded_size: int
    max_ratio: int = 200
    max_entries: int = 1_000_000


@dataclass(frozen=True)
class TarballSummary:
    entries: int
    expanded_size: int


def _normalise(name: str) -> str:
    """The member's path relative to the droplet root; refuses absolute and escaping names."""
    if "\x00" in name:
        raise InvalidDroplet(f"entry {name!r} has a NUL byte in its name")
    if name.startswith("/"):
        raise InvalidDroplet(f"entry '{name}' has an absolute path")
    normalised = posixpath.normpath(name)
    if normalised == ".." or normalised.startswith("../"):
        raise InvalidDroplet(f"entry '{name}' points outside the droplet")
    return normalised


def _check_link(member: tarfile.TarInfo, path: str) -> None:
    target = member.linkname
    if member.issym():
        if target.startswith("/"):
            raise InvalidDroplet(f"symbolic link '{member.name}' points outside the droplet")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if resolved == ".." or resolved.startswith("../"):
            raise InvalidDroplet(f"symbolic link '{member.name}' points outside the droplet")
    else:
        # A hard link names another member by its path from the root.
        if target.startswith("/"):
            raise InvalidDroplet(f"hard link '{member.name}' points outside the droplet")
        resolved = posixpath.normpath(target)
        if resolved == ".." or resolved.startswith("../"):
            raise InvalidDroplet(f"hard link '{member.name}' points outside the droplet")


def _kind(member: tarfile.TarInfo) -> str | None:
    if member.ischr():
        return "a character device"
    if member.isblk():
        return "a block device"
    if member.isfifo():
        return "a FIFO"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "of an unsupported type"
    return None


def inspect_droplet(path: Path, limits: DropletLimits) -> TarballSummary:
    """Read the whole tarball once; raise :class:`InvalidDroplet` at the first problem."""
    with open(path, "rb") as fh:
        if fh.read(2) != GZIP_MAGIC:
            raise InvalidDroplet("the file is not gzip compressed")
    compressed = path.stat().st_size
    entries = 0
    expanded = 0
    try:
        with tarfile.open(path, mode="r|gz") as tar:
            for member in tar:
                entries += 1
                if entries > limits.max_entries:
                    raise InvalidDroplet(f"it has more than {limits.max_entries} entries")
                kind = _kind(member)
                if kind is not None:
                    raise InvalidDroplet(f"entry '{member.name}' is {kind}")
                normalised = _normalise(member.name)
                if member.issym() or member.islnk():
                    _check_link(member, normalised)
                expanded += member.size
                if expanded > limits.max_expanded_size:
                    raise InvalidDroplet(f"it expands to more than {limits.max_expanded_size} bytes")
                if expanded > RATIO_APPLIES_ABOVE and expanded > compressed * limits.max_ratio:
                    raise InvalidDroplet(f"it expands more than {limits.max_ratio} times")
    except tarfile.ReadError as exc:
        if "unexpected end" in str(exc):
            raise InvalidDroplet(f"it is truncated or corrupt ({exc})") from None
        raise InvalidDroplet(f"it is not a valid tar archive ({exc})") from None
    except (EOFError, zlib.error, OSError) as exc:
        raise InvalidDroplet(f"it is truncated or corrupt ({exc})") from None
    if entries == 0:
        raise InvalidDroplet("the tarball is empty")
    return TarballSummary(entries, expanded)
