"""Inspecting an uploaded zip without extracting it.

Every check runs on the archive's own structures: the central directory, each local header, and
the entry data read through a decompressor. Nothing is ever written to a path taken from the
archive. A problem raises :class:`InvalidArchive` whose message is the text a client sees.
"""

from __future__ import annotations

import itertools
import posixpath
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["Archive", "ArchiveLimits", "Entry", "InvalidArchive", "PackageTooLarge", "inspect_zip"]

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_MAGIC = b"PK\x03\x04"
SUPPORTED_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
MAX_LINK_TARGET = 4096
READ_CHUNK = 1024 * 1024


class InvalidArchive(Exception):
    """The upload is not an archive Ladle accepts; the message says why (CF wording)."""


class PackageTooLarge(InvalidArchive):
    pass


def _invalid(reason: str | None = None) -> InvalidArchive:
    detail = "Invalid zip archive." if reason is None else f"Invalid zip archive ({reason})."
    return InvalidArchive(f"The app upload is invalid: {detail}")


@dataclass(frozen=True)
class ArchiveLimits:
    max_size: int
    max_entries: int = 200_000
    # Beyond this much uncompressed data, the archive may expand at most this many times.
    max_ratio: int = 200
    ratio_applies_above: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class Entry:
    info: zipfile.ZipInfo
    path: str  # normalised, relative, without a trailing slash
    kind: str  # "file", "dir" or "symlink"
    mode: int  # permission bits (0 when the archive does not say)
    data_offset: int

    @property
    def size(self) -> int:
        return self.info.file_size


@dataclass(frozen=True)
class Archive:
    path: Path
    entries: list[Entry]

    @property
    def needs_rebuild(self) -> bool:
        """Symbolic links are dropped from packages (as Cloud Controller does), which means
        writing a new zip; otherwise the upload itself can be stored."""
        return any(e.kind == "symlink" for e in self.entries)


def _normalise(name: str) -> str:
    if "\x00" in name or not name.strip("/"):
        raise _invalid(f"entry name {name!r} is not a valid path")
    # Archives made on Windows may use backslashes; unzip treats them as separators, so do we.
    candidate = name.replace("\\", "/")
    if candidate.startswith("/") or (len(candidate) > 1 and candidate[1] == ":"):
        raise _invalid(f"entry '{name}' has an absolute path")
    parts = [p for p in candidate.split("/") if p not in {"", "."}]
    if ".." in parts:
        raise _invalid(f"entry '{name}' points outside the application directory")
    return "/".join(parts)


def _kind_and_mode(info: zipfile.ZipInfo) -> tuple[str, int]:
    unix_mode = info.external_attr >> 16 if info.create_system == 3 else 0
    file_type = stat.S_IFMT(unix_mode)
    if file_type == stat.S_IFLNK:
        return "symlink", stat.S_IMODE(unix_mode)
    if file_type in {stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK}:
        raise _invalid(f"entry '{info.filename}' is a device, pipe or socket, not a file")
    if info.is_dir() or file_type == stat.S_IFDIR:
        return "dir", stat.S_IMODE(unix_mode)
    return "file", stat.S_IMODE(unix_mode)


def _local_data_offset(fh: IO[bytes], info: zipfile.ZipInfo, archive_size: int) -> int:
    fh.seek(info.header_offset)
    raw = fh.read(_LOCAL_HEADER.size)
    if len(raw) != _LOCAL_HEADER.size or raw[:4] != _LOCAL_MAGIC:
        raise _invalid("bad local file header")
    fields = _LOCAL_HEADER.unpack(raw)
    name_length, extra_length = int(fields[10]), int(fields[11])
    name = fh.read(name_length)
    flags = int(fields[3])
    decoded = name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
    if decoded != info.orig_filename:
        raise _invalid("mismatching local filename")
    offset = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    if offset + info.compress_size > archive_size:
        raise _invalid(f"entry '{info.filename}' is truncated")
    return offset


def inspect_zip(path: Path, limits: ArchiveLimits, *, verify_data: bool = True) -> Archive:
    """Check an archive's structure and (unless ``verify_data`` is off) every entry's data.

    Link targets are always checked; turning ``verify_data`` off is for archives Ladle wrote or
    already checked, where only a fresh look at the names is wanted.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise _invalid() from None
    with zf:
        infos = zf.infolist()
        if not infos:
            raise _invalid("zipfile is empty")
        if len(infos) > limits.max_entries:
            raise _invalid(f"more than {limits.max_entries} entries")
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_size:
            raise PackageTooLarge(f"The app package is invalid: Package may not be larger than {limits.max_size} bytes")
        archive_size = path.stat().st_size
        if declared > limits.ratio_applies_above and declared > archive_size * limits.max_ratio:
            raise _invalid(
                f"it would expand {declared // max(archive_size, 1)} times, above the limit of {limits.max_ratio}"
            )
        entries = _structure(zf, infos, archive_size)
        for entry in entries:
            if verify_data or entry.kind == "symlink":
                _verify_data(zf, entry)
    return Archive(path, entries)


def _structure(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], archive_size: int) -> list[Entry]:
    seen: set[str] = set()
    entries: list[Entry] = []
    assert zf.fp is not None
    for info in infos:
        if info.flag_bits & 0x1:
            raise _invalid(f"entry '{info.filename}' is encrypted")
        if info.compress_type not in SUPPORTED_METHODS:
            raise _invalid(f"entry '{info.filename}' uses an unsupported compression method")
        normalised = _normalise(info.orig_filename)
        if normalised in seen:
            raise _invalid(f"duplicate entry '{normalised}'")
        seen.add(normalised)
        kind, mode = _kind_and_mode(info)
        offset = _local_data_offset(zf.fp, info, archive_size)
        entries.append(Entry(info, normalised, kind, mode, offset))
    # Entries whose data overlap are how non-recursive zip bombs multiply their size.
    spans = sorted((e.info.header_offset, e.data_offset + e.info.compress_size, e.info.filename) for e in entries)
    for (_, end, name), (start, _, _) in itertools.pairwise(spans):
        if end > start:
            raise _invalid(f"entry '{name}' overlaps another entry")
    return entries


def _verify_data(zf: zipfile.ZipFile, entry: Entry) -> None:
    if entry.kind == "dir":
        return
    if entry.kind == "symlink":
        target = _read_small(zf, entry)
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(entry.path), target))
        if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
            raise _invalid(f"symbolic link '{entry.info.filename}' points outside the application directory")
        return
    for _ in iter_entry_data(zf, entry):
        pass


def _read_small(zf: zipfile.ZipFile, entry: Entry) -> str:
    if entry.size > MAX_LINK_TARGET:
        raise _invalid(f"symbolic link '{entry.info.filename}' has an overlong target")
    return b"".join(iter_entry_data(zf, entry)).decode("utf-8", "replace")


def iter_entry_data(zf: zipfile.ZipFile, entry: Entry) -> Iterator[bytes]:
    """An entry's uncompressed bytes, with its size and CRC-32 checked as they are read."""
    remaining = entry.size
    try:
        with zf.open(entry.info) as data:
            while chunk := data.read(READ_CHUNK):
                remaining -= len(chunk)
                yield chunk
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            raise _invalid(f"entry '{entry.info.filename}' is corrupt: bad CRC-32") from None
        raise _invalid(f"entry '{entry.info.filename}' is corrupt") from None
    except (EOFError, OSError, ValueError, zlib.error) as exc:
        raise _invalid(f"entry '{entry.info.filename}' is corrupt: {exc}") from None
    if remaining != 0:
        raise _invalid(f"entry '{entry.info.filename}' is truncated")
