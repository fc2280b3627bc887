"""The resource pool: app files Ladle has seen, stored by sha1, so clients need not send them again."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ladle.blobstore.base import BlobNotFound, Blobstore

__all__ = ["ChecksumMismatch", "ResourcePool"]

CHUNK = 1024 * 1024


class ChecksumMismatch(Exception):
    """A pooled file's content does not hash to its key (the bad entries were removed)."""


@dataclass(frozen=True)
class ResourcePool:
    store: Blobstore
    min_size: int
    max_size: int

    def matchable(self, sha1: Any, size: Any) -> bool:
        """Cloud Controller matches only files strictly between the bounds (it caches them inclusively)."""
        return (
            isinstance(size, int)
            and not isinstance(size, bool)
            and self.min_size < size < self.max_size
            and isinstance(sha1, str)
            and len(sha1) == 40
        )

    def cacheable(self, size: int, mode: int) -> bool:
        return self.min_size <= size <= self.max_size and (mode & 0o600) == 0o600

    def has(self, sha1: str) -> bool:
        return self.store.exists(sha1.lower())

    def verified_chunks(self, sha1: str, expected_size: int) -> Iterator[bytes]:
        """A pooled file's bytes; a file whose content is not ``sha1`` is deleted from the pool
        and reported with :class:`ChecksumMismatch` once it has been read."""
        key = sha1.lower()
        digest = hashlib.sha1()
        size = 0
        try:
            stream = self.store.open(key)
        except BlobNotFound:
            raise ChecksumMismatch(sha1) from None
        with stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                yield chunk
        if digest.hexdigest() != key or size != expected_size:
            self.store.delete(key)
            raise ChecksumMismatch(sha1)

    def add(self, sha1: str, chunks: Iterator[bytes]) -> None:
        """Store a file under its sha1 unless the pool already has it."""
        key = sha1.lower()
        if self.store.exists(key):
            return
        self.store.put_stream(key, _ChunkReader(chunks))


class _ChunkReader:
    """A file-like view of an iterator of byte strings."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buffer += chunk
        if size < 0:
            out, self.buffer = self.buffer, b""
        else:
            out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out
