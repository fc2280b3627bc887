"""The platform's own memory: resident set of ``ladle serve`` and its router, idle and with apps running.

Counted: the server process and every descendant that runs Python (the router, job helpers);
not counted: the apps' processes and their sandboxes (bubblewrap, slirp4netns, the apps'
servers). The baseline, measured in the same run, is a bare interpreter that has imported Ladle's
web application (the least any Python process serving this API holds). Target: under 300 MB in
all, idle and with 10 apps running.

    python -m bench.memory_bench [--apps 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.push_bench import _zip, push_once
from bench.support import MIB, Server, free_port, rss_bytes

TARGET_MB = 300


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def _is_python(pid: int) -> bool:
    try:
        return "python" in os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return False


def platform_rss(server_pid: int) -> tuple[int, int]:
    """(bytes resident in the server and its Python descendants, how many such processes)."""
    total, count, todo = 0, 0, [server_pid]
    while todo:
        pid = todo.pop()
        if _is_python(pid):
            try:
                total += rss_bytes(pid)
                count += 1
            except (OSError, RuntimeError):
                pass
        todo += _children(pid)
    return total, count


def baseline_rss() -> int:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import ladle.app, sys; sys.stdout.write(open('/proc/self/status').read())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in probe.stdout.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=10)
    args = parser.parse_args()
    base = baseline_rss()
    with tempfile.TemporaryDirectory(prefix="ladle-memory-bench-") as tmp:
        router_port = free_port()
        server = Server(Path(tmp) / "data", router_port=str(router_port))
        try:
            time.sleep(2)
            idle, idle_count = platform_rss(server.proc.pid)
            org = server.post("/v3/organizations", {"name": "bench"})
            space = server.post(
                "/v3/spaces", {"name": "bench", "relationships": {"organization": {"data": {"guid": org["guid"]}}}}
            )
            bits = _zip()
            for i in range(args.apps):
                push_once(server, f"http://127.0.0.1:{router_port}", str(space["guid"]), f"mem-{i}", bits)
            time.sleep(2)
            busy, busy_count = platform_rss(server.proc.pid)
        finally:
            server.stop()
    print(f"baseline: a bare interpreter with Ladle's web app imported: {base / MIB:.0f} MB")
    for label, value, count in (("idle", idle, idle_count), (f"{args.apps} apps running", busy, busy_count)):
        verdict = "met" if value / MIB < TARGET_MB else "MISSED"
        print(
            f"platform {label}: {value / MIB:.0f} MB in {count} processes, {value / base:.1f}x the baseline "
            f"(target < {TARGET_MB} MB: {verdict})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
