"""What the benchmarks share: a real Ladle server in its own process, and process probes."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

__all__ = [
    "BOUNDARY",
    "MIB",
    "PeakRss",
    "Server",
    "UploadRuns",
    "compare_uploads",
    "floor_seconds",
    "free_port",
    "multipart",
    "rss_bytes",
    "until",
    "wait_quiet",
    "write_bytes_of",
]

MIB = 1024 * 1024
CHUNK = MIB
BOUNDARY = "ladle-bench-boundary"


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def write_bytes_of(pid: int) -> int:
    with open(f"/proc/{pid}/io") as fh:
        for line in fh:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


class PeakRss:
    """Samples a process's resident set every 20 ms; ``growth`` is the peak above the start."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.baseline = rss_bytes(pid)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def floor_seconds(source: Path, target_dir: Path) -> float:
    """Read once, sha1 + sha256, write with fsync: the least any server could do with these bytes."""
    target = target_dir / "floor.bin"
    started = time.perf_counter()
    sha1, sha256 = hashlib.sha1(), hashlib.sha256()  # what the server computes too
    with open(source, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(CHUNK):
            sha1.update(chunk)
            sha256.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def multipart(path: Path, filename: str, content_type: str) -> Iterator[bytes]:
    """One multipart file field ``bits``, streamed from disk (so the client stays small too)."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="bits"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def wait_quiet(pid: int, seconds: float = 2.0, limit: float = 300.0) -> None:
    """Wait until the server stops writing (work may go on after the state it reports)."""
    deadline = time.monotonic() + limit
    last = write_bytes_of(pid)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = write_bytes_of(pid)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= seconds:
            return


@dataclass
class UploadRuns:
    floors: list[float] = field(default_factory=list)
    uploads: list[float] = field(default_factory=list)
    growths: list[int] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        """Upload time over floor time, per run, sorted."""
        return sorted(u / f for u, f in zip(self.uploads, self.floors, strict=True))


def compare_uploads(
    runs: int, size: int, floor: Callable[[], float], upload: Callable[[], tuple[float, int]], done: str
) -> UploadRuns:
    """Alternate the floor and an upload ``runs`` times (syncing before each), printing every run."""
    out = UploadRuns()
    for run in range(1, runs + 1):
        os.sync()
        floor_time = floor()
        os.sync()
        elapsed, growth = upload()
        out.floors.append(floor_time)
        out.uploads.append(elapsed)
        out.growths.append(growth)
        print(
            f"run {run}: floor {floor_time:6.2f}s ({size / MIB / floor_time:7.1f} MiB/s)   "
            f"upload to {done} {elapsed:6.2f}s ({size / MIB / elapsed:7.1f} MiB/s)   "
            f"time ratio {elapsed / floor_time:5.2f}   server RSS growth {growth / MIB:6.1f} MiB",
            flush=True,
        )
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path, *, log_path: Path | None = None, **settings: str) -> None:
        """``log_path``: where the server's log goes, at level info (for a benchmark that reads
        what the server measured, such as a staging's phases); else warnings only, to stderr."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LADLE_")}
        # A router on a port of its own (a benchmark may run beside another Ladle).
        env.update(
            LADLE_ADMIN_PASSWORD="bench",
            LADLE_LOG_LEVEL="info" if log_path else "warning",
            LADLE_LOG_FORMAT="json",
            LADLE_ROUTER_PORT=str(free_port()),
        )
        env.update({f"LADLE_{name.upper()}": value for name, value in settings.items()})
        self.log_path = log_path
        log = open(log_path, "ab") if log_path else None  # noqa: SIM115 (the server writes to it until stopped)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ladle", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        if log is not None:
            log.close()  # the server holds its own copy
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.url + "/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.1)
        token = httpx.post(
            self.url + "/oauth/token",
            data={"grant_type": "password", "username": "admin", "password": "bench"},
            auth=("cf", ""),
        ).json()["access_token"]
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"bearer {token}"}, timeout=600)

    def post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        response = self.http.post(path, json=body)
        response.raise_for_status()
        result: dict[str, object] = response.json()
        return result

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def app(self, name: str = "bench") -> str:
        """A new org, space and app; returns the app guid."""
        org = self.post("/v3/organizations", {"name": name})
        space = self.post(
            "/v3/spaces", {"name": name, "relationships": {"organization": {"data": {"guid": org["guid"]}}}}
        )
        app = self.post("/v3/apps", {"name": name, "relationships": {"space": {"data": {"guid": space["guid"]}}}})
        return str(app["guid"])


T = TypeVar("T")


def until(check: Callable[[], T | None], timeout: float = 120, what: str = "the push") -> T:
    """``check()``'s first true value, asked every 20 ms; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not finish")
        time.sleep(0.02)


def stage(server: Server, package_guid: str) -> tuple[float, str]:
    """Stage the package; seconds from ``POST /v3/builds`` to STAGED, and the build's guid.
    A failed build raises, with its log."""
    started = time.perf_counter()
    build = server.post("/v3/builds", {"package": {"guid": package_guid}})
    while (body := server.http.get(f"/v3/builds/{build['guid']}").json())["state"] == "STAGING":
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    if body["state"] != "STAGED":
        log = server.http.get(f"/v3/builds/{build['guid']}/logs").text
        raise RuntimeError(f"{body['error']}\n{log}")
    return elapsed, str(build["guid"])
