"""The blob store contract (``ladle.blobstore.base``), run against every implementation.

An implementation joins by adding its name to ``IMPLEMENTATIONS`` and a ``<name>_blobstore``
fixture that builds a fresh, empty store (the S3 one starts an S3-compatible server on loopback).
"""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import httpx
import pytest

from ladle.blobstore import BlobNotFound, Blobstore, Redirect, StreamedBlob
from ladle.blobstore.local import LocalBlobstore
from tests.support.s3server import S3Server, fresh_s3_store

IMPLEMENTATIONS = ["local", "s3"]
DATA = bytes(range(256)) * 4096  # 1 MiB, more than one read chunk


@pytest.fixture
def local_blobstore(tmp_path: Path) -> Blobstore:
    return LocalBlobstore(tmp_path / "blobs", "node-a")


@pytest.fixture
def s3_blobstore(s3_server: S3Server, tmp_path: Path) -> Blobstore:
    return fresh_s3_store(s3_server, tmp_path)


@pytest.fixture(params=IMPLEMENTATIONS)
def store(request: pytest.FixtureRequest) -> Blobstore:
    blobstore: Blobstore = request.getfixturevalue(f"{request.param}_blobstore")
    return blobstore


def read(store: Blobstore, key: str) -> bytes:
    with store.open(key) as fh:
        return fh.read()


def keys(store: Blobstore, prefix: str = "") -> list[str]:
    return sorted(entry.key for entry in store.entries(prefix))


def test_a_blob_reads_back_as_written(store: Blobstore) -> None:
    digest = store.put_stream("0123abcd", io.BytesIO(DATA))
    assert (digest.size, digest.sha1, digest.sha256) == (
        len(DATA),
        hashlib.sha1(DATA).hexdigest(),
        hashlib.sha256(DATA).hexdigest(),
    )
    assert store.exists("0123abcd")
    assert store.size("0123abcd") == len(DATA)
    assert read(store, "0123abcd") == DATA
    [entry] = list(store.entries())
    assert (entry.key, entry.size) == ("0123abcd", len(DATA))
    # Writing again replaces the blob.
    store.put_stream("0123abcd", io.BytesIO(b"second"))
    assert read(store, "0123abcd") == b"second"


def test_put_file_copies_or_takes_over_the_file(store: Blobstore, tmp_path: Path) -> None:
    source = tmp_path / "upload.bin"
    source.write_bytes(DATA)
    digest = store.put_file("aaaa0001", source)
    assert source.exists() and read(store, "aaaa0001") == DATA
    assert digest.sha256 == hashlib.sha256(DATA).hexdigest()
    moved = store.put_file("aaaa0002", source, digest=digest, move=True)
    assert moved == digest
    assert not source.exists()
    assert read(store, "aaaa0002") == DATA
    # Without a digest the store computes it, and still takes the file over.
    source.write_bytes(b"small")
    assert store.put_file("aaaa0003", source, move=True).sha1 == hashlib.sha1(b"small").hexdigest()
    assert not source.exists()


def test_a_missing_blob_is_blob_not_found_everywhere(store: Blobstore) -> None:
    assert not store.exists("feedbeef")
    for attempt in (
        lambda: store.open("feedbeef"),
        lambda: store.size("feedbeef"),
        lambda: store.copy("feedbeef", "beeffeed"),
        lambda: store.download("feedbeef"),
    ):
        with pytest.raises(BlobNotFound):
            attempt()
    with pytest.raises(BlobNotFound), store.open_local("feedbeef"):
        pass
    with pytest.raises(BlobNotFound), store.take_local("feedbeef"):
        pass
    assert not store.exists("beeffeed")
    # Deleting what is not there is not an error.
    store.delete("feedbeef")
    store.delete_keys(["feedbeef", "beeffeed"])
    assert store.delete_prefix("feed") == 0


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../../x", "ab/../../../x"])
def test_keys_that_could_leave_the_store_are_refused(store: Blobstore, key: str) -> None:
    with pytest.raises(ValueError, match="bad blob key"):
        store.put_stream(key, io.BytesIO(b"x"))
    with pytest.raises(ValueError, match="bad blob key"):
        store.open(key)


class Failing(io.RawIOBase):
    """A stream that breaks after some of the data."""

    def __init__(self, data: bytes, fail_after: int) -> None:
        self.data, self.fail_after, self.pos = data, fail_after, 0

    def read(self, size: int = -1) -> bytes:
        if self.pos >= self.fail_after:
            raise OSError("connection lost")
        chunk = self.data[self.pos : self.pos + min(size if size > 0 else 4096, 4096)]
        self.pos += len(chunk)
        return chunk


def test_a_failed_write_leaves_nothing_and_keeps_the_old_blob(store: Blobstore) -> None:
    with pytest.raises(OSError, match="connection lost"):
        store.put_stream("cafe0001", Failing(DATA, 100_000))
    assert not store.exists("cafe0001")
    assert keys(store) == []
    store.put_stream("cafe0002", io.BytesIO(b"old"))
    with pytest.raises(OSError, match="connection lost"):
        store.put_stream("cafe0002", Failing(DATA, 100_000))
    assert read(store, "cafe0002") == b"old"
    assert keys(store) == ["cafe0002"]


class Paused(io.RawIOBase):
    """A stream that gives half its data, then waits to be released before giving the rest."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0
        self.halfway = threading.Event()
        self.release = threading.Event()

    def read(self, size: int = -1) -> bytes:
        if self.pos >= len(self.data) // 2 and not self.release.is_set():
            self.halfway.set()
            assert self.release.wait(10)
        chunk = self.data[self.pos : self.pos + 4096]
        self.pos += len(chunk)
        return chunk


def test_readers_never_see_a_partial_blob(store: Blobstore) -> None:
    stream = Paused(DATA)
    writer = threading.Thread(target=store.put_stream, args=("beef0001", stream))
    writer.start()
    try:
        assert stream.halfway.wait(10)
        assert not store.exists("beef0001")
        assert keys(store) == []
        with pytest.raises(BlobNotFound):
            store.open("beef0001")
    finally:
        stream.release.set()
        writer.join(10)
    assert read(store, "beef0001") == DATA


def test_copy_leaves_the_source(store: Blobstore) -> None:
    store.put_stream("dada0001", io.BytesIO(DATA))
    store.put_stream("dada0002", io.BytesIO(b"to be replaced"))
    store.copy("dada0001", "dada0002")
    store.copy("dada0001", "dada0003/with/slashes")
    assert read(store, "dada0001") == DATA
    assert read(store, "dada0002") == DATA
    assert read(store, "dada0003/with/slashes") == DATA


def test_delete_by_keys_and_by_prefix(store: Blobstore) -> None:
    for key in ("app-1/cflinuxfs4", "app-1/cflinuxfs3", "app-10/cflinuxfs4", "bpp-1/x", "other", "other-2"):
        store.put_stream(key, io.BytesIO(key.encode()))
    assert keys(store, "app-1/") == ["app-1/cflinuxfs3", "app-1/cflinuxfs4"]
    assert store.delete_prefix("app-1/") == 2
    assert keys(store) == ["app-10/cflinuxfs4", "bpp-1/x", "other", "other-2"]
    assert store.delete_prefix("a") == 1  # short prefixes work too
    store.delete_keys(["other", "not-there"])
    assert keys(store) == ["bpp-1/x", "other-2"]
    store.delete("bpp-1/x")
    assert keys(store) == ["other-2"]


def test_download_is_a_stream_or_a_redirect(store: Blobstore) -> None:
    store.put_stream("d0d0d0d0", io.BytesIO(DATA))
    download = store.download("d0d0d0d0")
    if isinstance(download, Redirect):
        assert httpx.get(download.url).content == DATA
    else:
        assert isinstance(download, StreamedBlob)
        assert download.size == len(DATA)
        with download.open() as fh:
            assert fh.read() == DATA


def test_open_local_lends_a_readable_file(store: Blobstore) -> None:
    store.put_stream("10ca1001", io.BytesIO(DATA))
    with store.open_local("10ca1001") as path:
        assert path.read_bytes() == DATA
    assert read(store, "10ca1001") == DATA


def test_take_local_hands_the_blob_over(store: Blobstore, tmp_path: Path) -> None:
    store.put_stream("7a4e0001", io.BytesIO(DATA))
    store.put_stream("7a4e0002", io.BytesIO(b"left behind"))
    with store.take_local("7a4e0001") as path:
        assert not store.exists("7a4e0001")
        assert path.read_bytes() == DATA
        # The caller may move it on, e.g. into another key of the store.
        store.put_file("7a4e0003", path, move=True)
    with store.take_local("7a4e0002") as path:
        kept = path
    assert not kept.exists()  # what the caller left is deleted
    assert keys(store) == ["7a4e0003"]
    assert read(store, "7a4e0003") == DATA


def test_recover_with_nothing_unfinished_removes_nothing(store: Blobstore) -> None:
    store.put_stream("5afe0001", io.BytesIO(b"committed"))
    assert store.recover() == 0
    assert read(store, "5afe0001") == b"committed"
