"""The blob store contract: what Ladle needs from a place that keeps blobs, with no local paths in it.

Keys are strings such as a package guid, ``<app guid>/<stack>`` or a sha1. The contract:

- **Commit by rename.** A blob is visible under its key only once all of it is written: every
  write goes to a temporary name that carries the writing node's id and is committed in one
  step. Readers never see a partial blob, and a failed write leaves nothing behind.
- **Streaming.** Writes take a stream or a file, reads give a stream; nothing holds a whole
  blob in memory.
- **Server-side copy**, and deletes by key list or by prefix that do not list the whole store.
- **Downloads** are either a streamed body or a redirect to a URL the client fetches itself.
- **Local files on request.** :meth:`Blobstore.open_local` and :meth:`Blobstore.take_local` give
  a file on this machine for code that needs one (unzip, zipfile). The local store hands its own
  file (no copy); a remote store downloads. Callers never learn where a store keeps its blobs.
- Every "missing" surfaces as :class:`BlobNotFound`, whatever the backend.

``tests/unit/test_blobstore_contract.py`` checks all of this against every implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = [
    "BlobEntry",
    "BlobNotFound",
    "Blobstore",
    "Digest",
    "Download",
    "Readable",
    "Redirect",
    "StreamedBlob",
    "check_key",
    "fan_out",
]


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


@dataclass(frozen=True)
class StreamedBlob:
    """A download the server streams: ``open`` gives the bytes, ``size`` says how many."""

    size: int
    open: Callable[[], BinaryIO]


@dataclass(frozen=True)
class Redirect:
    """A download the client fetches from ``url`` without credentials (a signed URL)."""

    url: str


Download = StreamedBlob | Redirect


def check_key(key: str) -> str:
    """Refuse keys that could leave the store (empty, absolute, ``..``); every store checks."""
    if not key or key.startswith("/") or ".." in key.split("/") or "\x00" in key:
        raise ValueError(f"bad blob key {key!r}")
    return key


def fan_out(key: str) -> str:
    """``abcdef...`` -> ``ab/cd/abcdef...``: where a store places a key, so that no directory or
    prefix grows without bound (the key itself is kept whole at the end, lower-cased)."""
    key = check_key(key).lower()
    return f"{key[:2]}/{key[2:4]}/{key}"


class Blobstore(Protocol):
    # --- writing ---------------------------------------------------------------------------
    def put_stream(self, key: str, stream: Readable) -> Digest:
        """Store everything ``stream`` yields under ``key`` (replacing any blob there); returns
        its size and checksums."""
        ...

    def put_file(self, key: str, path: Path, *, digest: Digest | None = None, move: bool = False) -> Digest:
        """Store a local file. With ``move`` the store takes the file over (the local store
        renames it when it can) and it is gone afterwards; a ``digest`` computed while the file
        was written saves hashing it again."""
        ...

    def copy(self, source_key: str, dest_key: str) -> None:
        """Copy a blob inside the store, without passing its bytes through this process where
        the backend can; raises :class:`BlobNotFound`."""
        ...

    # --- reading ---------------------------------------------------------------------------
    def open(self, key: str) -> BinaryIO:
        """Read a blob as a stream; raises :class:`BlobNotFound`."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """The blob's size in bytes; raises :class:`BlobNotFound`."""
        ...

    def download(self, key: str) -> Download:
        """How a client gets the blob: streamed by the server, or a redirect; raises
        :class:`BlobNotFound`."""
        ...

    def open_local(self, key: str) -> AbstractContextManager[Path]:
        """A file on this machine holding the blob, for reading only, valid inside the block;
        raises :class:`BlobNotFound`."""
        ...

    def take_local(self, key: str) -> AbstractContextManager[Path]:
        """Remove the blob from the store and hand its content over as a file on this machine
        that the caller owns inside the block (it may move it, e.g. into another store with
        ``put_file(move=True)``); whatever is left at the end is deleted. Raises
        :class:`BlobNotFound`."""
        ...

    # --- deleting --------------------------------------------------------------------------
    def delete(self, key: str) -> None:
        """Remove a blob; deleting a missing blob is not an error."""
        ...

    def delete_keys(self, keys: Iterable[str]) -> None:
        """Remove every listed blob (missing ones are skipped)."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose key starts with ``prefix``, looking only where such keys can
        be; returns how many went."""
        ...

    # --- sweeping --------------------------------------------------------------------------
    def entries(self, prefix: str = "") -> Iterator[BlobEntry]:
        """Stored blobs (whose key starts with ``prefix``), for sweeps that look for orphans."""
        ...

    def recover(self) -> int:
        """Drop this node's unfinished writes (run at start-up, before this node writes);
        other nodes' writes are left alone. Returns how many went."""
        ...

    def sweep_temporaries(self, older_than: timedelta) -> int:
        """Drop unfinished writes of any node older than ``older_than`` (a node that died and
        never came back). Returns how many went."""
        ...
