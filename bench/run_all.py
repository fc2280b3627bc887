"""Run every benchmark and write their results to ``docs/benchmarks.md``.

Each benchmark runs in a process of its own, one after the other (they would disturb each other's
timings), and prints its figures as ratios against a baseline it measures in the same run; this
script only collects what they print, with the machine, the versions and the data sizes.

    python -m bench.run_all [--quick] [--only api,router] [--output docs/benchmarks.md]

``--quick`` shortens every run (fewer rounds, smaller data) to check that the benchmarks work;
its figures are noisier.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ladle import __version__

ROOT = Path(__file__).resolve().parent.parent
# The machine's PostgreSQL (as in the test suite): the API benchmark makes a database of its own there.
POSTGRESQL = os.environ.get("LADLE_BENCH_POSTGRESQL", "postgresql+psycopg://postgres@127.0.0.1:5432")


@dataclass(frozen=True)
class Benchmark:
    name: str
    module: str
    title: str
    args: tuple[str, ...]
    quick: tuple[str, ...]
    # How to read the figures, and why a target the run misses is missed (pointing at the lines
    # of the output that measure the reason).
    notes: str = ""


API_NOTES = """\
Lists report an exact `total_results`, as Cloud Controller's do, so every page counts what its
filters find. The line "an exact total_results" times the cheapest count there is (every row of
the table, straight on the database): at 100k rows it alone takes a good part of the 4x budget
of a 50-item page, and a filtered count (a developer's spaces) reads each matching index entry,
so pages cannot stay flat to 100k rows while the count is exact. Ladle counts a droplet list as
all its filters find less the STAGING droplets, which reads an index alone. `per_page=5000` is
bound by building 5,000 JSON objects in Python. SQLite runs in WAL mode with
`synchronous=NORMAL`: a commit survives a crash of Ladle or of any process (it is in the WAL
when the commit returns); only a power loss can lose the last commits, and never corrupts the
database. `FULL` would add an fsync to every commit for that last case. On PostgreSQL every
statement is also a round trip to the database server's process (the count line includes one),
and a single-resource GET runs a few statements. The PostgreSQL run vacuums and analyzes the
seeded table, as autovacuum does within a minute of such a load; measured in the seconds right
after the bulk insert instead, the planner has no statistics and a developer's 50-item page at
100k rows took three to four times as long.
"""

ROUTER_NOTES = """\
Each "nginx" line is nginx as a reverse proxy in the router's place (one worker process, keep-alive
connections to the backend, the same forwarding headers, a buffered access log): a compiled
proxy on the same machine in the same run. Where nginx itself stays under 0.50, the target is out
of reach for any proxy on these two shared cores: the backend answers for about as little work as
a proxy needs to pass a request on. Where nginx meets it and the router does not (concurrency 32
against the two fastest backends), the router is bound by its own CPU: one Python process
passes on about 28,000-29,000 requests/s, some 35 µs of CPU each, of which the two socket
writes are a third and the event loop's reads and polling a sixth (py-spy); nginx passes on
60,000-85,000. At concurrency 1 the 99th percentile moves a lot from run to run on these shared
cores (nginx's own p99 ratio ranged 0.40-0.66 in one run). The router's access log is written
by a process of its own, which keeps its work off the router's GIL.
"""

STAGING_NOTES = """\
Each run stages a new app's package for the first time, then restages it unchanged. A restage
whose droplet would hold the same files as an earlier droplet of the app takes that droplet's
bits (a blob-store copy) after hashing the tree uncompressed, instead of compressing them again:
the droplet phase of a restage is a few hundredths of the baseline, against about 0.4 when
packed. What a restage still does again is unpacking the package: 5,000 files written anew for
the buildpacks to change. That is file creation on this disk, and it varies with the disk's
state: right after other trees were deleted (the filesystem is mounted with online discard)
`unzip` of the same archive takes several times longer. The restage ratio moves with it: when
the baseline's `unzip` is slowed that way, restages come in under 0.30; when it is quick (as in
the first round of a run), a restage is about half the baseline, most of it the unpack. Avoiding
the unpack needs the package's tree shared copy-on-write with the sandbox (an overlay), which is
not built.
"""

BUILDPACK_CACHE_NOTES = """\
The phase lines say where the time goes. A warm staging is mostly the python buildpack's own
work (its lifecycle phase: pip installing from the restored cache); Ladle's own phases (restoring
the cache, packing and storing the droplet) are a few tenths of a second. A cold staging is
mostly pip downloading from the package index, so the ratio moves with the index's speed: the
faster the network, the higher the ratio, for the same warm staging.
"""

CLIENT_NOTES = """\
The in-process line runs the same `ladle push` in the benchmark's own process: the client's own
requests and waits, which take no longer than the same requests made directly (it follows the
instances through Ladle's stats stream, which the runner wakes as soon as it commits a state).
The last line measures what a new `ladle push` process costs before its first request: the
interpreter and the client's imports. The libraries alone (httpx, click, rich, PyYAML, pathspec,
platformdirs) take about 0.11 s to import on this machine, which is most of the gap, so a new
Python process cannot match requests made from one that is already running; the requests
themselves are no more than `cf push` makes.
"""


BENCHMARKS = (
    Benchmark(
        "api",
        "bench.api_bench",
        "API latency at 1k/10k/100k rows, and creates at concurrency 8",
        ("--rows", "1000,10000,100000"),
        ("--rows", "1000,10000", "--requests", "100", "--create-seconds", "3"),
        API_NOTES,
    ),
    Benchmark(
        "api_postgresql",
        "bench.api_bench",
        "The same on PostgreSQL",
        ("--rows", "1000,10000,100000", "--postgresql", POSTGRESQL),
        ("--rows", "1000,10000", "--requests", "100", "--create-seconds", "3", "--postgresql", POSTGRESQL),
        API_NOTES,
    ),
    Benchmark("load", "bench.load_bench", "Closed-loop mixed load at rising concurrency", (), ("--seconds", "5")),
    Benchmark("memory", "bench.memory_bench", "The platform's own memory", (), ("--apps", "3")),
    Benchmark(
        "upload",
        "bench.upload_bench",
        "Package upload throughput and server memory",
        ("--size-mib", "1024"),
        ("--size-mib", "64", "--runs", "2"),
    ),
    Benchmark(
        "droplet_upload",
        "bench.droplet_upload_bench",
        "Droplet upload throughput and server memory",
        ("--size-mib", "500"),
        ("--size-mib", "64", "--runs", "2"),
    ),
    Benchmark(
        "staging",
        "bench.staging_bench",
        "Staging the reference app (5,000 files, 50 MiB, no-op buildpack)",
        (),
        ("--files", "1000", "--size-mib", "10", "--runs", "2"),
        STAGING_NOTES,
    ),
    Benchmark(
        "buildpack_cache",
        "bench.buildpack_cache_bench",
        "Staging with a warm buildpack cache",
        (),
        ("--runs", "2"),
        BUILDPACK_CACHE_NOTES,
    ),
    Benchmark(
        "router",
        "bench.router_bench",
        "The router against direct requests to the same backend",
        (),
        ("--seconds", "2", "--rounds", "1"),
        ROUTER_NOTES,
    ),
    Benchmark(
        "push",
        "bench.push_bench",
        "Push to first response, and a pushed instance through the router",
        (),
        ("--runs", "2", "--seconds", "2"),
    ),
    Benchmark(
        "client_push",
        "bench.client_push_bench",
        "`ladle push` against the same requests made directly",
        (),
        ("--runs", "2"),
        CLIENT_NOTES,
    ),
)


def machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {total_kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return [
        f"- Machine: {os.cpu_count()} CPUs ({cpu}){memory}, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, Ladle {__version__}",
        f"- Load average at start: {os.getloadavg()[0]:.2f}",
        f"- Run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
    ]


def _states_a_target(line: str) -> bool:
    """A line that names a target: the summaries, and the rows of the API table that miss theirs."""
    if "MISSED" in line:
        return True
    return "target" in line.lower() and "x floor" not in line


def run(benchmark: Benchmark, quick: bool) -> tuple[str, float, int]:
    args = benchmark.quick if quick else benchmark.args
    started = time.monotonic()
    print(f"==> {benchmark.name}: python -m {benchmark.module} {' '.join(args)}", flush=True)
    result = subprocess.run(
        [sys.executable, "-m", benchmark.module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "LADLE_LOG_LEVEL": "error"},
    )
    output = result.stdout.rstrip()
    if result.returncode != 0:
        output += "\n" + result.stderr.strip()[-3000:]
    print(output, flush=True)
    return output, time.monotonic() - started, result.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, to check the benchmarks work")
    parser.add_argument("--only", default="", help="comma-separated names: " + ",".join(b.name for b in BENCHMARKS))
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only.split(",")]
    lines = [
        "# Benchmarks",
        "",
        "Produced by `python -m bench.run_all`" + (" --quick" if args.quick else "") + ". Every figure is a ratio",
        "against a baseline measured in the same run on the same machine (or an absolute target where the",
        "issue sets one); each section is what its benchmark printed.",
        "",
        *machine(),
        "",
    ]
    failed = 0
    targets: list[str] = []
    for benchmark in chosen:
        output, seconds, code = run(benchmark, args.quick)
        failed += code != 0
        args_shown = " ".join(benchmark.quick if args.quick else benchmark.args)
        lines += [
            f"## {benchmark.title}",
            "",
            f"`python -m {benchmark.module} {args_shown}`".replace(" `", "`") + f" ({seconds:.0f} s"
            + (", FAILED" if code else "") + ")",
            "",
            "```",
            output,
            "```",
            "",
            *([benchmark.notes] if benchmark.notes else []),
        ]  # fmt: skip
        targets += [f"- {benchmark.name}: `{line.strip()}`" for line in output.splitlines() if _states_a_target(line)]
    lines += [
        "## Every line that states a target",
        "",
        "Collected from the sections above; the notes under each section say why a target is missed.",
        "",
        *targets,
        "",
    ]
    args.output.write_text("\n".join(lines))
    print(f"wrote {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
