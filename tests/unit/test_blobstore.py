"""The local blob store: fan-out keys, atomic writes, recovery of unfinished writes."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from ladle.blobstore import BlobNotFound
from ladle.blobstore.base import fan_out
from ladle.blobstore.local import LocalBlobstore


def test_fan_out() -> None:
    assert fan_out("ABCDEF") == "ab/cd/abcdef"
    assert fan_out("0123-g/sha") == "01/23/0123-g/sha"


def test_put_get_copy_delete(tmp_path: Path) -> None:
    store = LocalBlobstore(tmp_path)
    data = b"payload" * 1000
    digest = store.put_stream("abcdef", io.BytesIO(data))
    assert (digest.size, digest.sha1, digest.sha256) == (
        len(data),
        hashlib.sha1(data).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )
    assert (tmp_path / "ab" / "cd" / "abcdef").read_bytes() == data
    assert store.exists("abcdef") and store.size("abcdef") == len(data)
    with store.open("abcdef") as fh:
        assert fh.read() == data
    store.copy("abcdef", "fedcba/sha")
    assert store.open("fedcba/sha").read() == data
    assert sorted(e.key for e in store.entries()) == ["abcdef", "fedcba/sha"]
    store.delete("abcdef")
    store.delete("abcdef")  # deleting twice is fine
    assert not store.exists("abcdef")
    assert not (tmp_path / "ab").exists()  # emptied fan-out directories go too
    with pytest.raises(BlobNotFound):
        store.open("abcdef")
    with pytest.raises(BlobNotFound):
        store.copy("missing", "x")
    with pytest.raises(ValueError, match="bad blob key"):
        store.put_stream("../../etc/x", io.BytesIO(b""))


class Exploding(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        if self.tell() > 1000:
            raise OSError("disk on fire")
        return super().read(min(size or 500, 500))


def test_failed_write_leaves_nothing_visible(tmp_path: Path) -> None:
    store = LocalBlobstore(tmp_path)
    with pytest.raises(OSError, match="disk on fire"):
        store.put_stream("abcdef", Exploding(b"x" * 5000))
    assert not store.exists("abcdef")
    assert list(store.tmp.iterdir()) == []


def test_move_and_recover(tmp_path: Path) -> None:
    store = LocalBlobstore(tmp_path / "blobs")
    upload = tmp_path / "upload.bin"
    upload.write_bytes(b"bits")
    digest = store.put_stream("aaaa", io.BytesIO(b"bits"))
    moved = store.put_file("bbbb", upload, digest=digest, move=True)
    assert moved == digest and not upload.exists()
    assert store.open("bbbb").read() == b"bits"
    (store.tmp / "half-written").write_bytes(b"partial")
    assert store.recover() == 1
    assert list(store.tmp.iterdir()) == []
