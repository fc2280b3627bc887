"""The request as the app receives it: one pass over the client's headers, then the new head.

What gorouter (and Go's reverse proxy under it) does to a request on its way to an instance:
hop-by-hop headers go (``Connection`` and what it names, ``Keep-Alive``, ``Proxy-*``, ``TE``
except ``trailers``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade`` unless this is an upgrade);
``X-Forwarded-For`` gets the client address appended; ``X-Forwarded-Proto`` is the client's or
``http``; ``X-Forwarded-Host`` passes untouched; ``X-Request-Start`` (ms) is added if absent;
``X-Vcap-Request-Id`` is always a fresh id; ``X-CF-ApplicationID``, ``X-CF-InstanceIndex`` and
``X-CF-InstanceID`` are the chosen endpoint's (a client's own values are dropped); and
``X-CF-APP-INSTANCE`` is read for pinning and stripped. Names keep the client's spelling and the
target its bytes.
"""

from __future__ import annotations

__all__ = ["RequestHead", "forwarded_for", "scan_request_headers", "upstream_head"]

# The headers the router looks at; any other passes as it is.
_HOST, _CL, _TE, _CONN, _UPGRADE, _XFF, _XFP, _XRS, _FIRST, _PIN, _IDEMPOTENT, _DROP, _TE_HOP, _COOKIE = range(14)
# Headers passed on whose first value the router also keeps (as Go's Header.Get reads them).
_FIRST_VALUE = {b"referer": "referer", b"user-agent": "user_agent"}
_KINDS: dict[bytes, int] = {
    b"host": _HOST,
    b"content-length": _CL,
    b"transfer-encoding": _TE,
    b"connection": _CONN,
    b"upgrade": _UPGRADE,
    b"x-forwarded-for": _XFF,
    b"x-forwarded-proto": _XFP,
    b"x-request-start": _XRS,
    **dict.fromkeys(_FIRST_VALUE, _FIRST),
    b"x-cf-app-instance": _PIN,
    b"cookie": _COOKIE,
    b"idempotency-key": _IDEMPOTENT,
    b"x-idempotency-key": _IDEMPOTENT,
    b"keep-alive": _DROP,
    b"proxy-connection": _DROP,
    b"proxy-authenticate": _DROP,
    b"proxy-authorization": _DROP,
    b"trailer": _DROP,
    b"te": _TE_HOP,
    b"x-cf-applicationid": _DROP,
    b"x-cf-instanceindex": _DROP,
    b"x-cf-instanceid": _DROP,
    b"x-vcap-request-id": _DROP,
}
# Connection tokens that name no header to drop.
_PLAIN_TOKENS = frozenset({b"", b"close", b"keep-alive", b"upgrade"})


class RequestHead:
    """What the router needs from the client's headers, and the lines it passes on.

    Defaults live on the class, so a scan only stores what a request actually has.
    """

    host = b""
    hosts = 0
    content_length = -1
    chunked = False
    close = False
    upgrade = b""
    upgrade_requested = False
    forwarded_for: tuple[bytes, ...] = ()
    # The client's X-Forwarded-Proto lines, and the first value (kept if not empty, as gorouter).
    forwarded_proto_lines: tuple[bytes, ...] = ()
    forwarded_proto = b""
    # Whether the client sent X-Request-Start at all (gorouter keeps it even empty).
    request_start = False
    pin = b""
    referer = b""
    user_agent = b""
    idempotency_key = False
    trailers = False
    cookies: tuple[bytes, ...] = ()
    # Set when the framing cannot be honoured (a transfer coding other than chunked).
    problem = ""

    def __init__(self) -> None:
        self.lines: list[bytes] = []


def scan_request_headers(headers: list[tuple[bytes, bytes]]) -> RequestHead:
    head = RequestHead()
    lines = head.lines
    kinds = _KINDS
    named: list[bytes] | None = None
    for name, value in headers:
        lname = name.lower()
        kind = kinds.get(lname)
        if kind is None:
            lines += (name, b": ", value, b"\r\n")
        elif kind == _HOST:
            head.host = value
            head.hosts += 1
            lines += (name, b": ", value, b"\r\n")
        elif kind == _CL:
            head.content_length = int(value)  # llhttp accepted it: digits only
            lines += (name, b": ", value, b"\r\n")
        elif kind == _TE:
            head.chunked = True
            if value.strip().lower() != b"chunked":
                head.problem = "unsupported transfer encoding"
        elif kind == _CONN:
            for item in value.lower().split(b","):
                token = item.strip()
                if token == b"close":
                    head.close = True
                elif token == b"upgrade":
                    head.upgrade_requested = True
                elif token not in _PLAIN_TOKENS:
                    named = named or []
                    named.append(token)
        elif kind == _UPGRADE:
            head.upgrade = value
        elif kind == _XFF:
            head.forwarded_for += (value,)
        elif kind == _XFP:
            if not head.forwarded_proto_lines:
                head.forwarded_proto = value
            head.forwarded_proto_lines += (name + b": " + value + b"\r\n",)
        elif kind == _XRS:
            head.request_start = True
            lines += (name, b": ", value, b"\r\n")
        elif kind == _FIRST:
            attribute = _FIRST_VALUE[lname]
            if not getattr(head, attribute):
                setattr(head, attribute, value)
            lines += (name, b": ", value, b"\r\n")
        elif kind == _PIN:
            head.pin = value
        elif kind == _COOKIE:
            head.cookies += (value,)
            lines += (name, b": ", value, b"\r\n")
        elif kind == _IDEMPOTENT:
            head.idempotency_key = True
            lines += (name, b": ", value, b"\r\n")
        elif kind == _TE_HOP:
            head.trailers = head.trailers or b"trailers" in value.lower()
    if named:
        _drop_named(lines, named)
    if not (head.upgrade_requested and head.upgrade):
        head.upgrade_requested = False
    return head


def _drop_named(lines: list[bytes], named: list[bytes]) -> None:
    """Remove the headers the client's ``Connection`` header declared hop-by-hop (rare)."""
    kept: list[bytes] = []
    for i in range(0, len(lines), 4):
        if lines[i].lower() not in named:
            kept += lines[i : i + 4]
    lines[:] = kept


def upstream_head(
    method: bytes, target: bytes, head: RequestHead, *, forwarded: bytes, request_id: bytes, now_ms: int
) -> bytes:
    """The request head for an instance, without the per-endpoint ``X-CF-*`` lines and the
    blank line that ends it (added per attempt)."""
    out = [method, b" ", target, b" HTTP/1.1\r\n"]
    out += head.lines
    out += (b"X-Forwarded-For: ", forwarded, b"\r\n")
    if head.forwarded_proto:
        out += head.forwarded_proto_lines
    else:
        out.append(b"X-Forwarded-Proto: http\r\n")
    if not head.request_start:
        out += (b"X-Request-Start: ", b"%d" % now_ms, b"\r\n")
    out += (b"X-Vcap-Request-Id: ", request_id, b"\r\n")
    if head.upgrade_requested:
        out += (b"Connection: Upgrade\r\nUpgrade: ", head.upgrade, b"\r\n")
    elif head.chunked:
        out.append(b"Transfer-Encoding: chunked\r\n")
    if head.trailers:
        out.append(b"TE: trailers\r\n")
    return b"".join(out)


def forwarded_for(head: RequestHead, client_ip: bytes) -> bytes:
    """``X-Forwarded-For`` as the app gets it: the client's values, then the client address."""
    return b", ".join([*head.forwarded_for, client_ip]) if head.forwarded_for else client_ip
