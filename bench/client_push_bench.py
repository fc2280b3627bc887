"""``ladle push`` of a small app against the same requests made directly: the client's overhead.

Both push a static site (the staticfile system buildpack) to a real ``ladle serve`` and end when
the app's instance is RUNNING and its routes are known. ``ladle push`` runs as a user runs it (a
new process: interpreter start, config, zipping, resource matching, progress, polling); the
baseline makes the same requests in this process with httpx, polling every 20 ms, the least
time the API work itself takes. Printed: medians, the ratio, the requests each made, the same
push run in this process (the client's requests and waits alone), and what a new ``ladle push``
process costs before its first request (``ladle push --help``).

    python -m bench.client_push_bench [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench.support import Server, until

SITE = {
    "Staticfile": "root: public\n",
    "public/index.html": "<h1>hello from the client push benchmark</h1>\n",
    "public/style.css": "body { font-family: sans-serif; }\n" * 40,
}
LADLE = str(Path(sys.executable).with_name("ladle"))
YAML = {"Content-Type": "application/x-yaml"}
T = TypeVar("T")


class Counting:
    """An httpx client that counts what it sends."""

    def __init__(self, base: str, token: str) -> None:
        self.sent = 0
        self.http = httpx.Client(
            base_url=base,
            headers={"Authorization": f"bearer {token}"},
            timeout=600,
            event_hooks={"request": [self._count]},
        )

    def _count(self, _request: httpx.Request) -> None:
        self.sent += 1


def _zip(site: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in SITE:
            zf.write(site / name, name)
    return out.getvalue()


def direct_push(base: str, token: str, space: str, name: str, site: Path) -> tuple[float, int]:
    """The requests ``ladle push`` makes, made directly; (seconds, requests)."""
    client = Counting(base, token)
    http = client.http
    started = time.perf_counter()
    manifest = f"applications:\n- name: {name}\n  memory: 64M\n  default-route: true\n"
    r = http.post(f"/v3/spaces/{space}/actions/apply_manifest", content=manifest, headers=YAML)
    r.raise_for_status()
    job = r.headers["Location"]
    until(lambda: http.get(job).json()["state"] == "COMPLETE", 300)
    app = http.get("/v3/apps", params={"names": name, "space_guids": space}).json()["resources"][0]
    resources = []
    for path in SITE:
        data = (site / path).read_bytes()
        resources.append(
            {
                "path": path,
                "mode": "644",
                "checksum": {"value": hashlib.sha1(data).hexdigest()},
                "size_in_bytes": len(data),
            }
        )
    http.post("/v3/resource_matches", json={"resources": resources}).raise_for_status()
    rel = {"app": {"data": {"guid": app["guid"]}}}
    package = http.post("/v3/packages", json={"type": "bits", "relationships": rel}).json()
    files: Any = {"resources": (None, "[]"), "bits": ("package.zip", _zip(site), "application/zip")}
    package = http.post(f"/v3/packages/{package['guid']}/upload", files=files).json()
    if package["state"] != "READY":
        until(lambda: http.get(f"/v3/packages/{package['guid']}").json()["state"] == "READY", 300)
    build = http.post("/v3/builds", json={"package": {"guid": package["guid"]}}).json()
    with http.stream("GET", f"/v3/builds/{build['guid']}/logs") as stream:
        for _ in stream.iter_lines():
            pass
    staged = http.get(f"/v3/builds/{build['guid']}").json()
    assert staged["state"] == "STAGED", staged
    droplet = {"data": {"guid": staged["droplet"]["guid"]}}
    http.patch(f"/v3/apps/{app['guid']}/relationships/current_droplet", json=droplet).raise_for_status()
    http.post(f"/v3/apps/{app['guid']}/actions/restart").raise_for_status()
    (process,) = http.get(f"/v3/apps/{app['guid']}/processes").json()["resources"]

    def running() -> bool:
        stats = http.get(f"/v3/processes/{process['guid']}/stats").json()["resources"]
        return {s["state"] for s in stats} == {"RUNNING"}

    until(running, 300)
    http.get(f"/v3/apps/{app['guid']}/routes").raise_for_status()
    seconds = time.perf_counter() - started
    http.close()
    return seconds, client.sent


def ladle_push(env: dict[str, str], name: str, site: Path) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        [LADLE, "push", str(site), "--name", name, "-m", "64M", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return seconds, int(json.loads(done.stdout)["requests"])


def in_process_push(name: str, site: Path) -> tuple[float, int]:
    """``ladle push`` run in this process: the client's own requests and waits, without the
    interpreter start and imports a new process pays (its output is captured and dropped)."""
    from ladle.client.commands import run

    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = run(["push", str(site), "--name", name, "-m", "64M", "--json"])
    seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"in-process push exited {code}")
    return seconds, int(json.loads(out.getvalue())["requests"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ladle-client-bench-") as tmp:
        site = Path(tmp) / "site"
        for name, text in SITE.items():
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            (site / name).write_text(text)
        server = Server(Path(tmp) / "data")
        env = {**os.environ, "LADLE_CLIENT_CONFIG": str(Path(tmp) / "client")}
        os.environ["LADLE_CLIENT_CONFIG"] = env["LADLE_CLIENT_CONFIG"]  # for the in-process pushes
        try:
            org = server.post("/v3/organizations", {"name": "bench"})
            relationship = {"organization": {"data": {"guid": org["guid"]}}}
            space = server.post("/v3/spaces", {"name": "bench", "relationships": relationship})
            subprocess.run(
                [LADLE, "login", server.url, "-u", "admin", "-p", "bench", "-o", "bench", "-s", "bench"],
                env=env,
                check=True,
                capture_output=True,
            )
            token = json.loads((Path(tmp) / "client" / "config.json").read_text())["access_token"]
            # One push each first: the staticfile buildpack is unpacked once per server.
            ladle_push(env, "warm-ladle", site)
            direct_push(server.url, token, str(space["guid"]), "warm-direct", site)
            in_process_push("warm-in-process", site)
            ladle_runs, direct_runs, in_process_runs = [], [], []
            for i in range(args.runs):
                ladle_runs.append(ladle_push(env, f"ladle-{i}", site))
                direct_runs.append(direct_push(server.url, token, str(space["guid"]), f"direct-{i}", site))
                in_process_runs.append(in_process_push(f"in-process-{i}", site))
        finally:
            server.stop()
    ladle_s = statistics.median(s for s, _ in ladle_runs)
    direct_s = statistics.median(s for s, _ in direct_runs)
    print(f"ladle push (a new process, to RUNNING): median {ladle_s:.2f} s, {ladle_runs[0][1]} requests")
    print(f"the same requests with httpx (20 ms polls): median {direct_s:.2f} s, {direct_runs[0][1]} requests")
    print(f"ratio ladle push / direct requests: {ladle_s / direct_s:.2f}")
    in_process_s = statistics.median(s for s, _ in in_process_runs)
    print(
        f"ladle push in this process (its requests and waits, no interpreter start): median "
        f"{in_process_s:.2f} s, ratio to the direct requests {in_process_s / direct_s:.2f}"
    )
    start = startup_seconds(env)
    print(
        f"of which a new `ladle push` process costs before its first request (`ladle push --help`: the "
        f"interpreter and the client's imports): {start:.2f} s; "
        f"without it the ratio would be {(ladle_s - start) / direct_s:.2f}"
    )


def startup_seconds(env: dict[str, str], runs: int = 5) -> float:
    """Median wall time of ``ladle push --help``: the interpreter and the imports push needs."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([LADLE, "push", "--help"], env=env, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


if __name__ == "__main__":
    main()
