"""API latency and create throughput, as ratios against the unauthenticated floor of the same run.

A ``ladle serve`` of its own (SQLite by default, or ``--database-url`` for PostgreSQL), seeded with
``--rows`` droplets by direct SQL (as Cloud Controller's own performance suite seeds its
database), then, from this process over one keep-alive connection per client:

- the floor: unauthenticated ``GET /`` (routing, middleware, JSON: what every request pays);
- single-resource GETs as admin and as a space developer, and ``GET /v3/droplets`` pages of 50
  and 5000, each as p50/p99 and as a ratio of the floor's p50;
- droplet creates (``POST /v3/droplets``) from 8 concurrent clients, per second;
- at each size, ``SELECT count(*) FROM droplets`` straight on the database: what an exact
  ``total_results`` costs before any of Ladle's work, which is why pages cannot stay flat.

    python -m bench.api_bench [--rows 1000,10000] [--requests 300] [--database-url URL | --postgresql SERVER_URL]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from bench.support import Server

TARGETS = {"single": 2.0, "page50": 4.0}


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float


def _latency(samples: list[float]) -> Latency:
    """p50 and p99 of ``samples`` (seconds), in milliseconds."""
    samples.sort()
    return Latency(samples[len(samples) // 2] * 1000, samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000)


def measure(client: httpx.Client, path: str, requests: int) -> Latency:
    for _ in range(max(10, requests // 10)):
        client.get(path)
    samples: list[float] = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
    return _latency(samples)


def count_latency(database_url: str, requests: int) -> Latency:
    """What counting every droplet costs the database alone: the least a page's exact
    ``total_results`` adds as the table grows (every list counts what its filters find)."""
    engine = create_engine(database_url)
    samples: list[float] = []
    with engine.connect() as conn:
        for _ in range(requests):
            started = time.perf_counter()
            conn.execute(text("SELECT count(*) FROM droplets")).scalar()
            samples.append(time.perf_counter() - started)
    engine.dispose()
    return _latency(samples)


def seed_droplets(database_url: str, app_guid: str, count: int) -> None:
    """``count`` STAGED droplets of one app, inserted in one transaction (on PostgreSQL, then
    vacuumed and analyzed, as autovacuum would)."""
    engine = create_engine(database_url)
    now = "2026-01-01 00:00:00"
    with engine.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM droplets")).scalar_one()
        rows = [
            {"guid": str(uuid.uuid4()), "app": app_guid, "now": now, "sha": f"{i:040x}"}
            for i in range(max(0, count - have))
        ]
        if rows:
            conn.execute(
                text(
                    "INSERT INTO droplets (guid, created_at, updated_at, app_guid, state, lifecycle_type, "
                    "stack, buildpack_receipts, process_types, execution_metadata, sidecars, sha1, size) "
                    "VALUES (:guid, :now, :now, :app, 'STAGED', 'buildpack', 'cflinuxfs4', '[]', "
                    "'{\"web\": \"./run\"}', '', '[]', :sha, 1024)"
                ),
                rows,
            )
    if rows and engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a load this size (statistics for the planner,
        # the visibility map for index-only scans): a running installation's state, not a
        # table measured in the seconds after a bulk insert.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE droplets"))
    engine.dispose()


def creates_per_second(url: str, token: str, app_guid: str, clients: int, seconds: float) -> float:
    count = 0
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def work() -> None:
        nonlocal count
        with httpx.Client(base_url=url, headers={"Authorization": f"bearer {token}"}, timeout=60) as http:
            body = {"relationships": {"app": {"data": {"guid": app_guid}}}, "process_types": {"web": "./run"}}
            while time.monotonic() < stop_at:
                response = http.post("/v3/droplets", json=body)
                if response.status_code != 201:
                    errors.append(f"{response.status_code} {response.text[:200]}")
                    return
                with lock:
                    count += 1

    started = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"create failed: {errors[0]}")
    return count / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,10000", help="droplet counts to measure at, rising")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default="", help="a PostgreSQL URL (an empty database); default SQLite")
    parser.add_argument(
        "--postgresql",
        default="",
        metavar="SERVER_URL",
        help="a fresh database on this PostgreSQL server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432), "
        "dropped afterwards",
    )
    parser.add_argument("--create-seconds", type=float, default=5.0)
    args = parser.parse_args()
    counts = [int(c) for c in args.rows.split(",") if c]
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ladle-api-bench-")))
        database_url = args.database_url
        if args.postgresql:
            database_url = stack.enter_context(fresh_postgresql(args.postgresql))
        settings = {"database_url": database_url} if database_url else {}
        server = Server(tmp / "data", **settings)
        try:
            return run(server, database_url or f"sqlite:///{tmp / 'data' / 'ladle.db'}", counts, args)
        finally:
            server.stop()


@contextlib.contextmanager
def fresh_postgresql(server_url: str) -> Iterator[str]:
    """The URL of a new database on ``server_url``, dropped when done."""
    name = f"ladle_api_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{server_url.rstrip('/')}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server_url.rstrip('/')}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(server: Server, database_url: str, counts: list[int], args: argparse.Namespace) -> int:
    admin = server.http
    org = server.post("/v3/organizations", {"name": "bench-org"})
    space = server.post(
        "/v3/spaces", {"name": "bench-space", "relationships": {"organization": {"data": {"guid": org["guid"]}}}}
    )
    app = server.post("/v3/apps", {"name": "bench-app", "relationships": {"space": {"data": {"guid": space["guid"]}}}})
    developer = developer_client(server, database_url, str(org["guid"]), str(space["guid"]))
    anonymous = httpx.Client(base_url=server.url, timeout=60)
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; database "
        f"{database_url.split(':', 1)[0]}; {args.requests} sequential requests per figure, keep-alive",
        flush=True,
    )
    seed_droplets(database_url, str(app["guid"]), 1)
    droplet = admin.get("/v3/droplets", params={"per_page": 1}).json()["resources"][0]["guid"]
    paths: dict[str, tuple[str, str]] = {
        "GET /v3/feature_flags": ("single", "/v3/feature_flags"),
        "GET /v3/organizations/:guid": ("single", f"/v3/organizations/{org['guid']}"),
        "GET /v3/apps/:guid": ("single", f"/v3/apps/{app['guid']}"),
        "GET /v3/droplets/:guid": ("single", f"/v3/droplets/{droplet}"),
        "GET /v3/droplets?per_page=50": ("page50", "/v3/droplets?per_page=50"),
        "GET /v3/droplets?per_page=5000": ("page5000", "/v3/droplets?per_page=5000"),
    }
    summary: list[str] = []
    at_rows: dict[int, dict[str, float]] = {}
    for rows in counts:
        seed_droplets(database_url, str(app["guid"]), rows)
        floor = measure(anonymous, "/", args.requests)
        print(f"\n{rows} droplets: floor GET / p50 {floor.p50_ms:.2f} ms p99 {floor.p99_ms:.2f} ms", flush=True)
        at_rows[rows] = {}
        count = count_latency(database_url, args.requests)
        print(
            f"  (an exact total_results: SELECT count(*) FROM droplets, straight on the database, "
            f"p50 {count.p50_ms:.2f} ms = {count.p50_ms / floor.p50_ms:.2f}x floor)",
            flush=True,
        )
        for who, client in (("admin", admin), ("developer", developer)):
            for name, (kind, path) in paths.items():
                requests = args.requests if kind != "page5000" else max(10, args.requests // 30)
                latency = measure(client, path, requests)
                ratio = latency.p50_ms / floor.p50_ms
                at_rows[rows][f"{who} {name}"] = latency.p50_ms
                target = TARGETS.get(kind)
                verdict = (
                    f"target <= {target:.1f}x {'met' if ratio <= target else 'MISSED'}"
                    if target
                    else f"target <= 150 ms {'met' if latency.p50_ms <= 150 else 'MISSED'}"
                )
                print(
                    f"  {who:9} {name:32} p50 {latency.p50_ms:7.2f} ms  p99 {latency.p99_ms:7.2f} ms  "
                    f"{ratio:5.2f}x floor  ({verdict})",
                    flush=True,
                )
    if len(counts) > 1:
        first, last = counts[0], counts[-1]
        summary.append(f"\nflatness, p50 at {last} rows / p50 at {first} rows (target <= 1.2):")
        for name, value in at_rows[last].items():
            summary.append(f"  {name:42} {value / at_rows[first][name]:5.2f}")
    token = str(admin.headers["Authorization"]).split(" ", 1)[1]
    rate = creates_per_second(server.url, token, str(app["guid"]), 8, args.create_seconds)
    summary.append(f"\ndroplet creates at concurrency 8: {rate:.0f}/s (target >= 300/s)")
    print("\n".join(summary))
    return 0


def developer_client(server: Server, database_url: str, org_guid: str, space_guid: str) -> httpx.Client:
    """A user with the SpaceDeveloper role in the bench space, logged in."""
    name = f"dev-{uuid.uuid4().hex[:8]}"
    added = subprocess.run(
        [sys.executable, "-m", "ladle", "user", "add", name, "--password", "dev-pass", "--database-url", database_url],
        capture_output=True,
        text=True,
        check=True,
    )
    user_guid = added.stdout.strip().rsplit(" ", 1)[-1]
    for role, target, guid in (
        ("organization_user", "organization", org_guid),
        ("space_developer", "space", space_guid),
    ):
        server.post(
            "/v3/roles",
            {"type": role, "relationships": {"user": {"data": {"guid": user_guid}}, target: {"data": {"guid": guid}}}},
        )
    token = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "password", "username": name, "password": "dev-pass"},
        auth=("cf", ""),
    ).json()["access_token"]
    return httpx.Client(base_url=server.url, headers={"Authorization": f"bearer {token}"}, timeout=60)


if __name__ == "__main__":
    sys.exit(main())
