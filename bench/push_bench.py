"""Push to first response: how long ``cf push`` of a small app takes, from the manifest request to
the app's first 200 through the router, cold (first push on a fresh server) and warm.

The baseline, measured in the same run, is the same static site served by a plain process on
this machine (``python3 -m http.server``): start it and wait for its first 200. The issue's
target is absolute (warm push under 5 s; a push on Cloud Foundry typically takes 30-60 s), so
both the seconds and the ratio are printed.

    python -m bench.push_bench [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import TypeVar

import httpx

from bench.router_bench import measure
from bench.support import Server, free_port, until

SITE = {
    "Staticfile": "root: public\n",
    "public/index.html": "<h1>hello from the push benchmark</h1>\n",
    # What the load client asks for (router_bench's fixed request): a 200, as an app answers.
    "public/hello": "hello, world\n",
}
YAML = {"Content-Type": "application/x-yaml"}
T = TypeVar("T")


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in SITE.items():
            zf.writestr(name, text)
    return out.getvalue()


def push_once(server: Server, router: str, space: str, name: str, bits: bytes) -> float:
    http = server.http
    started = time.perf_counter()
    manifest = f"applications:\n- name: {name}\n  memory: 64M\n  default-route: true\n"
    r = http.post(f"/v3/spaces/{space}/actions/apply_manifest", content=manifest, headers=YAML)
    r.raise_for_status()
    job = r.headers["Location"]
    until(lambda: http.get(job).json()["state"] == "COMPLETE")
    app = http.get("/v3/apps", params={"names": name, "space_guids": space}).json()["resources"][0]
    index = SITE["public/index.html"].encode()
    resource = {"path": "public/index.html", "mode": "644", "size_in_bytes": len(index)}
    resource["checksum"] = {"value": hashlib.sha1(index).hexdigest()}
    http.post("/v3/resource_matches", json={"resources": [resource]}).raise_for_status()
    rel = {"app": {"data": {"guid": app["guid"]}}}
    package = http.post("/v3/packages", json={"type": "bits", "relationships": rel}).json()
    http.post(f"/v3/packages/{package['guid']}/upload", files={"bits": ("package.zip", bits)}).raise_for_status()
    until(lambda: http.get(f"/v3/packages/{package['guid']}").json()["state"] == "READY")
    build = http.post("/v3/builds", json={"package": {"guid": package["guid"]}}).json()

    def staged() -> str | None:
        body = http.get(f"/v3/builds/{build['guid']}").json()
        if body["state"] == "FAILED":
            raise RuntimeError(body["error"])
        return str(body["droplet"]["guid"]) if body["state"] == "STAGED" else None

    droplet = until(staged)
    http.patch(f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": droplet}})
    http.post(f"/v3/apps/{app['guid']}/actions/restart").raise_for_status()
    host = f"{name}.apps.localhost"
    with httpx.Client(base_url=router, headers={"Host": host}, timeout=5) as client:
        until(lambda: client.get("/").status_code == 200)
    return time.perf_counter() - started


def instance_load(server: Server, router_port: int, space: str, name: str, seconds: float) -> list[str]:
    """Requests/s and latency to one running instance of a pushed app: at its published port
    (what the router itself dials) and through the router, same client, same run."""
    app = server.http.get("/v3/apps", params={"names": name, "space_guids": space}).json()["resources"][0]
    process = server.http.get(f"/v3/apps/{app['guid']}/processes/web").json()
    stats = server.http.get(f"/v3/processes/{process['guid']}/stats").json()["resources"]
    port = int(stats[0]["instance_ports"][0]["external"])
    host = f"{name}.apps.localhost"
    lines = []
    for concurrency in (1, 32):
        direct = measure(port, host, concurrency, seconds)
        routed = measure(router_port, host, concurrency, seconds)
        lines.append(
            f"  c={concurrency:<3} req/s {routed.rps / direct.rps:.2f} ({routed.rps:.0f} vs {direct.rps:.0f})"
            f"   p50 {direct.p50_ms / routed.p50_ms:.2f} ({routed.p50_ms:.2f} vs {direct.p50_ms:.2f} ms)"
            f"   p99 {direct.p99_ms / routed.p99_ms:.2f} ({routed.p99_ms:.2f} vs {direct.p99_ms:.2f} ms)"
        )
    return lines


def baseline_once(site: Path) -> float:
    """The same site from a plain process: start it, wait for its first 200."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site / "public")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(timeout=5) as client:

            def up() -> bool:
                try:
                    return client.get(f"http://127.0.0.1:{port}/").status_code == 200
                except httpx.TransportError:
                    return False

            until(up, 30)
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0, help="load per measurement of the routed instance")
    args = parser.parse_args()
    bits = _zip()
    with tempfile.TemporaryDirectory(prefix="ladle-push-bench-") as tmp:
        site = Path(tmp) / "site"
        for name, text in SITE.items():
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            (site / name).write_text(text)
        router_port = free_port()
        server = Server(Path(tmp) / "data", router_port=str(router_port))
        router = f"http://127.0.0.1:{router_port}"
        try:
            org = server.post("/v3/organizations", {"name": "bench"})
            space = server.post(
                "/v3/spaces", {"name": "bench", "relationships": {"organization": {"data": {"guid": org["guid"]}}}}
            )
            cold = push_once(server, router, str(space["guid"]), "bench-cold", bits)
            warm = [push_once(server, router, str(space["guid"]), f"bench-{i}", bits) for i in range(args.runs)]
            base = [baseline_once(site) for _ in range(args.runs)]
            routed = instance_load(server, router_port, str(space["guid"]), "bench-cold", args.seconds)
        finally:
            server.stop()
    median_warm, median_base = statistics.median(warm), statistics.median(base)
    print(f"push to first response, cold: {cold:.2f} s")
    print(f"push to first response, warm: median {median_warm:.2f} s (min {min(warm):.2f}, max {max(warm):.2f})")
    print(f"baseline (a plain process serving the same site): median {median_base:.3f} s")
    print(f"ratio warm push / baseline: {median_warm / median_base:.1f}")
    print(f"target: warm push under 5 s -> {'met' if median_warm < 5 else 'MISSED'}")
    print("a pushed app's instance (the staticfile site), keep-alive, through the router vs its own port:")
    for line in routed:
        print(line)


if __name__ == "__main__":
    main()
