"""The router's own page, on its own port under a reserved host name, and a client for it.

``GET /status`` with ``Host: _ladle_router`` answers JSON: the table version applied, how many
routes and endpoints it has, removed endpoints still finishing requests, and access-log counters.
With ``?version=N`` it waits (up to ``timeout`` seconds, default 10, at most 60) until version N is
applied; with ``?drained=ip:port`` until no removed endpoint at that address has a request in
flight. ``GET /health`` answers ``ok``. The host name has an underscore and no dot, so no CF
route can ever be called that.

This is what a rolling restart uses: the runner changes the table (its source's version grows to
N), calls ``wait_for_router(url, N, drained=addr)``, and only then stops the old instance.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import httpx

from ladle.router.responses import http_date

if TYPE_CHECKING:
    from ladle.router.exchange import Exchange
    from ladle.router.server import Router

__all__ = ["STATUS_HOST", "RouterNotReady", "serve_status", "status_document", "wait_for_router"]

STATUS_HOST = "_ladle_router"
MAX_WAIT = 60.0


class RouterNotReady(Exception):
    """The router did not apply the version (or drain the endpoint) in time."""


def status_document(router: Router) -> dict[str, object]:
    table = router.table
    draining = [
        {"address": s.addr, "instance_id": s.endpoint.instance_guid, "in_flight": s.in_flight}
        for s in router.states.values()
        if not s.live
    ]
    queue = router.access_log
    return {
        "applied_version": router.applied_version,
        "applied_at": datetime.fromtimestamp(router.applied_at, UTC).isoformat() if router.applied_at else None,
        "routes": sum(len(h.by_path) + (h.root is not None) for h in table.hosts.values()),
        "endpoints": len(table.states),
        "draining": draining,
        "clients": len(router.clients),
        "source_error": router.reloader.last_error,
        "access_log": {
            "written": queue.written if queue else 0,
            "dropped": queue.dropped if queue else 0,
        },
    }


def serve_status(router: Router, exchange: Exchange) -> None:
    path, _, query = exchange.target.decode("latin-1").partition("?")
    if path == "/health":
        _respond(exchange, 200, b"ok\n", b"text/plain; charset=utf-8")
        return
    if path != "/status":
        _respond(exchange, 404, b"404 page not found\n", b"text/plain; charset=utf-8")
        return
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    try:
        version = int(params.get("version", "0"))
        timeout = min(float(params.get("timeout", "10")), MAX_WAIT)
    except ValueError:
        _respond(exchange, 400, b"version and timeout must be numbers\n", b"text/plain; charset=utf-8")
        return
    drained = params.get("drained", "")
    if not version and not drained:
        _respond_json(router, exchange)
        return
    task = router.loop.create_task(router.wait_until(version, drained, timeout))
    task.add_done_callback(lambda _: _respond_json(router, exchange))


def _respond_json(router: Router, exchange: Exchange) -> None:
    body = json.dumps(router.status()).encode() + b"\n"
    _respond(exchange, 200, body, b"application/json")


def _respond(exchange: Exchange, status: int, body: bytes, content_type: bytes) -> None:
    head = (
        b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\nDate: %s\r\nContent-Length: %d\r\n\r\n"
        % (status, b"OK" if status == 200 else b"Error", content_type, http_date(), len(body))
    )
    exchange.respond_local(head + body, status)


def wait_for_router(
    router_url: str,
    version: int,
    *,
    drained: str = "",
    timeout: float = 10.0,
    client: httpx.Client | None = None,
) -> dict[str, object]:
    """Block until the router at ``router_url`` (``http://127.0.0.1:8081``) has applied
    ``version`` and, if given, finished every request on the removed endpoint ``drained``
    (``ip:port``). Returns its status document; raises ``RouterNotReady`` on timeout."""
    deadline = time.monotonic() + timeout
    params: dict[str, str | int | float] = {"version": version}
    if drained:
        params["drained"] = drained
    http = client or httpx.Client()
    try:
        while True:
            remaining = deadline - time.monotonic()
            params["timeout"] = max(0.0, min(remaining, MAX_WAIT))
            response = http.get(
                f"{router_url.rstrip('/')}/status",
                params=params,
                headers={"Host": STATUS_HOST},
                timeout=remaining + 5,
            )
            response.raise_for_status()
            document: dict[str, object] = response.json()
            applied = document["applied_version"]
            busy = any(d["address"] == drained for d in document["draining"]) if drained else False  # type: ignore[attr-defined]
            if isinstance(applied, int) and applied >= version and not busy:
                return document
            if remaining <= 0:
                raise RouterNotReady(f"router at {router_url} has version {applied}, wanted {version}")
    finally:
        if client is None:
            http.close()
