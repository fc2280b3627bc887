"""Pre-runner check: start a staged droplet as Cloud Foundry's launcher would, and GET it.

Until Ladle runs apps itself (the runner and router are being built), this is how the tests
show that a droplet's start command serves HTTP on ``$PORT``: extract the droplet, set HOME,
TMPDIR, DEPS_DIR and PORT, ``cd app``, source ``../profile.d/*``, ``.profile.d/*`` and
``.profile``, then ``exec bash -c <command>``, in a plain subprocess. Once apps can be pushed
through the router, tests should reach them there instead.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.cf import Api
from tests.support.services import free_port

__all__ = ["Started", "launch", "start_like_the_launcher"]

# What the launcher's bash script does before the start command (cf-run.md §4.3).
LAUNCH = """cd "$HOME"
for f in ../profile.d/*; do [ -f "$f" ] && . "$f"; done
if [ -d .profile.d ]; then for f in .profile.d/*; do [ -f "$f" ] && . "$f"; done; fi
[ -f .profile ] && . ./.profile
exec bash -c "$1"
"""


@dataclass
class Started:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str = "/", **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]


@contextmanager
def start_like_the_launcher(
    api: Api, droplet_guid: str, command: str, root: Path, env: dict[str, str] | None = None
) -> Iterator[Started]:
    """Run ``command`` from the droplet (extracted under ``root``) until the block ends."""
    r = api.get(f"/v3/droplets/{droplet_guid}/download")
    assert r.status_code == 200, r.text
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz") as tar:
        tar.extractall(root, filter="tar")
    with launch(root, command, env) as started:
        yield started


@contextmanager
def launch(root: Path, command: str, env: dict[str, str] | None = None) -> Iterator[Started]:
    """Start ``command`` in a droplet's layout at ``root`` (``app/``, ``deps/``, ``profile.d/``)
    as the launcher does; waits until it answers HTTP."""
    (root / "tmp").mkdir(exist_ok=True)
    port = free_port()
    child_env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "HOME": str(root / "app"),
        "TMPDIR": str(root / "tmp"),
        "DEPS_DIR": str(root / "deps"),
        "PORT": str(port),
        "VCAP_APP_PORT": str(port),
        "VCAP_APP_HOST": "0.0.0.0",
        **(env or {}),
    }
    log = root / "app.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", LAUNCH, "launcher", command],
            env=child_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = Started(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                started.get("/")
                break
            except httpx.TransportError:
                pass
            assert process.poll() is None, f"the app exited ({process.returncode}): {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the app never answered on $PORT: {log.read_text()[-3000:]}"
            time.sleep(0.05)
        yield started
    finally:
        # The app's whole process group (nginx workers, npm's node child, ...).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
