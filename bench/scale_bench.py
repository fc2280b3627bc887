"""Scale-out: staging throughput with one and with two `ladle worker` processes, and the S3
blobstore's upload throughput against a plain boto3 upload.

Everything runs on this machine as separate processes: one `ladle serve` and 1 or 2 workers
(each running one staging at a time) on PostgreSQL, moto's S3-compatible server and a private
Redis. Two apps are staged (``--builds`` and ``--cpu-builds`` times), all builds of one app at once:

- an app whose buildpack mostly waits (``sleep``, standing for downloads), where two workers
  should get close to twice the builds per minute (target >= 1.8x);
- the CPU-bound reference app of ``bench/staging_bench.py`` (many files, unzip, hash, tar) with
  a buildpack that does nothing, where two workers share this machine's two cores.

Then a file is uploaded to the S3 server through the blobstore (``put_file`` and the streamed
``put_stream`` that request uploads use) and with boto3's own ``upload_file``, same server,
same file, interleaved; the ratio is blobstore throughput over boto3's.

    python -m bench.scale_bench [--builds 10] [--cpu-builds 6] [--sleep 5] [--upload-mib 256] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from tests.support.buildpacks import write_buildpack, zip_directory
from tests.support.cf import Api, unique
from tests.support.cluster import run_cluster, run_redis
from tests.support.s3server import S3Server, run_s3_server, s3_options
from tests.support.server import drop_database, fresh_database_url

from bench.staging_bench import make_app
from ladle.blobstore.s3 import S3Blobstore, S3Location, ensure_bucket, make_s3_client

MIB = 1024 * 1024
RELEASE = 'printf "default_process_types:\\n  web: ./run\\n"\n'


def buildpack(api: Api, tmp: Path, compile_script: str) -> str:
    name = unique("bp").replace("-", "_")
    guid = api.post("/v3/buildpacks", json={"name": name}).json()["guid"]
    directory = write_buildpack(tmp / name, {"compile": compile_script, "release": RELEASE})
    r = api.post(f"/v3/buildpacks/{guid}/upload", files={"bits": ("bp.zip", zip_directory(directory))})
    r.raise_for_status()
    if api.wait_for_job(r.headers["location"], timeout=120)["state"] != "COMPLETE":
        raise RuntimeError("buildpack upload failed")
    return name


def ready_packages(api: Api, space: str, bp: str, archive: Path, count: int) -> list[str]:
    guids = []
    for _ in range(count):
        app = api.post(
            "/v3/apps",
            json={
                "name": unique("app"),
                "relationships": {"space": {"data": {"guid": space}}},
                "lifecycle": {"type": "buildpack", "data": {"buildpacks": [bp]}},
            },
        ).json()
        package = api.post(
            "/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": app["guid"]}}}}
        ).json()
        with open(archive, "rb") as fh:
            api.post(f"/v3/packages/{package['guid']}/upload", files={"bits": ("app.zip", fh)}).raise_for_status()
        guids.append(package["guid"])
    for guid in guids:
        api.wait_for(f"/v3/packages/{guid}", lambda p: p["state"] == "READY", timeout=300)
    return guids


def builds_per_minute(api: Api, packages: list[str]) -> float:
    """Start a build of every package at once; builds per minute until the last is STAGED."""
    started = time.perf_counter()
    builds = [api.post("/v3/builds", json={"package": {"guid": guid}}).json()["guid"] for guid in packages]
    for guid in builds:
        build = api.wait_for(f"/v3/builds/{guid}", lambda b: b["state"] in {"STAGED", "FAILED"}, timeout=900)
        if build["state"] != "STAGED":
            raise RuntimeError(f"build failed: {build['error']}")
    return len(builds) / (time.perf_counter() - started) * 60


def staging_throughput(
    workdir: Path, s3: S3Server, redis_url: str, args: argparse.Namespace, cpu_app: Path, *, workers: int
) -> dict[str, float]:
    name = f"ladle_bench_scale_{workers}"
    url = fresh_database_url("postgresql", name, workdir)
    settings = {"job_workers": "1", "staging_timeout": "900"}
    try:
        with run_cluster(
            workdir / f"cluster{workers}", url, s3, redis_url, apis=1, workers=workers, settings=settings
        ) as c:
            api = c.api(0)
            org = api.post("/v3/organizations", json={"name": unique("org")}).json()["guid"]
            space = api.post(
                "/v3/spaces", json={"name": "bench", "relationships": {"organization": {"data": {"guid": org}}}}
            ).json()["guid"]
            small = workdir / "small.zip"
            small.write_bytes(_small_app())
            waiting = buildpack(api, workdir, f"sleep {args.sleep}\n")
            noop = buildpack(api, workdir, "true\n")
            io_packages = ready_packages(api, space, waiting, small, args.builds)
            cpu_packages = ready_packages(api, space, noop, cpu_app, args.cpu_builds)
            return {"io": builds_per_minute(api, io_packages), "cpu": builds_per_minute(api, cpu_packages)}
    finally:
        drop_database("postgresql", name)


def _small_app() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("index.txt", "waiting app\n")
    return out.getvalue()


def upload_throughput(workdir: Path, s3: S3Server, size_mib: int, runs: int) -> dict[str, list[float]]:
    """MiB/s of the blobstore's put_file and put_stream and of boto3's upload_file, interleaved."""
    source = workdir / "upload.bin"
    with open(source, "wb") as fh:
        for _ in range(size_mib):
            fh.write(os.urandom(MIB))
    options = s3_options(s3, part_size=16 * MIB)
    client = make_s3_client(options)
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    ensure_bucket(client, bucket)
    store = S3Blobstore(client, S3Location(bucket, "packages/"), options, workdir / "scratch")
    rates: dict[str, list[float]] = {"put_file": [], "put_stream": [], "boto3": []}

    def timed(kind: str, upload: Any) -> None:
        started = time.perf_counter()
        upload()
        rates[kind].append(size_mib / (time.perf_counter() - started))

    def streamed(key: str) -> None:
        with open(source, "rb") as fh:
            store.put_stream(key, fh)

    for run in range(runs):
        timed("boto3", lambda key=f"plain/{run}": client.upload_file(str(source), bucket, key))
        timed("put_file", lambda key=f"file-{run}": store.put_file(key, source))
        timed("put_stream", lambda key=f"stream-{run}": streamed(key))
        client.delete_object(Bucket=bucket, Key=f"plain/{run}")
        store.delete_keys([f"file-{run}", f"stream-{run}"])
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--builds", type=int, default=10, help="builds of the waiting app per worker count")
    parser.add_argument("--cpu-builds", type=int, default=6, help="builds of the reference app per worker count")
    parser.add_argument("--sleep", type=float, default=5.0, help="seconds the waiting buildpack waits")
    parser.add_argument("--cpu-files", type=int, default=2000)
    parser.add_argument("--cpu-mib", type=int, default=20)
    parser.add_argument("--upload-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ladle-scale-bench-", dir=args.workdir))
    try:
        cpu_app = workdir / "reference.zip"
        make_app(cpu_app, args.cpu_files, args.cpu_mib)
        with run_s3_server(workdir) as s3, run_redis(workdir / "redis") as redis:
            results = {n: staging_throughput(workdir, s3, redis.url, args, cpu_app, workers=n) for n in (1, 2)}
            for kind, label in (("io", f"waiting app (sleep {args.sleep:g}s)"), ("cpu", "CPU-bound reference app")):
                one, two = results[1][kind], results[2][kind]
                target = "  (target >= 1.80)" if kind == "io" else ""
                print(
                    f"{label:34} 1 worker {one:6.1f} builds/min   2 workers {two:6.1f} builds/min   "
                    f"ratio {two / one:4.2f}{target}",
                    flush=True,
                )
            rates = upload_throughput(workdir, s3, args.upload_mib, args.runs)
        boto = statistics.median(rates["boto3"])
        for kind in ("put_file", "put_stream"):
            mine = statistics.median(rates[kind])
            print(
                f"S3 upload {args.upload_mib} MiB, {kind:10}: {mine:7.1f} MiB/s   plain boto3 upload_file "
                f"{boto:7.1f} MiB/s   ratio {mine / boto:4.2f}  (median of {args.runs})"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
