"""Keeping registry reads off the host's own and private networks unless the operator says so.

An image reference is user input: without a rule, ``127.0.0.1:5432/x`` or a registry whose token
realm or redirect points at ``169.254.169.254`` would make the server connect wherever a user
likes and show them the answer. Every connection of an unlisted registry's fetch (registry,
token server, redirects) is resolved here, and refused when any address is loopback, link-local,
private (10/8, 172.16/12, 192.168/16, fc00::/7), unspecified, multicast or one of the host's own;
the connection then goes to the address that was checked, so a second DNS answer cannot differ.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import httpx

from ladle.sandbox.network import IPAddress, host_addresses

__all__ = ["PrivateAddressRefused", "guarded_transport", "is_internal"]

_PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))


class PrivateAddressRefused(httpcore.ConnectError):
    pass


def is_internal(address: IPAddress, own: Iterable[IPAddress] = ()) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or any(address in network for network in _PRIVATE if network.version == address.version)
        or address in set(own)
    )


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._own = host_addresses()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        for address in addresses:
            if is_internal(address, self._own):
                raise PrivateAddressRefused(
                    f"{host} is on a loopback, link-local or private address ({address}); "
                    "Ladle reaches such a registry only when the operator lists it"
                )
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not registries")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_transport(verify: bool) -> httpx.HTTPTransport:
    """An httpx transport whose every connection passes the address rule above."""
    transport = httpx.HTTPTransport(verify=verify)
    # httpx builds its connection pool without a way to pass a network backend: rebuild it with one.
    context = httpx.create_ssl_context(verify=verify)
    transport._pool = httpcore.ConnectionPool(ssl_context=context, network_backend=_GuardedBackend())
    return transport
