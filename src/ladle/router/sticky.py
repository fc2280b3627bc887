"""Sticky sessions as gorouter keeps them: the ``__VCAP_ID__`` cookie.

When an app's response sets a session cookie (``JSESSIONID``, gorouter's default
``sticky_session_cookie_names``), the router adds ``__VCAP_ID__=<instance guid>`` with the same
lifetime, ``Secure``, ``SameSite`` and ``Partitioned``, ``HttpOnly`` and the route's path. A
request carrying both cookies goes to that instance while it is in the table (else anywhere, and
the cookie is set anew for the instance that answered).
"""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime

__all__ = ["SESSION_COOKIES", "VCAP_ID", "requested_instance", "vcap_cookie"]

VCAP_ID = b"__VCAP_ID__"
SESSION_COOKIES = frozenset({b"JSESSIONID"})


def requested_instance(cookie_headers: tuple[bytes, ...]) -> bytes:
    """The instance a request asks to stick to: ``__VCAP_ID__``, if a session cookie is there."""
    session = False
    instance = b""
    for header in cookie_headers:
        for pair in header.split(b";"):
            name, _, value = pair.strip().partition(b"=")
            if name in SESSION_COOKIES:
                session = True
            elif name == VCAP_ID:
                instance = value.strip(b'"')
    return instance if session else b""


def vcap_cookie(set_cookies: list[bytes], requested: bytes, instance_guid: bytes, path: bytes) -> bytes | None:
    """The ``Set-Cookie`` value to add to a response, or None (gorouter's ``setupStickySession``)."""
    should_set = bool(requested) and requested != instance_guid
    attributes: dict[bytes, bytes] | None = None
    for header in set_cookies:
        name = header.split(b"=", 1)[0].strip()
        if name == VCAP_ID:
            return None  # the app manages it itself
        if name in SESSION_COOKIES and attributes is None:
            should_set = True
            attributes = _attributes(header)
    attributes = attributes or {}
    if not should_set or not instance_guid:
        return None
    parts = [VCAP_ID + b"=" + instance_guid, b"Path=" + path]
    expires = attributes.get(b"expires")
    if expires:
        try:
            when = parsedate_to_datetime(expires.decode("latin-1"))
        except (TypeError, ValueError):
            when = None
        if when is not None:
            parts.append(b"Expires=" + format_datetime(when.astimezone(UTC), usegmt=True).encode())
    max_age = attributes.get(b"max-age")
    if max_age is not None and (max_age.startswith(b"-") or max_age == b"0"):
        # Go keeps only a deleting Max-Age from the session cookie.
        parts.append(b"Max-Age=0")
    parts.append(b"HttpOnly")
    if b"secure" in attributes:
        parts.append(b"Secure")
    same_site = attributes.get(b"samesite", b"").lower()
    if same_site in (b"lax", b"strict", b"none"):
        parts.append(b"SameSite=" + same_site.capitalize())
    if b"partitioned" in attributes:
        parts.append(b"Partitioned")
    return b"; ".join(parts)


def _attributes(header: bytes) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for item in header.split(b";")[1:]:
        key, _, value = item.strip().partition(b"=")
        out[key.strip().lower()] = value.strip()
    return out
