"""The sandbox's egress rules told as Cloud Foundry security groups (``/v3/security_groups``).

Ladle does not take security groups from users: the rules are the operator's settings, applied
alike to staging and running. What is shown is what :mod:`ladle.sandbox.network` enforces, in the
shape of Cloud Foundry's default groups: ``public_networks`` (every IPv4 range but the denied
ones), ``dns`` (port 53 anywhere) and the operator's allowed networks.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ladle.sandbox.config import SandboxConfig
from ladle.sandbox.network import Network

__all__ = ["SecurityGroup", "sandbox_security_groups"]


@dataclass(frozen=True)
class SecurityGroup:
    name: str
    rules: list[dict[str, Any]]


def _public_ranges(config: SandboxConfig) -> list[str]:
    """The IPv4 ranges left once the denied networks are cut out, as ``first-last``."""
    denied = sorted(
        ipaddress.collapse_addresses(n for n in config.egress.denied if isinstance(n, ipaddress.IPv4Network))
    )
    ranges: list[str] = []
    start = 0
    for network in denied:
        first, last = int(network.network_address), int(network.broadcast_address)
        if first > start:
            ranges.append(f"{ipaddress.IPv4Address(start)}-{ipaddress.IPv4Address(first - 1)}")
        start = max(start, last + 1)
    if start <= 0xFFFFFFFF:
        ranges.append(f"{ipaddress.IPv4Address(start)}-255.255.255.255")
    return ranges


def sandbox_security_groups(config: SandboxConfig) -> list[SecurityGroup]:
    if config.network == Network.NONE:
        return []
    if config.network == Network.HOST:
        return [SecurityGroup("host_network", [{"protocol": "all", "destination": "0.0.0.0-255.255.255.255"}])]
    groups = [
        SecurityGroup("public_networks", [{"protocol": "all", "destination": r} for r in _public_ranges(config)]),
    ]
    if config.egress.dns_anywhere:
        groups.append(
            SecurityGroup(
                "dns",
                [
                    {"protocol": "tcp", "destination": "0.0.0.0/0", "ports": "53"},
                    {"protocol": "udp", "destination": "0.0.0.0/0", "ports": "53"},
                ],
            )
        )
    if config.egress.allowed:
        groups.append(
            SecurityGroup(
                "ladle_allowed_networks",
                [{"protocol": "all", "destination": str(n)} for n in config.egress.allowed],
            )
        )
    return groups
