"""What Ladle needs from a blob store, and the errors every store reports the same way.

Keys are strings such as a package guid or ``<droplet guid>/<sha1>``. Stores place them under a
two-level fan-out (``ab/cd/<key>``) so no directory or prefix grows without bound. A blob is
visible under its key only once all of it is written and its checksums are known: readers never
see a partial blob.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["BlobEntry", "BlobNotFound", "Blobstore", "Digest", "Readable", "fan_out"]


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class BlobNotFound(Exception):
    """No blob is stored under the key."""


@dataclass(frozen=True)
class Digest:
    size: int
    sha1: str
    sha256: str


@dataclass(frozen=True)
class BlobEntry:
    key: str
    size: int
    modified: datetime


def fan_out(key: str) -> str:
    """``abcdef...`` -> ``ab/cd/abcdef...`` (the key itself is kept whole at the end)."""
    key = key.lower()
    return f"{key[:2]}/{key[2:4]}/{key}"


class Blobstore(Protocol):
    def put_stream(self, key: str, stream: Readable) -> Digest:
        """Store everything ``stream`` yields under ``key``; returns its size and checksums."""
        ...

    def put_file(self, key: str, path: Path, *, digest: Digest | None = None, move: bool = False) -> Digest:
        """Store a local file. With ``move`` the file may be taken over instead of copied;
        a ``digest`` computed while the file was written saves hashing it again."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Read a blob as a stream; raises :class:`BlobNotFound`."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """The blob's size in bytes; raises :class:`BlobNotFound`."""
        ...

    def delete(self, key: str) -> None:
        """Remove a blob; deleting a missing blob is not an error."""
        ...

    def copy(self, source_key: str, dest_key: str) -> None:
        """Copy a blob to another key; raises :class:`BlobNotFound`."""
        ...

    def entries(self) -> Iterator[BlobEntry]:
        """Every stored blob, for sweeps that look for orphans."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A path the server can send the blob from directly, or None for remote stores."""
        ...

    def signed_url(self, key: str, expires_in: int = 3600) -> str | None:
        """A URL a client may fetch the blob from without credentials, if the store offers one."""
        ...

    def recover(self) -> int:
        """Drop leftovers of writes that never finished (run while no writer is active)."""
        ...
