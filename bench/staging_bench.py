"""Staging overhead: an app of many files staged by a buildpack that does nothing.

The baseline is the least work a staging of these bits implies on this machine: ``unzip`` of
the package, then ``tar czf`` of the unzipped files. The measured time runs from
``POST /v3/builds`` until the build is STAGED (package fetched, unzipped, buildpack run in its
sandbox, droplet packed, hashed and stored, cache saved). Each run stages a new app's package
for the first time, then restages it unchanged. All run in the same session, on the same
filesystem, interleaved run by run.

    python -m bench.staging_bench [--files 5000] [--size-mib 50] [--runs 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.support import Server, stage

MIB = 1024 * 1024
WORDS = b"alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma".split()


def make_app(path: Path, files: int, size_mib: int, seed: int = 7) -> int:
    """A zip of ``files`` files totalling ``size_mib``: source-like text and some binary assets."""
    rng = random.Random(seed)
    average = size_mib * MIB // files
    total = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for index in range(files):
            size = max(1, int(rng.uniform(0.2, 1.8) * average))
            name = f"src/pkg{index % 50:02}/module_{index:05}"
            if index % 4 == 0:  # a quarter are binary (images, wheels): incompressible
                data = rng.randbytes(size)
                name += ".bin"
            else:
                text = io.BytesIO()
                while text.tell() < size:
                    text.write(b" ".join(rng.choices(WORDS, k=12)) + b"\n")
                data = text.getvalue()[:size]
                name += ".py"
            zf.writestr(name, data)
            total += len(data)
    return total


@dataclass
class Baseline:
    unzip: float
    tar: float

    @property
    def seconds(self) -> float:
        return self.unzip + self.tar


def baseline_seconds(archive: Path, scratch: Path) -> Baseline:
    """``unzip`` then ``tar czf``: unpacking the bits and packing a droplet, nothing else."""
    unpacked, droplet = scratch / "unpacked", scratch / "droplet.tgz"
    shutil.rmtree(unpacked, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(["unzip", "-q", "-o", str(archive), "-d", str(unpacked)], check=True)
    unzipped = time.perf_counter()
    subprocess.run(["tar", "czf", str(droplet), "-C", str(unpacked), "."], check=True)
    baseline = Baseline(unzipped - started, time.perf_counter() - unzipped)
    shutil.rmtree(unpacked)
    droplet.unlink()
    return baseline


def staging_phases(log_path: Path) -> dict[str, dict[str, float]]:
    """Each build's phases (seconds) as the server logged them when its staging ended."""
    phases = {}
    for line in log_path.read_text().splitlines():
        if '"staging ended"' in line:
            entry = json.loads(line)
            phases[entry["build"]] = entry["phase_seconds"]
    return phases


@dataclass
class Run:
    baseline: Baseline
    first: float  # the app's first staging of the package (seconds)
    first_build: str
    again: float  # restaging the same package
    again_build: str


def noop_buildpack(server: Server, workdir: Path) -> None:
    scripts = {
        "detect": "#!/bin/sh\necho noop\n",
        "finalize": "#!/bin/sh\nexit 0\n",
        "release": "#!/bin/sh\nprintf 'default_process_types:\\n  web: ./start\\n'\n",
    }
    zipped = workdir / "noop.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for name, body in scripts.items():
            info = zipfile.ZipInfo(f"bin/{name}")
            info.external_attr = 0o100755 << 16
            zf.writestr(info, body)
    buildpack = server.post("/v3/buildpacks", {"name": "noop", "position": 1})
    with open(zipped, "rb") as fh:
        r = server.http.post(f"/v3/buildpacks/{buildpack['guid']}/upload", files={"bits": ("noop.zip", fh)})
    r.raise_for_status()
    wait_for_job(server, r.headers["location"])


def wait_for_job(server: Server, location: str) -> None:
    while (job := server.http.get(location).json())["state"] == "PROCESSING":
        time.sleep(0.02)
    if job["state"] != "COMPLETE":
        raise RuntimeError(job["errors"])


def upload_package(server: Server, app_guid: str, archive: Path) -> str:
    package = server.post("/v3/packages", {"type": "bits", "relationships": {"app": {"data": {"guid": app_guid}}}})
    with open(archive, "rb") as fh:
        r = server.http.post(f"/v3/packages/{package['guid']}/upload", files={"bits": ("app.zip", fh)})
    r.raise_for_status()
    while (state := server.http.get(f"/v3/packages/{package['guid']}").json()["state"]) != "READY":
        if state == "FAILED":
            raise RuntimeError("package upload failed")
        time.sleep(0.05)
    return str(package["guid"])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--size-mib", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None, help="where data and the archive go (one filesystem)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ladle-bench-", dir=args.workdir))
    try:
        archive = workdir / "app.zip"
        content = make_app(archive, args.files, args.size_mib)
        print(
            f"app: {args.files} files, {content / MIB:.1f} MiB of content, "
            f"{archive.stat().st_size / MIB:.1f} MiB zipped ({workdir})",
            flush=True,
        )
        log_path = workdir / "server.log"
        server = Server(workdir / "data", log_path=log_path)
        runs: list[Run] = []
        try:
            noop_buildpack(server, workdir)
            for number in range(1, args.runs + 1):
                # A new app each run: its first staging has no earlier droplet to reuse.
                package = upload_package(server, server.app(f"bench-{number}"), archive)
                os.sync()
                baseline = baseline_seconds(archive, workdir)
                os.sync()
                first, first_build = stage(server, package)
                os.sync()
                again, again_build = stage(server, package)
                run = Run(baseline, first, first_build, again, again_build)
                runs.append(run)
                print(
                    f"run {number}: unzip + tar czf {baseline.seconds:6.2f}s "
                    f"({baseline.unzip:.2f} + {baseline.tar:.2f})   staging {first:6.2f}s "
                    f"ratio {first / baseline.seconds:5.2f}   "
                    f"restage {again:6.2f}s ratio {again / baseline.seconds:5.2f}",
                    flush=True,
                )
        finally:
            server.stop()
        phases = staging_phases(log_path)
        print("\nphases as the server measured them (s):")
        for number, run in enumerate(runs, 1):
            for kind, build in (("staging", run.first_build), ("restage", run.again_build)):
                measured = phases.get(build, {})
                print(f"  run {number} {kind}: " + "  ".join(f"{name} {sec:.2f}" for name, sec in measured.items()))
        ratios = sorted(run.first / run.baseline.seconds for run in runs)
        staging_s = statistics.median(run.first for run in runs)
        baseline_s = statistics.median(run.baseline.seconds for run in runs)
        print(
            f"\nmedian over {args.runs} runs: staging {staging_s:.2f}s, baseline "
            f"{baseline_s:.2f}s; median ratio {statistics.median(ratios):.2f} "
            f"(range {ratios[0]:.2f}-{ratios[-1]:.2f}; target <= 1.00)"
        )
        restages = sorted(run.again / run.baseline.seconds for run in runs)

        def share(phase: str) -> float:
            """A phase of the restages, as a fraction of their baselines (median)."""
            return statistics.median(
                phases.get(run.again_build, {}).get(phase, 0.0) / run.baseline.seconds for run in runs
            )

        unzip_share = statistics.median(run.baseline.unzip / run.baseline.seconds for run in runs)
        tar_share = statistics.median(run.baseline.tar / run.baseline.seconds for run in runs)
        print(
            f"restaging the unchanged package: median ratio {statistics.median(restages):.2f} "
            f"(range {restages[0]:.2f}-{restages[-1]:.2f}; target <= 0.30); of the baseline, unpacking the package "
            f"takes {share('package'):.2f} and the droplet {share('droplet'):.2f} (hashing the tree and copying the "
            f"earlier droplet's bits; unzip alone {unzip_share:.2f}, tar czf alone {tar_share:.2f})"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
