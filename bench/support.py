"""What the benchmarks share: a real Ladle server in its own process, and process probes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

__all__ = ["Server", "free_port", "rss_bytes", "write_bytes_of"]


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LADLE_")}
        env.update(LADLE_ADMIN_PASSWORD="bench", LADLE_LOG_LEVEL="warning")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ladle", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
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
