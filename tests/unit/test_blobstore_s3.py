"""What the S3 store does beyond the contract: multipart uploads, their failure, flat memory,
downloads either way, sweeps of unfinished uploads, and kinds sharing one bucket."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ladle.blobstore import Redirect, StreamedBlob
from ladle.blobstore.s3 import S3Blobstore, S3Location
from ladle.config import ConfigError, Settings
from tests.support.s3server import S3Server, fresh_s3_store

MIB = 1024 * 1024
BIG = os.urandom(12 * MIB + 12345)  # three parts of 5 MiB, the last short


class Counting(io.RawIOBase):
    """A stream of ``data`` that fails after ``fail_after`` bytes (if given) and records how far
    ahead of the upload its reader got (for the memory bound)."""

    def __init__(self, data: bytes, fail_after: int | None = None) -> None:
        self.data, self.pos, self.fail_after = data, 0, fail_after

    def read(self, size: int = -1) -> bytes:
        if self.fail_after is not None and self.pos >= self.fail_after:
            raise OSError("client went away")
        size = len(self.data) if size < 0 else size
        chunk = self.data[self.pos : self.pos + size]
        self.pos += len(chunk)
        return chunk


def pending_uploads(store: S3Blobstore) -> list[str]:
    answer = store.client.list_multipart_uploads(Bucket=store.bucket)
    return [upload["Key"] for upload in answer.get("Uploads", [])]


def test_a_large_stream_goes_up_in_parts_and_reads_back(s3_server: S3Server, tmp_path: Path) -> None:
    store = fresh_s3_store(s3_server, tmp_path)
    digest = store.put_stream("big0001", Counting(BIG))
    assert digest.size == len(BIG)
    assert digest.sha256 == hashlib.sha256(BIG).hexdigest()
    with store.open("big0001") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == digest.sha256
    # It was a multipart upload: S3's ETag of one names its part count.
    etag = store.client.head_object(Bucket=store.bucket, Key="packages/big0001")["ETag"]
    assert etag.strip('"').endswith("-3")
    assert pending_uploads(store) == []
    # Server-side copy of a multipart blob, and a file taken over in parts.
    store.copy("big0001", "big0002")
    with store.open_local("big0002") as path:
        assert path.read_bytes() == BIG
    source = tmp_path / "big.bin"
    source.write_bytes(BIG)
    assert store.put_file("big0003", source, move=True).sha1 == hashlib.sha1(BIG).hexdigest()
    assert not source.exists()
    assert store.size("big0003") == len(BIG)


def test_a_multipart_upload_that_fails_leaves_nothing(s3_server: S3Server, tmp_path: Path) -> None:
    store = fresh_s3_store(s3_server, tmp_path)
    store.put_stream("keep0001", io.BytesIO(b"old"))
    with pytest.raises(OSError, match="client went away"):
        store.put_stream("keep0001", Counting(BIG, fail_after=11 * MIB))
    with store.open("keep0001") as fh:
        assert fh.read() == b"old"
    assert pending_uploads(store) == []  # aborted, not left to cost storage


def test_memory_stays_at_a_few_parts(s3_server: S3Server, tmp_path: Path) -> None:
    """The reader is never more than ``parallel`` parts ahead of what S3 has acknowledged."""
    store = fresh_s3_store(s3_server, tmp_path, parallel=2)
    sent: list[int] = []

    def acknowledged(**_: object) -> None:
        sent.append(stream.pos)

    store.client.meta.events.register("after-call.s3.UploadPart", acknowledged)
    data = os.urandom(30 * MIB)
    stream = Counting(data)
    store.put_stream("flat0001", stream)
    assert len(sent) == 6
    # When a part was acknowledged, at most parallel + 1 parts had been read from the stream.
    for number, position in enumerate(sorted(sent), start=1):
        assert position <= (number + 2 + 1) * 5 * MIB


def test_downloads_redirect_or_stream(s3_server: S3Server, tmp_path: Path) -> None:
    redirecting = fresh_s3_store(s3_server, tmp_path, presign_ttl=60)
    redirecting.put_stream("dl0001", io.BytesIO(b"signed"))
    download = redirecting.download("dl0001")
    assert isinstance(download, Redirect)
    assert "Signature=" in download.url or "X-Amz-Signature=" in download.url
    assert httpx.get(download.url).content == b"signed"  # no credentials needed
    assert "Expires=" in download.url

    streaming = fresh_s3_store(s3_server, tmp_path, download="stream")
    streaming.put_stream("dl0001", io.BytesIO(b"streamed"))
    download = streaming.download("dl0001")
    assert isinstance(download, StreamedBlob) and download.size == 8
    with download.open() as fh:
        assert fh.read() == b"streamed"


def test_kinds_sharing_a_bucket_see_only_their_prefix(s3_server: S3Server, tmp_path: Path) -> None:
    packages = fresh_s3_store(s3_server, tmp_path)
    droplets = S3Blobstore(packages.client, S3Location(packages.bucket, "droplets/"), packages.options, tmp_path)
    packages.put_stream("same", io.BytesIO(b"package"))
    droplets.put_stream("same", io.BytesIO(b"droplet"))
    assert [e.key for e in packages.entries()] == ["same"]
    assert droplets.delete_prefix("") == 1
    with packages.open("same") as fh:
        assert fh.read() == b"package"


def test_many_deletes_go_in_batches(s3_server: S3Server, tmp_path: Path) -> None:
    store = fresh_s3_store(s3_server, tmp_path)
    calls: list[int] = []

    def sending(params: dict[str, Any], **_: object) -> None:
        calls.append(len(params["Delete"]["Objects"]))

    store.client.meta.events.register("provide-client-params.s3.DeleteObjects", sending)
    store.delete_keys(f"k{n:05}" for n in range(2500))
    assert calls == [1000, 1000, 500]


def test_only_old_unfinished_uploads_are_swept(s3_server: S3Server, tmp_path: Path) -> None:
    store = fresh_s3_store(s3_server, tmp_path)
    # Another node's upload in progress: recover() must leave it, a young one survives sweeps.
    store.client.create_multipart_upload(Bucket=store.bucket, Key="packages/writing")
    assert store.recover() == 0
    # (moto dates every upload's start in 2010, so "young" here is "younger than 20 years".)
    assert store.sweep_temporaries(timedelta(days=20 * 365)) == 0
    assert pending_uploads(store) == ["packages/writing"]
    assert store.sweep_temporaries(timedelta(seconds=-60)) == 1
    assert pending_uploads(store) == []


def test_s3_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="s3_bucket"):
        Settings(blobstore="s3").validate()
    with pytest.raises(ConfigError, match="kind=bucket"):
        Settings(blobstore="s3", s3_bucket="b", s3_buckets=("nonsense=x",)).validate()
    with pytest.raises(ConfigError, match="5 MiB"):
        Settings(blobstore="s3", s3_bucket="b", s3_part_size=1024).validate()
    locations = Settings(blobstore="s3", s3_bucket="shared", s3_buckets=("droplets=drops",)).s3_locations()
    assert locations["packages"] == ("shared", "packages/")
    assert locations["droplets"] == ("drops", "")
    assert locations["buildpack_cache"] == ("shared", "buildpack_cache/")
