"""An S3-compatible server on loopback (moto's standalone server, a separate OS process)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ladle.blobstore.s3 import S3Blobstore, S3Location, S3Options, ensure_bucket, make_s3_client
from tests.support.services import free_port, wait_until_serving

__all__ = ["S3Server", "fresh_s3_store", "run_s3_server", "s3_options"]

# moto takes any credentials; these only have to be the same on both sides.
ACCESS_KEY = "ladle-test"
SECRET_KEY = "ladle-test-secret"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str = ACCESS_KEY
    secret_access_key: str = SECRET_KEY
    region: str = "us-east-1"

    def env(self, bucket: str) -> dict[str, str]:
        """The LADLE_* settings of a node whose blobs are in ``bucket`` on this server."""
        return {
            "LADLE_BLOBSTORE": "s3",
            "LADLE_S3_ENDPOINT_URL": self.endpoint_url,
            "LADLE_S3_REGION": self.region,
            "LADLE_S3_ACCESS_KEY_ID": self.access_key_id,
            "LADLE_S3_SECRET_ACCESS_KEY": self.secret_access_key,
            "LADLE_S3_ADDRESSING_STYLE": "path",
            "LADLE_S3_BUCKET": bucket,
            "LADLE_S3_CREATE_BUCKETS": "true",
        }


@contextmanager
def run_s3_server(log_dir: Path) -> Iterator[S3Server]:
    port = free_port()
    log_path = log_dir / f"moto-{port}.log"
    env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{url}/moto-api/", process, timeout=60, log=lambda: log_path.read_text(errors="replace"))
        yield S3Server(url)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def s3_options(server: S3Server, **overrides: Any) -> S3Options:
    options = S3Options(
        endpoint_url=server.endpoint_url,
        region=server.region,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
        addressing_style="path",
        part_size=5 * 1024 * 1024,  # S3's smallest, so a few MiB take the multipart path
    )
    return replace(options, **overrides)


def fresh_s3_store(server: S3Server, scratch: Path, **overrides: object) -> S3Blobstore:
    """An empty store: a new bucket, under a prefix (keys of the store never show the prefix)."""
    options = s3_options(server, **overrides)
    client = make_s3_client(options)
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    ensure_bucket(client, bucket)
    return S3Blobstore(client, S3Location(bucket, "packages/"), options, scratch / "scratch")
