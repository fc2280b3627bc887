"""A blob store on S3 or any S3-compatible server (boto3), for nodes that share their blobs.

Each kind of blob has a :class:`S3Location`: its own bucket, or a prefix in a shared one. The
contract maps onto S3 like this:

- **Commit by rename** is S3's own: a single PUT, or a multipart upload that becomes visible only
  when it is completed. A write that fails aborts its upload, so nothing is ever visible half
  written. Unfinished multipart uploads of a node that died are aborted by
  :meth:`S3Blobstore.sweep_temporaries` once they are old (S3 shows no node on an upload, so
  :meth:`S3Blobstore.recover` cannot tell this node's apart and leaves them: it must never abort
  what another node is still writing).
- **Streaming** uploads read the stream one part at a time and keep at most ``parallel`` parts in
  memory while they are sent, whatever the blob's size.
- **Server-side copy** (boto3's managed copy: one request, or a multipart copy past 5 GiB).
- **Deletes in batches** of up to 1,000 keys per request.
- **Downloads** are pre-signed redirects (Cloud Controller's behaviour) or streamed by the API.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from ladle.blobstore import Blobstores
from ladle.blobstore.base import (
    BlobEntry,
    BlobNotFound,
    Digest,
    Download,
    Readable,
    Redirect,
    StreamedBlob,
    check_key,
)
from ladle.blobstore.digest import CHUNK
from ladle.config import Settings

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client
    from types_boto3_s3.type_defs import CompletedPartTypeDef
else:
    S3Client = CompletedPartTypeDef = Any

__all__ = [
    "S3Blobstore",
    "S3Location",
    "S3Options",
    "ensure_bucket",
    "make_s3_client",
    "map_s3_errors",
    "s3_blobstores",
]

# S3 refuses parts under 5 MiB (but the last); deletes take at most 1,000 keys per request.
MIN_PART = 5 * 1024 * 1024
DELETE_BATCH = 1000
MISSING_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}


@dataclass(frozen=True)
class S3Options:
    endpoint_url: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None
    addressing_style: str = "auto"
    part_size: int = 16 * 1024 * 1024
    # Parts sent at once by one upload (memory: parallel x part_size).
    parallel: int = 4
    # "redirect": a pre-signed URL the client fetches; "stream": the API streams the bytes.
    download: str = "redirect"
    presign_ttl: int = 3600


@dataclass(frozen=True)
class S3Location:
    bucket: str
    # "" or "packages/": prepended to every key of this store.
    prefix: str = ""


def make_s3_client(options: S3Options) -> S3Client:
    session = boto3.session.Session()
    client: S3Client = session.client(
        "s3",
        endpoint_url=options.endpoint_url or None,
        region_name=options.region,
        aws_access_key_id=options.access_key_id,
        aws_secret_access_key=options.secret_access_key,
        config=Config(
            s3={"addressing_style": options.addressing_style},  # type: ignore[arg-type]
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=32,
            # Newer botocore adds CRC checksums to every upload; not every S3-compatible server
            # takes them, and Ladle checks its own sha1/sha256.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
    return client


def _missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in MISSING_CODES or status == 404


@contextmanager
def map_s3_errors(key: str) -> Iterator[None]:
    """S3's "not found" in all its spellings becomes :class:`BlobNotFound`."""
    try:
        yield
    except ClientError as exc:
        if _missing(exc):
            raise BlobNotFound(key) from None
        raise


class _Hasher:
    def __init__(self) -> None:
        self.size = 0
        self.sha1 = hashlib.sha1()
        self.sha256 = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self.size += len(data)
        self.sha1.update(data)
        self.sha256.update(data)

    def digest(self) -> Digest:
        return Digest(self.size, self.sha1.hexdigest(), self.sha256.hexdigest())


def _read_part(stream: Readable, size: int) -> bytes:
    """Up to ``size`` bytes (fewer only at the end of the stream)."""
    chunks: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(min(CHUNK, size - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def file_digest(path: Path) -> Digest:
    hasher = _Hasher()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            hasher.update(chunk)
    return hasher.digest()


class S3Blobstore:
    """One kind of blob at ``location``; ``scratch`` is where local copies are made."""

    def __init__(self, client: S3Client, location: S3Location, options: S3Options, scratch: Path) -> None:
        self.client = client
        self.bucket = location.bucket
        self.prefix = location.prefix
        self.options = options
        self.scratch = scratch
        self.part_size = max(MIN_PART, options.part_size)
        self._transfer = TransferConfig(
            multipart_threshold=self.part_size,
            multipart_chunksize=self.part_size,
            max_concurrency=options.parallel,
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _scratch_file(self) -> Path:
        self.scratch.mkdir(parents=True, exist_ok=True)
        return self.scratch / f"s3-{uuid.uuid4().hex}"

    # --- writing ---------------------------------------------------------------------------
    def put_stream(self, key: str, stream: Readable) -> Digest:
        object_key = self._key(key)
        hasher = _Hasher()
        first = _read_part(stream, self.part_size)
        hasher.update(first)
        if len(first) < self.part_size:
            # All of it fits in one part: a single PUT, atomic by itself.
            self.client.put_object(Bucket=self.bucket, Key=object_key, Body=first)
            return hasher.digest()
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=object_key)["UploadId"]
        try:
            parts = self._upload_parts(object_key, upload_id, first, stream, hasher)
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=object_key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            self._abort(object_key, upload_id)
            raise
        return hasher.digest()

    def _upload_parts(
        self, object_key: str, upload_id: str, first: bytes, stream: Readable, hasher: _Hasher
    ) -> list[CompletedPartTypeDef]:
        """Send parts ``parallel`` at a time; reading waits while that many are in flight, so
        memory stays at ``parallel`` parts however large the blob."""

        def send(number: int, body: bytes) -> CompletedPartTypeDef:
            answer = self.client.upload_part(
                Bucket=self.bucket, Key=object_key, UploadId=upload_id, PartNumber=number, Body=body
            )
            return {"PartNumber": number, "ETag": answer["ETag"]}

        done: list[CompletedPartTypeDef] = []
        pending: list[Future[CompletedPartTypeDef]] = []
        with ThreadPoolExecutor(max_workers=self.options.parallel, thread_name_prefix="ladle-s3") as pool:
            try:
                number, body = 1, first
                while body:
                    if len(pending) >= self.options.parallel:
                        done.append(pending.pop(0).result())
                    pending.append(pool.submit(send, number, body))
                    body = _read_part(stream, self.part_size)
                    hasher.update(body)
                    number += 1
                done.extend(future.result() for future in pending)
            finally:
                for future in pending:
                    future.cancel()
        return done

    def _abort(self, object_key: str, upload_id: str) -> None:
        # Should the abort fail, the sweep of old unfinished uploads gets it.
        with suppress(ClientError):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=object_key, UploadId=upload_id)

    def put_file(self, key: str, path: Path, *, digest: Digest | None = None, move: bool = False) -> Digest:
        object_key = self._key(key)
        if digest is None:
            digest = file_digest(path)
        # boto3's managed upload sends a file's parts in parallel and completes (or aborts) the
        # multipart upload itself.
        self.client.upload_file(str(path), self.bucket, object_key, Config=self._transfer)
        if move:
            path.unlink(missing_ok=True)
        return digest

    def copy(self, source_key: str, dest_key: str) -> None:
        source = self._key(source_key)
        dest = self._key(dest_key)
        with map_s3_errors(source_key):
            self.client.copy({"Bucket": self.bucket, "Key": source}, self.bucket, dest, Config=self._transfer)

    # --- reading ---------------------------------------------------------------------------
    def open(self, key: str) -> BinaryIO:
        with map_s3_errors(key):
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        body: BinaryIO = answer["Body"]  # type: ignore[assignment]
        return body

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        with map_s3_errors(key):
            return int(self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"])

    def download(self, key: str) -> Download:
        size = self.size(key)
        if self.options.download == "stream":
            return StreamedBlob(size, lambda: self.open(key))
        url = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key)},
            ExpiresIn=self.options.presign_ttl,
        )
        return Redirect(url)

    @contextmanager
    def open_local(self, key: str) -> Iterator[Path]:
        path = self._scratch_file()
        try:
            with map_s3_errors(key):
                self.client.download_file(self.bucket, self._key(key), str(path), Config=self._transfer)
            yield path
        finally:
            path.unlink(missing_ok=True)

    @contextmanager
    def take_local(self, key: str) -> Iterator[Path]:
        with self.open_local(key) as path:
            taken = self._scratch_file()
            os.replace(path, taken)
        try:
            self.delete(key)
            yield taken
        finally:
            taken.unlink(missing_ok=True)

    # --- deleting --------------------------------------------------------------------------
    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def _delete_object_keys(self, object_keys: Iterable[str]) -> int:
        batch: list[str] = []
        removed = 0

        def flush() -> None:
            nonlocal removed
            if not batch:
                return
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            errors = answer.get("Errors", [])
            if errors:
                raise OSError(f"S3 refused to delete {len(errors)} blobs: {errors[0].get('Message')}")
            removed += len(batch)
            batch.clear()

        for object_key in object_keys:
            batch.append(object_key)
            if len(batch) == DELETE_BATCH:
                flush()
        flush()
        return removed

    def delete_keys(self, keys: Iterable[str]) -> None:
        self._delete_object_keys(self._key(key) for key in keys)

    def delete_prefix(self, prefix: str) -> int:
        # Listed in full first: deleting while paging a listing may skip keys.
        object_keys = [self.prefix + entry.key for entry in self.entries(prefix)]
        return self._delete_object_keys(object_keys)

    # --- sweeping --------------------------------------------------------------------------
    def entries(self, prefix: str = "") -> Iterator[BlobEntry]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) :]
                modified = item["LastModified"].astimezone(UTC).replace(tzinfo=None)
                yield BlobEntry(key, int(item["Size"]), modified)

    def recover(self) -> int:
        # Nothing of this node's to drop that could be told from another node's: a write that
        # failed aborted its upload, and a crashed one is left to sweep_temporaries.
        return 0

    def sweep_temporaries(self, older_than: timedelta) -> int:
        cutoff = datetime.now(UTC) - older_than
        removed = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                if upload["Initiated"].astimezone(UTC) < cutoff:
                    self._abort(upload["Key"], upload["UploadId"])
                    removed += 1
        return removed


def s3_options(settings: Settings) -> S3Options:
    return S3Options(
        endpoint_url=settings.s3_endpoint_url or None,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        addressing_style=settings.s3_addressing_style,
        part_size=settings.s3_part_size,
        parallel=settings.s3_parallel,
        download=settings.s3_download,
        presign_ttl=settings.s3_presign_ttl,
    )


def ensure_bucket(client: S3Client, bucket: str) -> None:
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if not _missing(exc):
            raise
        client.create_bucket(Bucket=bucket)


def s3_blobstores(settings: Settings) -> Blobstores:
    """Every kind of blob in its S3 location; local copies go to this node's scratch space."""
    options = s3_options(settings)
    client = make_s3_client(options)
    locations = settings.s3_locations()
    if settings.s3_create_buckets:
        for bucket in sorted({bucket for bucket, _ in locations.values()}):
            ensure_bucket(client, bucket)
    scratch = settings.scratch_dir / "s3"

    def store(kind: str) -> S3Blobstore:
        bucket, prefix = locations[kind]
        return S3Blobstore(client, S3Location(bucket, prefix), options, scratch)

    return Blobstores(
        packages=store("packages"),
        droplets=store("droplets"),
        buildpacks=store("buildpacks"),
        resources=store("resources"),
        buildpack_cache=store("buildpack_cache"),
        uploads=store("uploads"),
    )
