"""The access log written by a process of its own (``AccessLogPipe``), as ``ladle serve``'s router
runs it: every record reaches the sink, none is lost when the router stops, a stuck sink never
holds up requests, and the process goes with the router."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import httpx

from ladle.router import AccessLogPipe, AccessLogRecord, Route, format_access_log
from tests.router.backends import AppBackend
from tests.router.harness import RunningRouter, endpoint
from tests.support.processes import processes_with_env
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


class FileSink:
    """Made in the sink's process: appends each record's line, with that process's pid."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, records: Sequence[AccessLogRecord]) -> None:
        with self.path.open("a") as out:
            for record in records:
                out.write(f"{os.getpid()} {format_access_log(record)}\n")


class StuckSink:
    """Takes its time over every batch, as a sink whose database hangs."""

    def write(self, records: Sequence[AccessLogRecord]) -> None:
        time.sleep(3)


def test_every_record_reaches_the_sink_process_and_none_is_lost_on_stop(
    router_with: Callable[..., RunningRouter], app_backend: Callable[[str], AppBackend], tmp_path: Path
) -> None:
    lines = tmp_path / "access.log"
    running = router_with(access_log=AccessLogPipe(partial(FileSink, lines)))
    backend = app_backend("b")
    running.set_routes([Route("log.apps.test", "", {}, (endpoint(backend.port),))])
    with httpx.Client(base_url=running.url, headers={"Host": "log.apps.test"}) as client:
        ids = [client.get(f"/echo?n={n}").headers["x-vcap-request-id"] for n in range(150)]
    running.stop()  # records of the last interval are still queued: stopping must send and write them
    written = lines.read_text().splitlines()
    assert len(written) == 150
    pids = {line.split(" ", 1)[0] for line in written}
    assert len(pids) == 1 and pids != {str(os.getpid())}, "written by one process, not the router's"
    assert [line.split("vcap_request_id:")[1].split()[0].strip('"') for line in written] == ids
    assert all(f'"GET /echo?n={n} HTTP/1.1" 200' in line for n, line in enumerate(written))
    assert all(f'"127.0.0.1:{backend.port}"' in line for line in written)


def test_a_killed_sink_process_is_replaced(
    router_with: Callable[..., RunningRouter], app_backend: Callable[[str], AppBackend], tmp_path: Path
) -> None:
    lines = tmp_path / "access.log"
    pipe = AccessLogPipe(partial(FileSink, lines), restart_interval=0.2)
    running = router_with(access_log=pipe)
    backend = app_backend("b")
    running.set_routes([Route("log.apps.test", "", {}, (endpoint(backend.port),))])
    with httpx.Client(base_url=running.url, headers={"Host": "log.apps.test"}) as client:
        assert client.get("/echo?before").status_code == 200
        wait_until(lambda: lines.exists() and "?before" in lines.read_text(), timeout=10, message="no first line")
        first = running.call(lambda: pipe.pid)
        os.kill(first, signal.SIGKILL)

        def logged_after() -> bool:
            # Requests keep coming; once a new process runs, their lines reach the file again.
            assert client.get("/echo?after").status_code == 200
            return "?after" in lines.read_text()

        wait_until(logged_after, timeout=15, interval=0.1, message="no line after the sink's process was killed")
    second = running.call(lambda: pipe.pid)
    running.stop()
    assert second != first
    assert {line.split(" ", 1)[0] for line in lines.read_text().splitlines()} == {str(first), str(second)}


def test_a_stuck_sink_process_never_holds_up_requests(
    router_with: Callable[..., RunningRouter], app_backend: Callable[[str], AppBackend]
) -> None:
    # The pipe fills (the sink reads nothing while it sits on a batch), then what waits past
    # the backlog limit is dropped instead of blocking the data plane or growing without bound.
    pipe = AccessLogPipe(StuckSink, backlog_limit=1, close_timeout=1)
    running = router_with(access_log=pipe)
    backend = app_backend("b")
    running.set_routes([Route("log.apps.test", "", {}, (endpoint(backend.port),))])
    with httpx.Client(base_url=running.url, headers={"Host": "log.apps.test", "X-Pad": "p" * 2000}) as client:
        for _ in range(1000):
            assert client.get("/echo").status_code == 200
    wait_until(lambda: running.call(lambda: pipe.dropped) > 0, timeout=10, message="nothing was dropped")
    running.stop()  # and stopping does not wait on the stuck sink past its timeouts
    assert running.router.access_log is pipe
    assert pipe.written + pipe.dropped == 1000


class HungSink:
    """Never comes back from a batch, as a sink whose database stopped answering."""

    def write(self, records: Sequence[AccessLogRecord]) -> None:
        time.sleep(1000)


# A process plays ``ladle serve``'s router: a Router with the pipe to a sink that hangs on the first
# batch (so the end of the pipe alone would not end it), one request for it, then SIGKILL.
KILLED = textwrap.dedent(
    """
    import asyncio, os, signal
    from ladle.router import AccessLogPipe, Router, StaticRouteSource
    from tests.router.test_access_log_process import HungSink

    async def main():
        pipe = AccessLogPipe(HungSink)
        router = Router(StaticRouteSource([]), port=0, access_log=pipe)
        await router.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", router.port)
        writer.write(b"GET / HTTP/1.1\\r\\nHost: nowhere.test\\r\\n\\r\\n")
        await reader.readuntil(b"\\r\\n\\r\\n")  # gorouter's 404, and a record
        await asyncio.sleep(1.0)  # the record is with the hung sink by then
        print(pipe.written, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


def test_the_sink_process_goes_with_a_killed_router(tmp_path: Path) -> None:
    marker = os.urandom(6).hex()
    # Output to a file: a sink's process left behind would hold a pipe open.
    out = tmp_path / "out"
    try:
        with out.open("wb") as sink:
            killed = subprocess.run(
                [sys.executable, "-c", KILLED],
                cwd=ROOT,
                env={**os.environ, "MARKER": marker},
                stdout=sink,
                stderr=subprocess.STDOUT,
                timeout=60,
                check=False,
            )
        assert killed.returncode == -signal.SIGKILL, out.read_text()
        assert out.read_text().strip() == "1", "the record should have gone to the sink's process"
        wait_until(
            lambda: not processes_with_env([f"MARKER={marker}"]),
            timeout=15,
            message=lambda: f"left running: {processes_with_env([f'MARKER={marker}'])}",
        )
    finally:
        for pid in processes_with_env([f"MARKER={marker}"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
