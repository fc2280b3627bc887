"""A blob store on the local filesystem (the embedded default), under the data directory.

Blobs are files at ``<root>/ab/cd/<key>``. Writes land in ``<root>/.tmp/<node>.<random>``, are
fsynced and renamed into place, and the rename is fsynced too. The store's files never leave
this module: :meth:`LocalBlobstore.open_local` lends a blob's own file, :meth:`take_local`
renames it out, and ``put_file(move=True)`` renames a file in, so a 1 GiB upload moves through
the stores without being copied.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from ladle.blobstore.base import BlobEntry, BlobNotFound, Digest, Download, Readable, StreamedBlob, fan_out
from ladle.blobstore.digest import copy_hashing

__all__ = ["LocalBlobstore"]

TMP = ".tmp"
# Temporary files are "<node>.<random>", so a node's own are found by the prefix "<node>.".
NODE_ID = re.compile(r"[A-Za-z0-9_-]+")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _modified(mtime: float) -> datetime:
    return datetime.fromtimestamp(mtime, UTC).replace(tzinfo=None)


def _files_below(folder: Path) -> Iterator[Path]:
    """Every file under ``folder``, in a stable order; folders that vanish while walking (a
    concurrent delete prunes them) are skipped, as ``os.walk`` skips what it cannot list."""
    for directory, subdirs, files in os.walk(folder):
        subdirs.sort()
        for name in sorted(files):
            yield Path(directory) / name


class LocalBlobstore:
    """Blobs as files under ``root``; ``node`` marks the temporary files this node writes."""

    def __init__(self, root: Path, node: str = "local") -> None:
        if not NODE_ID.fullmatch(node):
            raise ValueError(f"bad node id {node!r}: letters, digits, '-' and '_' only")
        self.root = root
        self.node = node
        self.tmp = root / TMP
        self.tmp.mkdir(parents=True, exist_ok=True)

    # --- layout ----------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        return self.root / fan_out(key)

    def _tmp_path(self) -> Path:
        return self.tmp / f"{self.node}.{uuid.uuid4().hex}"

    def _commit(self, tmp: Path, key: str) -> None:
        """Rename a finished temporary file into place (the one step that makes a blob visible)."""
        final = self._path(key)
        try:
            for attempt in range(3):
                final.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.replace(tmp, final)
                    break
                except FileNotFoundError:
                    # A delete pruned the folder, emptied, between mkdir and rename: make it again.
                    if attempt == 2 or not tmp.exists():
                        raise
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync(final.parent)  # the rename itself must survive a crash, not just the bytes

    def _prune(self, path: Path) -> None:
        """Drop fan-out directories a delete emptied, so sweeps stay cheap."""
        for parent in path.parents:
            if parent == self.root or self.root not in parent.parents:
                break
            try:
                parent.rmdir()
            except OSError:
                break

    # --- writing ---------------------------------------------------------------------------
    def put_stream(self, key: str, stream: Readable) -> Digest:
        self._path(key)  # refuse a bad key before writing anything
        tmp = self._tmp_path()
        try:
            with open(tmp, "wb") as fh:
                digest = copy_hashing(stream, fh)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._commit(tmp, key)
        return digest

    def put_file(self, key: str, path: Path, *, digest: Digest | None = None, move: bool = False) -> Digest:
        self._path(key)
        if move and digest is not None and path.stat().st_dev == self.tmp.stat().st_dev:
            _fsync(path)
            tmp = self._tmp_path()
            os.replace(path, tmp)
            self._commit(tmp, key)
            return digest
        with open(path, "rb") as fh:
            stored = self.put_stream(key, fh)
        if move:
            path.unlink(missing_ok=True)
        return stored

    def copy(self, source_key: str, dest_key: str) -> None:
        self._path(dest_key)
        tmp = self._tmp_path()
        try:
            shutil.copyfile(self._path(source_key), tmp)
            _fsync(tmp)
        except FileNotFoundError:
            tmp.unlink(missing_ok=True)
            raise BlobNotFound(source_key) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._commit(tmp, dest_key)

    # --- reading ---------------------------------------------------------------------------
    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def download(self, key: str) -> Download:
        path = self._path(key)
        size = self.size(key)
        return StreamedBlob(size, lambda: open(path, "rb"))

    @contextmanager
    def open_local(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFound(key)
        yield path

    @contextmanager
    def take_local(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        taken = self._tmp_path()
        try:
            os.replace(path, taken)
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        self._prune(path)
        try:
            yield taken
        finally:
            taken.unlink(missing_ok=True)

    # --- deleting --------------------------------------------------------------------------
    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        self._prune(path)

    def delete_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.delete(key)

    def delete_prefix(self, prefix: str) -> int:
        removed = 0
        for entry in list(self.entries(prefix)):
            self.delete(entry.key)
            removed += 1
        return removed

    # --- sweeping --------------------------------------------------------------------------
    def _candidates(self, prefix: str) -> Iterator[Path]:
        """Files that may hold keys starting with ``prefix``: with four characters or more the
        fan-out names the one directory to look in (and the prefix's own folders narrow it).
        Blobs deleted meanwhile (and the folders a delete prunes) are passed over, not errors."""
        prefix = prefix.lower()
        if len(prefix) >= 4:
            base = self.root / fan_out(prefix)
            yield from _files_below(base if prefix.endswith("/") else base.parent)
            return
        for first in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name != TMP):
            if first.name.startswith(prefix[:2]):
                yield from _files_below(first)

    def entries(self, prefix: str = "") -> Iterator[BlobEntry]:
        for path in self._candidates(prefix):
            # ab/cd/<key...>: the key is everything after the two fan-out levels.
            key = "/".join(path.relative_to(self.root).parts[2:])
            if not key.startswith(prefix.lower()):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # deleted since it was listed
            yield BlobEntry(key, stat.st_size, _modified(stat.st_mtime))

    def recover(self) -> int:
        removed = 0
        for leftover in self.tmp.glob(f"{self.node}.*"):
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    def sweep_temporaries(self, older_than: timedelta) -> int:
        cutoff = datetime.now(UTC).replace(tzinfo=None) - older_than
        removed = 0
        for leftover in self.tmp.iterdir():
            try:
                stale = _modified(leftover.stat().st_mtime) < cutoff
            except FileNotFoundError:
                continue  # committed or dropped meanwhile
            if stale:
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed
