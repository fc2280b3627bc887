"""The network user code gets: its own namespace, and egress rules modelled on Cloud Foundry's.

Every sandbox has a network namespace of its own, so the host's loopback services (database,
broker, Redis, Ladle's own ports) are simply not there: ``127.0.0.1`` inside is the sandbox's own
loopback. Egress to the outside goes through user-mode networking (``slirp``), started with the
host's loopback cut off, and through nftables rules loaded into the sandbox's namespace before any
user code runs. The rules mirror Cloud Foundry's default staging security groups:

- ``public_networks``: everything except the denied ranges (by default 10.0.0.0/8, 172.16.0.0/12,
  192.168.0.0/16 and 169.254.0.0/16, plus their IPv6 counterparts fc00::/7 and fe80::/10);
- ``dns``: port 53 anywhere.

The host's own addresses are refused as well (they reach the host's services bound to all
interfaces), except for DNS to the resolvers the sandbox is given. Ranges an operator allows
(``LADLE_SANDBOX_ALLOWED_NETWORKS``) are accepted before any refusal.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CF_DENIED_NETWORKS",
    "SLIRP_DNS",
    "EgressPolicy",
    "Network",
    "host_addresses",
    "nft_ruleset",
    "parse_networks",
    "sandbox_resolv_conf",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud Foundry's public_networks group allows everything but these (its defaults), and the
# IPv6 unique-local and link-local ranges are their counterparts.
CF_DENIED_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10")
# slirp's built-in resolver, used when the host's only resolvers are on its loopback.
SLIRP_DNS = "10.0.2.3"
TABLE = "ladle_egress"


class Network:
    """What network a sandbox gets (``LADLE_SANDBOX_NETWORK``)."""

    # Own namespace, egress through slirp under the egress rules.
    ISOLATED = "isolated"
    # Own namespace with loopback only: no egress at all.
    NONE = "none"
    # The host's namespace: user code reaches whatever Ladle reaches. Only by explicit choice.
    HOST = "host"
    ALL = (ISOLATED, NONE, HOST)


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (or single addresses); ValueError names the first bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not a network address: {value!r}") from None
    return tuple(networks)


@dataclass(frozen=True)
class EgressPolicy:
    denied: tuple[IPNetwork, ...] = parse_networks(CF_DENIED_NETWORKS)
    allowed: tuple[IPNetwork, ...] = ()
    # Cloud Foundry's ``dns`` group: port 53 to any destination.
    dns_anywhere: bool = True


def host_addresses(
    fib_trie: Path = Path("/proc/net/fib_trie"), if_inet6: Path = Path("/proc/net/if_inet6")
) -> list[IPAddress]:
    """The host's own non-loopback addresses (IPv4 from the local routing table, then IPv6)."""
    found: list[IPAddress] = []
    try:
        lines = fib_trie.read_text().splitlines()
    except OSError:
        lines = []
    previous = ""
    for line in lines:
        stripped = line.strip()
        # "|-- 192.0.2.2" followed by "/32 host LOCAL" marks an address of this host.
        if stripped.startswith("/32 host LOCAL") and previous.startswith("|-- "):
            address = ipaddress.ip_address(previous[4:].strip())
            if not address.is_loopback and address not in found:
                found.append(address)
        previous = stripped
    try:
        for line in if_inet6.read_text().splitlines():
            raw = line.split()[0]
            address = ipaddress.ip_address(":".join(raw[i : i + 4] for i in range(0, 32, 4)))
            if not address.is_loopback and address not in found:
                found.append(address)
    except (OSError, IndexError, ValueError):
        pass
    return found


def sandbox_resolv_conf(host_text: str) -> tuple[str, list[IPAddress]]:
    """The resolv.conf user code gets, and its resolvers.

    The host's resolvers unless they sit on the host's loopback (unreachable from the sandbox's
    namespace): then slirp's own resolver, which forwards to them."""
    nameservers: list[IPAddress] = []
    other: list[str] = []
    for line in host_text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                address = ipaddress.ip_address(parts[1].split("%")[0])
            except ValueError:
                continue
            if not address.is_loopback:
                nameservers.append(address)
        elif parts and parts[0] in {"search", "domain", "options"}:
            other.append(line.strip())
    if not nameservers:
        nameservers = [ipaddress.ip_address(SLIRP_DNS)]
    text = "".join(f"nameserver {n}\n" for n in nameservers) + "".join(f"{line}\n" for line in other)
    return text, nameservers


def _set(name: str, family: int, members: Sequence[IPNetwork | IPAddress]) -> str:
    kind = "ipv4_addr" if family == 4 else "ipv6_addr"
    chosen = [str(m) for m in members if m.version == family]
    elements = f" elements = {{ {', '.join(chosen)} }};" if chosen else ""
    return f"    set {name}{family} {{ type {kind}; flags interval;{elements} }}\n"


def nft_ruleset(policy: EgressPolicy, own_addresses: Sequence[IPAddress], nameservers: Sequence[IPAddress]) -> str:
    """The nftables ruleset loaded into a sandbox's namespace (input for ``nft -f -``)."""
    sets = ""
    for name, members in (
        ("allowed", policy.allowed),
        ("host", own_addresses),
        ("resolvers", nameservers),
        ("denied", policy.denied),
    ):
        for family in (4, 6):
            sets += _set(name, family, members)
    dns = "        meta l4proto { tcp, udp } th dport 53 accept\n" if policy.dns_anywhere else ""
    return (
        f"table inet {TABLE} {{\n"
        f"{sets}"
        "    chain output {\n"
        "        type filter hook output priority filter; policy accept;\n"
        '        oifname "lo" accept\n'
        # Replies of connections made to a published port, and answers to allowed traffic.
        "        ct state established,related accept\n"
        "        ip daddr @allowed4 accept\n"
        "        ip6 daddr @allowed6 accept\n"
        "        ip daddr @resolvers4 meta l4proto { tcp, udp } th dport 53 accept\n"
        "        ip6 daddr @resolvers6 meta l4proto { tcp, udp } th dport 53 accept\n"
        "        ip daddr @host4 goto refuse\n"
        "        ip6 daddr @host6 goto refuse\n"
        f"{dns}"
        "        ip daddr @denied4 goto refuse\n"
        "        ip6 daddr @denied6 goto refuse\n"
        "    }\n"
        "    chain refuse {\n"
        "        meta l4proto tcp reject with tcp reset\n"
        "        reject with icmpx type admin-prohibited\n"
        "    }\n"
        "}\n"
    )
