"""Hashing data on its way to disk, so a blob is read once however many checksums it needs."""

from __future__ import annotations

import hashlib
import os
from typing import BinaryIO

from ladle.blobstore.base import Digest, Readable

__all__ = ["CHUNK", "HashingWriter", "copy_hashing"]

CHUNK = 1024 * 1024


class HashingWriter:
    """Writes to a file while computing its size, sha1 and sha256."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.size = 0
        self._sha1 = hashlib.sha1()
        self._sha256 = hashlib.sha256()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.fh.write(data)
        self._sha1.update(data)
        self._sha256.update(data)
        self.size += len(data)

    def finish(self) -> Digest:
        """Flush and fsync: when this returns, the bytes are on disk."""
        self.fh.flush()
        os.fsync(self.fh.fileno())
        return Digest(self.size, self._sha1.hexdigest(), self._sha256.hexdigest())


def copy_hashing(source: Readable, dest: BinaryIO) -> Digest:
    writer = HashingWriter(dest)
    while chunk := source.read(CHUNK):
        writer.write(chunk)
    return writer.finish()
