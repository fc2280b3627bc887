"""Closed-loop mixed load at rising concurrency: throughput, p50/p99, errors and memory per step.

Each virtual user repeats one round: list apps, get an app, create a package, upload a small zip
to it, and (every fifth round) stage it, each request waiting for the one before (closed loop).
Steps of ``--seconds`` at concurrency 1, 4, 16 and 64 against one ``ladle serve`` (SQLite).
The baseline, measured in the same run, is the unauthenticated ``GET /`` at concurrency 1: each
step's p50 is also shown as a ratio of it. Targets: 0 errors, and the platform's memory flat
across the steps (the last step's resident set within 1.2x of the first's).

    python -m bench.load_bench [--seconds 15] [--steps 1,4,16,64]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.memory_bench import platform_rss
from bench.support import MIB, Server


def _small_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("Staticfile", "root: public\n")
        zf.writestr("public/index.html", "<h1>load</h1>\n")
    return out.getvalue()


@dataclass
class Step:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, started: float, response: httpx.Response, expected: int) -> None:
        elapsed = time.perf_counter() - started
        with self.lock:
            if response.status_code == expected:
                self.latencies.append(elapsed)
            else:
                request = response.request
                self.errors.append(f"{request.method} {request.url.path}: {response.status_code} {response.text[:200]}")


def user(url: str, token: str, space_guid: str, bits: bytes, step: Step, *, stop_at: float) -> None:
    headers = {"Authorization": f"bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        # An app of its own: Cloud Controller stages one build per app at a time.
        rel = {"space": {"data": {"guid": space_guid}}}
        app_guid = http.post("/v3/apps", json={"name": f"load-{uuid.uuid4().hex}", "relationships": rel}).json()["guid"]
        rounds = 0
        last_build: str | None = None
        while time.monotonic() < stop_at:
            rounds += 1
            started = time.perf_counter()
            step.record(started, http.get("/v3/apps", params={"per_page": 50}), 200)
            started = time.perf_counter()
            step.record(started, http.get(f"/v3/apps/{app_guid}"), 200)
            started = time.perf_counter()
            rel = {"app": {"data": {"guid": app_guid}}}
            created = http.post("/v3/packages", json={"type": "bits", "relationships": rel})
            step.record(started, created, 201)
            if created.status_code != 201:
                continue
            package = created.json()["guid"]
            started = time.perf_counter()
            step.record(started, http.post(f"/v3/packages/{package}/upload", files={"bits": ("a.zip", bits)}), 200)
            if rounds % 5 == 0 and _finished(http, last_build):
                # Staging needs the upload processed (a job): wait for READY, outside the timings.
                deadline = time.monotonic() + 60
                while http.get(f"/v3/packages/{package}").json()["state"] != "READY":
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                started = time.perf_counter()
                build = http.post("/v3/builds", json={"package": {"guid": package}})
                step.record(started, build, 201)
                last_build = build.json().get("guid") if build.status_code == 201 else None


def _finished(http: httpx.Client, build: str | None) -> bool:
    """Whether the app may stage again (one STAGING build per app, as on Cloud Foundry)."""
    return build is None or http.get(f"/v3/builds/{build}").json()["state"] != "STAGING"


def floor_p50(url: str, seconds: float) -> float:
    samples = []
    with httpx.Client(base_url=url, timeout=30) as http:
        stop_at = time.monotonic() + seconds
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            http.get("/")
            samples.append(time.perf_counter() - started)
    samples.sort()
    return samples[len(samples) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each step")
    parser.add_argument("--steps", default="1,4,16,64")
    args = parser.parse_args()
    bits = _small_zip()
    with tempfile.TemporaryDirectory(prefix="ladle-load-bench-") as tmp:
        server = Server(Path(tmp) / "data")
        try:
            app = server.app("load")
            space = server.http.get(f"/v3/apps/{app}").json()["relationships"]["space"]["data"]["guid"]
            token = str(server.http.headers["Authorization"]).split(" ", 1)[1]
            floor = floor_p50(server.url, 3.0)
            print(
                f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; SQLite; steps of {args.seconds:g} s; "
                f"floor GET / p50 {floor * 1000:.2f} ms",
                flush=True,
            )
            memory: list[int] = []
            total_errors = 0
            for concurrency in [int(c) for c in args.steps.split(",")]:
                step = Step()
                stop_at = time.monotonic() + args.seconds
                users = [
                    threading.Thread(
                        target=user, args=(server.url, token, space, bits, step), kwargs={"stop_at": stop_at}
                    )
                    for _ in range(concurrency)
                ]
                started = time.monotonic()
                for thread in users:
                    thread.start()
                for thread in users:
                    thread.join()
                elapsed = time.monotonic() - started
                rss, _ = platform_rss(server.proc.pid)
                memory.append(rss)
                samples = sorted(step.latencies)
                total_errors += len(step.errors)
                p50 = samples[len(samples) // 2] if samples else 0.0
                p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] if samples else 0.0
                print(
                    f"c={concurrency:<3} {len(samples) / elapsed:7.1f} req/s   p50 {p50 * 1000:7.1f} ms "
                    f"({p50 / floor:5.1f}x floor)   p99 {p99 * 1000:8.1f} ms   errors {len(step.errors)}   "
                    f"platform RSS {rss / MIB:.0f} MB",
                    flush=True,
                )
                for error in step.errors[:5]:
                    print(f"    {error}")
        finally:
            server.stop()
    growth = memory[-1] / memory[0]
    print(f"errors in all: {total_errors} (target 0: {'met' if total_errors == 0 else 'MISSED'})")
    print(f"memory, last step / first step: {growth:.2f} (target <= 1.2: {'met' if growth <= 1.2 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
