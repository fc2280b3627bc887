"""Package upload: throughput against this machine's floor, and the server's memory while it works.

The floor is one process reading the same file once, hashing it with sha1 and sha256 and
writing it, with fsync, to the filesystem that holds the server's data. The measured time runs
from the start of the upload request until the package is READY. Memory is the server's
resident set, sampled every 20 ms, above what it used just before the upload.

    python -m bench.upload_bench [--size-mib 1024] [--runs 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.support import BOUNDARY, MIB, PeakRss, Server, compare_uploads, floor_seconds, multipart, wait_quiet


def make_archive(path: Path, size_mib: int) -> None:
    """Random (incompressible) files of 64 MiB, stored: a package of ``size_mib`` of content."""
    remaining = size_mib * MIB - MIB  # stay under the 1 GiB package limit with headers included
    index = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        while remaining > 0:
            size = min(64 * MIB, remaining)
            with zf.open(f"assets/blob-{index:03}.bin", "w") as fh:
                left = size
                while left:
                    piece = os.urandom(min(4 * MIB, left))
                    fh.write(piece)
                    left -= len(piece)
            remaining -= size
            index += 1


def upload_once(server: Server, app_guid: str, archive: Path) -> tuple[float, int]:
    package = server.post("/v3/packages", {"type": "bits", "relationships": {"app": {"data": {"guid": app_guid}}}})
    guid = str(package["guid"])
    with PeakRss(server.proc.pid) as memory:
        started = time.perf_counter()
        response = server.http.post(
            f"/v3/packages/{guid}/upload",
            content=multipart(archive, "package.zip", "application/zip"),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        response.raise_for_status()
        while True:
            state = server.http.get(f"/v3/packages/{guid}").json()["state"]
            if state == "READY":
                break
            if state == "FAILED":
                raise RuntimeError(server.http.get(f"/v3/packages/{guid}").json()["data"]["error"])
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    wait_quiet(server.proc.pid)
    server.http.delete(f"/v3/packages/{guid}")
    return elapsed, memory.growth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="where data and the archive go (one filesystem)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ladle-bench-", dir=args.workdir))
    try:
        archive = workdir / "app.zip"
        print(f"building a {args.size_mib} MiB archive in {workdir} ...", flush=True)
        make_archive(archive, args.size_mib)
        size = archive.stat().st_size
        data_dir = workdir / "data"
        server = Server(data_dir)
        try:
            app = server.app()
            runs = compare_uploads(
                args.runs,
                size,
                lambda: floor_seconds(archive, data_dir),
                lambda: upload_once(server, app, archive),
                "READY",
            )
        finally:
            server.stop()
        floor, upload = statistics.median(runs.floors), statistics.median(runs.uploads)
        print(
            f"\nmedian over {args.runs} runs of {size / MIB:.0f} MiB: throughput ratio to floor "
            f"{floor / upload:.2f} (target >= 0.60); worst RSS growth {max(runs.growths) / MIB:.1f} MiB (target < 64)"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
