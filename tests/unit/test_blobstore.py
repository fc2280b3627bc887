"""The local blob store's own ways: its layout on disk, moves that are renames, and recovery of
one node's unfinished writes (the contract every store keeps is in test_blobstore_contract.py)."""

from __future__ import annotations

import hashlib
import io
import os
import time
from datetime import timedelta
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
    store = LocalBlobstore(tmp_path / "blobs", "node-a")
    upload = tmp_path / "upload.bin"
    upload.write_bytes(b"bits")
    digest = store.put_stream("aaaa", io.BytesIO(b"bits"))
    moved = store.put_file("bbbb", upload, digest=digest, move=True)
    assert moved == digest and not upload.exists()
    assert store.open("bbbb").read() == b"bits"
    (store.tmp / "node-a.half-written").write_bytes(b"partial")
    # Another node sharing the store is writing right now: its file is not ours to remove.
    (store.tmp / "node-b.half-written").write_bytes(b"partial")
    (store.tmp / "node-a-2.half-written").write_bytes(b"partial")
    assert store.recover() == 1
    assert sorted(p.name for p in store.tmp.iterdir()) == ["node-a-2.half-written", "node-b.half-written"]


def test_stale_writes_of_any_node_go_after_their_grace(tmp_path: Path) -> None:
    store = LocalBlobstore(tmp_path, "node-a")
    old, young = store.tmp / "node-b.old", store.tmp / "node-c.young"
    old.write_bytes(b"x")
    young.write_bytes(b"x")
    day_ago = time.time() - 24 * 3600
    os.utime(old, (day_ago, day_ago))
    assert store.sweep_temporaries(timedelta(hours=1)) == 1
    assert [p.name for p in store.tmp.iterdir()] == ["node-c.young"]


def test_moves_between_stores_are_renames(tmp_path: Path) -> None:
    """A 1 GiB upload goes spool -> uploads -> packages without a byte being copied."""
    uploads = LocalBlobstore(tmp_path / "uploads", "node-a")
    packages = LocalBlobstore(tmp_path / "packages", "node-a")
    spool = tmp_path / "spool.bin"
    spool.write_bytes(b"zip bytes")
    inode = spool.stat().st_ino
    digest = uploads.put_stream("scratch", io.BytesIO(b"zip bytes"))
    uploads.put_file("up-1", spool, digest=digest, move=True)
    with uploads.open_local("up-1") as lent:
        assert lent.stat().st_ino == inode
    with uploads.take_local("up-1") as taken:
        assert taken.stat().st_ino == inode
        packages.put_file("pkg-1", taken, digest=digest, move=True)
    with packages.open_local("pkg-1") as stored:
        assert stored.stat().st_ino == inode
        assert stored.read_bytes() == b"zip bytes"


def test_node_ids_cannot_reach_another_nodes_files(tmp_path: Path) -> None:
    for bad in ("", "a.b", "a/b", "*"):
        with pytest.raises(ValueError, match="bad node id"):
            LocalBlobstore(tmp_path, bad)
