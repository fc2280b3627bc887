"""Droplet upload: the server's memory while it takes a large droplet, and time against a floor.

The droplet is a gzipped tarball of random (incompressible) files. The measured time runs from
the start of ``POST /v3/droplets/:guid/upload`` until the droplet is STAGED: the upload is
streamed to disk and hashed, then the job reads every member of the tarball to check it and
stores it. The floor is the same work done by plain tools in one process: read, sha1 + sha256,
write with fsync, then ``tar tzf`` (a full decompression and walk of the tarball). Memory is
the server's resident set, sampled every 20 ms, above what it used just before the upload.

    python -m bench.droplet_upload_bench [--size-mib 500] [--runs 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from bench.support import BOUNDARY, MIB, PeakRss, Server, compare_uploads, floor_seconds, multipart, wait_quiet


def make_droplet(path: Path, size_mib: int) -> None:
    """``./app/asset-N.bin`` files of 32 MiB of random bytes, gzip level 1 (they do not compress)."""
    source = path.parent / "droplet-src"
    (source / "app").mkdir(parents=True, exist_ok=True)
    remaining = size_mib * MIB
    index = 0
    while remaining > 0:
        size = min(32 * MIB, remaining)
        with open(source / "app" / f"asset-{index:03}.bin", "wb") as fh:
            left = size
            while left:
                piece = os.urandom(min(4 * MIB, left))
                fh.write(piece)
                left -= len(piece)
        remaining -= size
        index += 1
    (source / "staging_info.yml").write_text('{"detected_buildpack":"","start_command":"./app/run"}')
    compressor = shutil.which("pigz") or "gzip"
    with open(path, "wb") as out:
        tar = subprocess.Popen(["tar", "-C", str(source), "-cf", "-", "."], stdout=subprocess.PIPE)
        subprocess.run([compressor, "-1"], stdin=tar.stdout, stdout=out, check=True)
        if tar.wait() != 0:
            raise RuntimeError("tar failed")
    shutil.rmtree(source)
    with tarfile.open(path) as check:  # a quick sanity check of what was built
        if check.next() is None:
            raise RuntimeError("empty droplet")


def floor_with_check(droplet: Path, data_dir: Path) -> float:
    started = time.perf_counter()
    floor_seconds(droplet, data_dir)
    subprocess.run(["tar", "tzf", str(droplet)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def upload_once(server: Server, app_guid: str, droplet: Path) -> tuple[float, int]:
    created = server.post("/v3/droplets", {"relationships": {"app": {"data": {"guid": app_guid}}}})
    guid = str(created["guid"])
    with PeakRss(server.proc.pid) as memory:
        started = time.perf_counter()
        response = server.http.post(
            f"/v3/droplets/{guid}/upload",
            content=multipart(droplet, "droplet.tgz", "application/gzip"),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        response.raise_for_status()
        while (body := server.http.get(f"/v3/droplets/{guid}").json())["state"] == "PROCESSING_UPLOAD":
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    if body["state"] != "STAGED":
        raise RuntimeError(body["error"])
    wait_quiet(server.proc.pid)
    server.http.delete(f"/v3/droplets/{guid}")
    return elapsed, memory.growth


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="where data and the droplet go (one filesystem)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ladle-bench-", dir=args.workdir))
    try:
        droplet = workdir / "droplet.tgz"
        print(f"building a {args.size_mib} MiB droplet in {workdir} ...", flush=True)
        make_droplet(droplet, args.size_mib)
        size = droplet.stat().st_size
        data_dir = workdir / "data"
        server = Server(data_dir)
        try:
            app = server.app()
            runs = compare_uploads(
                args.runs,
                size,
                lambda: floor_with_check(droplet, data_dir),
                lambda: upload_once(server, app, droplet),
                "STAGED",
            )
        finally:
            server.stop()
        ratios = runs.ratios
        print(
            f"\n{args.runs} runs of a {size / MIB:.0f} MiB droplet: median time ratio to the floor "
            f"{statistics.median(ratios):.2f} (range {ratios[0]:.2f}-{ratios[-1]:.2f}); "
            f"worst server RSS growth {max(runs.growths) / MIB:.1f} MiB (target < 64)"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
