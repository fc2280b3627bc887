"""Where user code runs: buildpack scripts now, app instances and tasks next.

``Jail`` is the whole sandbox (namespaces, identity, cgroups, network, published ports);
``SandboxConfig`` holds the operator's choices; ``Limits`` and ``Mount`` describe one jail.
The rest of the package holds its parts: ``identity`` (whose host uid), ``visibility`` (which
files), ``network`` and ``slirp`` (which addresses), ``cgroups`` and ``limits`` (how much).
"""

from ladle.sandbox.config import SandboxConfig
from ladle.sandbox.identity import DEFAULT_SANDBOX_UID, VCAP_UID, Identity
from ladle.sandbox.jail import IsolationUnavailable, Jail, JailError, Mount
from ladle.sandbox.limits import Limits
from ladle.sandbox.network import CF_DENIED_NETWORKS, EgressPolicy, Network

__all__ = [
    "CF_DENIED_NETWORKS",
    "DEFAULT_SANDBOX_UID",
    "VCAP_UID",
    "EgressPolicy",
    "Identity",
    "IsolationUnavailable",
    "Jail",
    "JailError",
    "Limits",
    "Mount",
    "Network",
    "SandboxConfig",
]
