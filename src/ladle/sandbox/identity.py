"""Whose host credentials user code runs with.

Inside every sandbox user code is ``vcap`` (uid and gid 2000), as in Cloud Foundry. What matters
on the host is the uid that the inside uid stands for, because the host's permission checks see
that one:

- Ladle running as root: a dedicated uid and gid that own nothing on the host
  (``LADLE_SANDBOX_UID``/``LADLE_SANDBOX_GID``). The sandbox is started with those credentials and
  no supplementary groups, so a root-only file stays root-only, and so does Ladle's data.
- Ladle running as an ordinary user: that user, since an unprivileged process has no other uid to
  give away. The sandbox then simply does not contain that user's files (see ``visibility``).
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

__all__ = ["DEFAULT_SANDBOX_UID", "VCAP_UID", "Identity"]

VCAP_UID = 2000
# Above the ranges distributions hand out to people, services and systemd-nspawn containers
# (which stop at 1879048191), below the 2^31 boundary some tools still mishandle.
DEFAULT_SANDBOX_UID = 2_000_000_000


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int
    # Ladle is root: it drops to uid/gid itself and may set up mounts for the sandbox.
    privileged: bool

    @classmethod
    def choose(cls, sandbox_uid: int, sandbox_gid: int | None) -> Identity:
        """The sandbox uid when Ladle is root, otherwise Ladle's own uid."""
        if os.geteuid() != 0:
            return cls(os.getuid(), os.getgid(), privileged=False)
        gid = sandbox_uid if sandbox_gid is None else sandbox_gid
        return cls(sandbox_uid, gid, privileged=True)

    def describe(self) -> str:
        try:
            name = pwd.getpwuid(self.uid).pw_name
        except KeyError:
            name = "no passwd entry"
        return f"uid {self.uid} ({name}), gid {self.gid}"
