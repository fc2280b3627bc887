"""A blob store on the local filesystem (the embedded default), under the data directory."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ladle.blobstore.base import BlobEntry, BlobNotFound, Digest, Readable, fan_out
from ladle.blobstore.digest import copy_hashing

__all__ = ["LocalBlobstore"]

TMP = ".tmp"


class LocalBlobstore:
    """Blobs as files under ``root``. Writes land in ``root/.tmp`` and are renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / TMP
        self.tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad blob key {key!r}")
        return self.root / fan_out(key)

    def _tmp_path(self) -> Path:
        return self.tmp / uuid.uuid4().hex

    def _commit(self, tmp: Path, key: str) -> None:
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        # Make the rename itself durable, not just the bytes.
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def put_stream(self, key: str, stream: Readable) -> Digest:
        tmp = self._tmp_path()
        try:
            with open(tmp, "wb") as fh:
                digest = copy_hashing(stream, fh)
            self._commit(tmp, key)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return digest

    def put_file(self, key: str, path: Path, *, digest: Digest | None = None, move: bool = False) -> Digest:
        if move and digest is not None and path.stat().st_dev == self.tmp.stat().st_dev:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            tmp = self._tmp_path()
            os.replace(path, tmp)
            try:
                self._commit(tmp, key)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            return digest
        with open(path, "rb") as fh:
            stored = self.put_stream(key, fh)
        if move:
            path.unlink(missing_ok=True)
        return stored

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

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # Drop emptied fan-out directories so sweeps stay cheap.
        for parent in (path.parent, path.parent.parent):
            if parent == self.root:
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def copy(self, source_key: str, dest_key: str) -> None:
        tmp = self._tmp_path()
        try:
            shutil.copyfile(self._path(source_key), tmp)
        except FileNotFoundError:
            raise BlobNotFound(source_key) from None
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._commit(tmp, dest_key)

    def entries(self) -> Iterator[BlobEntry]:
        for first in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name != TMP):
            for path in sorted(first.rglob("*")):
                if not path.is_file():
                    continue
                # ab/cd/<key...>: the key is everything after the two fan-out levels.
                key = "/".join(path.relative_to(self.root).parts[2:])
                stat = path.stat()
                yield BlobEntry(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None))

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def signed_url(self, key: str, expires_in: int = 3600) -> str | None:
        return None

    def recover(self) -> int:
        removed = 0
        for leftover in self.tmp.iterdir():
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed
