"""The router as a whole: listening socket, table swaps, dialling, housekeeping, and ``serve``.

``Router`` runs on an asyncio loop (uvloop when started through ``serve``); one process, one loop,
every connection a protocol object driven by callbacks. ``serve(settings, source)`` is the entry
point for a process of its own (``ladle router`` uses it with a file source).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

from ladle.router.access_log import AccessLogPipe, AccessLogQueue, AccessLogSink
from ladle.router.client import ClientConnection
from ladle.router.model import Endpoint, Snapshot
from ladle.router.reloader import Reloader
from ladle.router.source import RouteSource
from ladle.router.status import STATUS_HOST, serve_status, status_document
from ladle.router.table import RouteTable, compile_table
from ladle.router.upstream import EndpointState, UpstreamConnection

if TYPE_CHECKING:
    from ladle.config import Settings
    from ladle.router.exchange import Exchange

__all__ = ["Router", "serve"]

log = logging.getLogger("ladle.router")

SWEEP_INTERVAL = 1.0


class Router:
    """The data plane. ``await start()`` binds and loads the first table; ``await stop()`` ends."""

    def __init__(
        self,
        source: RouteSource,
        *,
        host: str = "127.0.0.1",
        port: int = 8081,
        poll_interval: float = 0.2,
        # A sink written to on a worker thread of this process, or a pipe to one in its own.
        access_log: AccessLogSink | AccessLogPipe | None = None,
        access_log_capacity: int = 10_000,
        idle_timeout: float = 900.0,  # gorouter's frontend_idle_timeout
        upstream_idle_timeout: float = 90.0,
        dial_timeout: float = 5.0,  # gorouter's endpoint_dial_timeout
        endpoint_timeout: float = 900.0,  # CF's default request_timeout_in_seconds
        status_host: str = STATUS_HOST,
    ) -> None:
        self.host = host
        self.port = port
        self.status_host = status_host
        self.idle_timeout = idle_timeout
        self.upstream_idle_timeout = upstream_idle_timeout
        self.dial_timeout = dial_timeout
        self.endpoint_timeout = endpoint_timeout
        self.table = RouteTable(0, {}, {})
        # Every endpoint in the table, plus removed ones with requests still in flight.
        self.states: dict[tuple[str, int, str], EndpointState] = {}
        self.clients: set[ClientConnection] = set()
        self.access_log: AccessLogQueue | AccessLogPipe | None = (
            access_log
            if access_log is None or isinstance(access_log, AccessLogPipe)
            else AccessLogQueue(access_log, access_log_capacity)
        )
        self.reloader = Reloader(source, self.apply, poll_interval)
        self.applied_version = 0
        self.applied_at = 0.0
        # Set by stop(): answers say "Connection: close" and connections end after them.
        self.stopping = False
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]  # set by start()
        self._changed = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # Life cycle

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        try:
            await self.reloader.refresh()
        except Exception:
            log.exception("route source failed at start; starting with an empty table")
        self._server = await self.loop.create_server(
            lambda: ClientConnection(self), self.host, self.port, backlog=4096, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._spawn(self.reloader.run())
        self._spawn(self._sweep())
        if self.access_log is not None:
            self._spawn(self.access_log.run())
        log.info("router listening on http://%s:%d", self.host, self.port)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, let requests in flight finish (up to ``grace`` seconds), close all."""
        self.stopping = True
        if self._server is not None:
            self._server.close()
        for client in list(self.clients):
            if client.current is None and not client.queue:
                client.transport.close()
        deadline = time.monotonic() + grace
        while any(c.current is not None for c in self.clients) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for client in list(self.clients):
            client.transport.abort()
        for state in self.states.values():
            state.close_idle()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.access_log is not None:
            await self.access_log.close()

    async def __aenter__(self) -> Router:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _spawn(self, coro: Any) -> None:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # The table

    def apply(self, snapshot: Snapshot) -> None:
        """Swap in a new table. Endpoints no longer in it get no new requests from now on; their
        idle connections close; requests in flight on them finish (they stay "draining")."""
        table = compile_table(snapshot, self._state_for)
        self.table = table
        for key, state in list(self.states.items()):
            if key not in table.states:
                state.live = False
                state.close_idle()
                if not state.in_flight:
                    del self.states[key]
        self.applied_version = snapshot.version
        self.applied_at = time.time()
        self._notify()

    def _state_for(self, endpoint: Endpoint) -> EndpointState:
        state = self.states.get(endpoint.key)
        if state is None or state.endpoint != endpoint:
            state = self.states[endpoint.key] = EndpointState(endpoint)
        state.live = True
        return state

    def forget(self, state: EndpointState) -> None:
        """A removed endpoint's last request finished."""
        if self.states.get(state.key) is state:
            del self.states[state.key]
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, version: int = 0, drained: str = "", timeout: float = 0.0) -> bool:
        """Wait until ``version`` is applied and no removed endpoint at ``drained`` (``ip:port``)
        has requests in flight; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while not self._reached(version, drained):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return self._reached(version, drained)
        return True

    def _reached(self, version: int, drained: str) -> bool:
        if self.applied_version < version:
            return False
        return not drained or not any(s.addr == drained and not s.live for s in self.states.values())

    def reload_soon(self) -> None:
        """Check the source now (for sources changed in this process)."""
        self.loop.call_soon_threadsafe(self.reloader.wake)

    # Upstream connections

    def dial(self, exchange: Exchange, state: EndpointState) -> None:
        self._spawn(self._dial(exchange, state))

    async def _dial(self, exchange: Exchange, state: EndpointState) -> None:
        endpoint = state.endpoint
        try:
            async with asyncio.timeout(self.dial_timeout):
                _, conn = await self.loop.create_connection(
                    lambda: UpstreamConnection(state), endpoint.address, endpoint.port
                )
        except TimeoutError:
            exchange.dial_failed(state, f"dial tcp {state.addr}: i/o timeout")
            return
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            exchange.dial_failed(state, f"dial tcp {state.addr}: connect: {reason}")
            return
        exchange.attach(conn, reused=False)

    # Status

    def serve_status(self, exchange: Exchange) -> None:
        serve_status(self, exchange)

    def status(self) -> dict[str, object]:
        return status_document(self)

    # Housekeeping

    async def _sweep(self) -> None:
        """Close idle connections past their timeouts; fail requests the app never answers."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = time.monotonic()
            idle_sweeps = int(self.idle_timeout / SWEEP_INTERVAL)
            for client in list(self.clients):
                current = client.current
                if current is None:
                    client.idle_sweeps += 1
                    if client.idle_sweeps > idle_sweeps and not client.queue:
                        client.transport.close()
                elif (
                    current.upstream is not None
                    and not current.response_started
                    and now - current.app_started > self.endpoint_timeout
                ):
                    current.timed_out()
            upstream_sweeps = int(self.upstream_idle_timeout / SWEEP_INTERVAL)
            for state in self.states.values():
                if state.idle:
                    state.close_idle(max_sweeps=upstream_sweeps)


def serve(settings: Settings, source: RouteSource, *, access_log: AccessLogSink | AccessLogPipe | None = None) -> None:
    """Run the router in this process (on uvloop) until SIGTERM or SIGINT.

    For a process of its own: build the source (and sink) in that process, then call this.
    """
    import uvloop

    from ladle.heap import settle_after_start

    # The access-log sink and the route source run on worker threads; a short switch interval
    # keeps one of them from holding the GIL for the default 5 ms while requests wait.
    sys.setswitchinterval(0.0005)

    async def main() -> None:
        router = Router(
            source,
            host=settings.router_host,
            port=settings.router_port,
            poll_interval=settings.router_poll_interval,
            access_log=access_log,
        )
        loop = asyncio.get_running_loop()
        # SIGUSR1: the table's source changed (the server that started us says so), read it now.
        # Set up before the router answers, so a server that waited for it cannot kill it with one.
        loop.add_signal_handler(signal.SIGUSR1, router.reloader.wake)
        await router.start()
        settle_after_start()
        stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        await stopping.wait()
        await router.stop()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
