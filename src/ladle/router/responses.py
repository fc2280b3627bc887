"""Responses as the client receives them: the app's head rewritten, and the router's own answers.

The router's own answers are gorouter's: ``<code> <text>: <message>`` plus a newline, as
``text/plain; charset=utf-8`` with ``X-Content-Type-Options: nosniff`` and ``X-Cf-Routererror``
(header names in Go's canonical spelling, as gorouter writes them). Requests the HTTP layer
rejects before routing get Go's bare ``400 Bad Request`` and the connection closes.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus

from ladle.router.sticky import vcap_cookie

__all__ = [
    "BODY_CHUNKED",
    "BODY_LENGTH",
    "BODY_NONE",
    "BODY_UNTIL_CLOSE",
    "ResponseHead",
    "http_date",
    "protocol_error",
    "router_error",
    "shape_response_head",
]

# How the body reaches the client.
BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_UNTIL_CLOSE = range(4)

# Response headers the router looks at; the rest pass as they are.
_PASS, _HOP, _CONNECTION, _UPGRADE, _TRANSFER_ENCODING, _LENGTH, _REQUEST_ID, _DATE, _SET_COOKIE = range(9)
_KINDS = {
    b"connection": _CONNECTION,
    b"keep-alive": _HOP,
    b"proxy-connection": _HOP,
    b"proxy-authenticate": _HOP,
    b"proxy-authorization": _HOP,
    b"te": _HOP,
    b"trailer": _HOP,
    b"transfer-encoding": _TRANSFER_ENCODING,
    b"upgrade": _UPGRADE,
    b"content-length": _LENGTH,
    b"x-vcap-request-id": _REQUEST_ID,
    b"date": _DATE,
    b"set-cookie": _SET_COOKIE,
}
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}


class _HttpDate:
    """``Date`` in IMF-fixdate, formatted once a second."""

    def __init__(self) -> None:
        self.second = 0
        self.value = b""

    def __call__(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second, self.value = now, formatdate(now, usegmt=True).encode()
        return self.value


http_date = _HttpDate()


class ResponseHead:
    __slots__ = ("body", "delimited_by_close", "head", "keep_alive")

    def __init__(self, head: bytes, body: int, keep_alive: bool, delimited_by_close: bool) -> None:
        self.head = head
        self.body = body
        self.keep_alive = keep_alive
        # The app gave neither a length nor chunks: its body ends when it closes.
        self.delimited_by_close = delimited_by_close


def shape_response_head(
    status: int,
    reason: bytes,
    headers: list[tuple[bytes, bytes]],
    request_id: bytes,
    *,
    head_request: bool,
    client_keep_alive: bool,
    client_http10: bool,
    sticky: tuple[bytes, bytes, bytes] | None = None,
) -> ResponseHead:
    """The app's response head for the client: hop-by-hop headers out, ``X-Vcap-Request-Id``
    and ``Date`` in if the app set none, framing the client can read, and the sticky-session
    cookie when due (``sticky`` = requested instance, answering instance, route path)."""
    out = [_status_line(status, reason)]
    length = chunked = False
    has_id = has_date = False
    named: list[bytes] | None = None
    set_cookies: list[bytes] = []
    switching = status == 101
    kinds = _KINDS
    for name, value in headers:
        kind = kinds.get(name.lower(), _PASS)
        if kind == _PASS:
            out += (name, b": ", value, b"\r\n")
            continue
        if kind == _LENGTH:
            length = True
        elif kind == _REQUEST_ID:
            has_id = True
        elif kind == _DATE:
            has_date = True
        elif kind == _SET_COOKIE:
            set_cookies.append(value)
        elif kind == _TRANSFER_ENCODING:
            chunked = True
            continue
        elif kind == _CONNECTION:
            named = [t.strip() for t in value.lower().split(b",")] + (named or [])
            if not switching:
                continue
        elif kind == _UPGRADE:
            if not switching:
                continue
        else:
            continue
        out += (name, b": ", value, b"\r\n")
    if named and not switching:
        out = _drop_named(out, named)
    if not has_id:
        out += (b"X-Vcap-Request-Id: ", request_id, b"\r\n")
    if not has_date:
        out += (b"Date: ", http_date(), b"\r\n")
    if sticky is not None and (set_cookies or sticky[0]):
        cookie = vcap_cookie(set_cookies, *sticky)
        if cookie is not None:
            out += (b"Set-Cookie: ", cookie, b"\r\n")
    keep_alive = client_keep_alive
    delimited_by_close = False
    if head_request or status < 200 or status in (204, 304):
        body = BODY_NONE
    elif length and not chunked:
        body = BODY_LENGTH
    else:
        delimited_by_close = not chunked
        if client_http10:
            body, keep_alive = BODY_UNTIL_CLOSE, False
        else:
            body = BODY_CHUNKED
            out.append(b"Transfer-Encoding: chunked\r\n")
    if switching:
        keep_alive = False
    elif not keep_alive:
        out.append(b"Connection: close\r\n")
    elif client_http10:
        out.append(b"Connection: keep-alive\r\n")
    out.append(b"\r\n")
    return ResponseHead(b"".join(out), body, keep_alive, delimited_by_close)


_status_lines: dict[tuple[int, bytes], bytes] = {}


def _status_line(status: int, reason: bytes) -> bytes:
    line = _status_lines.get((status, reason))
    if line is None:
        line = b"HTTP/1.1 %d %s\r\n" % (status, reason or _REASONS.get(status, b""))
        if len(_status_lines) < 1000:  # apps choose reasons; keep the cache bounded
            _status_lines[status, reason] = line
    return line


def _drop_named(out: list[bytes], named: list[bytes]) -> list[bytes]:
    kept = out[:1]
    for i in range(1, len(out), 4):
        if out[i].lower() not in named:
            kept += out[i : i + 4]
    return kept


def router_error(
    status: int, message: str, error: str, *, cache_control: bytes | None = None, close: bool = False
) -> bytes:
    """A whole response from the router itself, as gorouter's plaintext error writer."""
    body = f"{status} {HTTPStatus(status).phrase}: {message}\n".encode()
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])]
    if cache_control is not None:
        lines.append(b"Cache-Control: " + cache_control + b"\r\n")
    lines += [
        b"Content-Type: text/plain; charset=utf-8\r\n",
        b"X-Cf-Routererror: " + error.encode("latin-1", "replace") + b"\r\n",
        b"X-Content-Type-Options: nosniff\r\n",
        b"Date: " + http_date() + b"\r\n",
        b"Content-Length: %d\r\n" % len(body),
    ]
    if close:
        lines.append(b"Connection: close\r\n")
    lines += [b"\r\n", body]
    return b"".join(lines)


def protocol_error(status: int, detail: str = "") -> bytes:
    """Go's answer to a request it cannot parse; the connection closes after it."""
    text = f"{status} {HTTPStatus(status).phrase}" + (f": {detail}" if detail else "")
    return (f"HTTP/1.1 {text}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n{text}").encode()
