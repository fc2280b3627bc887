"""Real HTTP servers for the router to forward to, each on its own loopback port.

``AppBackend`` is uvicorn serving a small ASGI app (the kind of server an app instance runs);
``RawBackend`` is a bare socket server whose per-connection handler can misbehave on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

__all__ = ["AppBackend", "RawBackend"]

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class AppBackend:
    """uvicorn on a thread, serving:

    - ``/echo...``: JSON with the backend's name, method, raw path and query, headers (as
      received, in order), the client's address and the body's size (``/session`` also sets a
      ``JSESSIONID`` cookie);
    - ``/upload``: the body's size and sha256, read as it streams;
    - ``/download?size=N``: N bytes with Content-Length, ``/stream?size=N`` the same chunked;
    - ``/slow?seconds=S``: answers after S seconds (or when ``release`` is set);
    - ``/ws``: a WebSocket that echoes every message.
    """

    def __init__(self, name: str = "backend") -> None:
        self.name = name
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.slow_started = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            http="httptools",
            ws="websockets-sansio",
            interface="asgi3",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def start(self) -> AppBackend:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(receive, send)
            return
        path = scope["path"]
        query = dict(part.split("=", 1) for part in scope["query_string"].decode().split("&") if "=" in part)
        if path == "/upload":
            digest, size = hashlib.sha256(), 0
            while True:
                message = await receive()
                chunk = message.get("body", b"")
                digest.update(chunk)
                size += len(chunk)
                if not message.get("more_body"):
                    break
            await _json(send, {"size": size, "sha256": digest.hexdigest(), "name": self.name})
            return
        if path in ("/download", "/stream"):
            size = int(query.get("size", "0"))
            chunk = int(query.get("chunk", str(1024 * 1024)))
            headers = [(b"content-type", b"application/octet-stream")]
            if path == "/download":
                headers.append((b"content-length", str(size).encode()))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            block = bytes(range(256)) * (chunk // 256 + 1)
            left = size
            while left > 0:
                n = min(chunk, left)
                await send({"type": "http.response.body", "body": block[:n], "more_body": True})
                left -= n
            await send({"type": "http.response.body", "body": b""})
            return
        if path == "/slow":
            self.slow_started.set()
            seconds = float(query.get("seconds", "30"))
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, seconds)
            await _json(send, {"name": self.name, "slow": True})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        record = {
            "name": self.name,
            "method": scope["method"],
            "raw_path": scope["raw_path"].decode("latin-1"),
            "query": scope["query_string"].decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            "client": list(scope["client"]),
            "body_size": len(body),
        }
        self.requests.append(record)
        status = int(query.get("status", "200"))
        extra = [(b"x-backend", self.name.encode())]
        if path == "/session":
            extra.append((b"set-cookie", b"JSESSIONID=s-" + self.name.encode() + b"; Path=/; Secure; SameSite=Lax"))
        await _json(send, record, status=status, headers=extra)

    async def _websocket(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            reply: dict[str, Any] = {"type": "websocket.send"}
            if message.get("text") is not None:
                reply["text"] = f"{self.name}: {message['text']}"
            else:
                reply["bytes"] = message["bytes"]
            await send(reply)


async def _json(send: Send, body: object, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": data})


class RawBackend:
    """A socket server running ``handler(conn)`` on a thread per connection."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.handler = handler
        self.connections = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port: int = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self.handler(conn)

    def stop(self) -> None:
        self._sock.close()


def read_head(conn: socket.socket) -> bytes:
    """Read a request head (through the blank line) from a raw connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data
