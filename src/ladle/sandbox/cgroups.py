"""The cgroups of one sandbox: memory and process caps, and a list of every process to kill.

Ladle creates them under ``<controller>/ladle/<name>`` when it may (cgroup v1 as root here); a
sandbox's first process joins them before it drops privileges, so nothing inside can leave.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shlex
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from ladle.sandbox.limits import Limits

__all__ = ["CGROUP_V1", "Cgroups", "owner_prefix", "remove_leftover_cgroups"]

log = logging.getLogger("ladle.sandbox")

CGROUP_V1 = Path("/sys/fs/cgroup")


@dataclass
class Cgroups:
    """The cgroups Ladle could create (none on machines that do not allow it)."""

    paths: list[Path] = field(default_factory=list)
    memory: Path | None = None
    pids: Path | None = None

    @classmethod
    def create(cls, name: str, limits: Limits) -> Cgroups:
        groups = cls()
        for controller, settings in (
            ("memory", {"memory.limit_in_bytes": str(limits.memory_mb * 1024 * 1024)}),
            ("pids", {"pids.max": str(limits.pids)}),
        ):
            base = CGROUP_V1 / controller
            if not (base / "cgroup.procs").exists():
                continue
            path = base / "ladle" / name
            try:
                path.mkdir(parents=True, exist_ok=True)
                for key, value in settings.items():
                    (path / key).write_text(value)
            except OSError:
                shutil.rmtree(path, ignore_errors=True)
                continue
            groups.paths.append(path)
            setattr(groups, controller, path)
        return groups

    def join_prefix(self) -> list[str]:
        """A command prefix that moves itself into these cgroups, then execs the rest."""
        if not self.paths:
            return []
        joins = "; ".join(f"echo $$ > {shlex.quote(str(p / 'cgroup.procs'))}" for p in self.paths)
        return ["sh", "-c", f'{joins}; exec "$@"', "ladle-sandbox"]

    def oom_kills(self) -> int:
        if self.memory is None:
            return 0
        try:
            for line in (self.memory / "memory.oom_control").read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def pids_in(self) -> list[int]:
        found: set[int] = set()
        for path in self.paths:
            with contextlib.suppress(OSError, ValueError):
                found.update(int(pid) for pid in (path / "cgroup.procs").read_text().split())
        return sorted(found)

    def kill_all(self) -> None:
        for pid in self.pids_in():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        for path in self.paths:
            deadline = time.monotonic() + 5
            while True:
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        log.warning("could not remove cgroup", extra={"cgroup": str(path)})
                        break
                    self.kill_all()
                    time.sleep(0.05)


def owner_prefix(kind: str, node: str) -> str:
    """The start of the names of one node's jails of one kind (``n`` app instances and tasks,
    ``s`` stagings): a restart finds and removes exactly its own leftovers, never those of
    another Ladle on the machine, nor of its other kind, which may already be running again."""
    return kind + hashlib.sha1(node.encode()).hexdigest()[:8]


def remove_leftover_cgroups(prefix: str) -> int:
    """Kill what a killed server left in its jails' cgroups (named ``<prefix>...``) and remove
    them, empty ones included; returns how many were removed."""
    if not prefix:
        return 0
    removed = 0
    for controller in ("memory", "pids"):
        base = CGROUP_V1 / controller / "ladle"
        try:
            groups = list(base.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError:
            # A root server made this parent (0700, its private umask); a server of an ordinary
            # user on the same machine can have no jail under it, and has nothing to remove.
            continue
        for group in groups:
            if not group.is_dir() or not group.name.startswith(prefix):
                continue
            leftover = Cgroups(paths=[group])
            leftover.kill_all()
            leftover.remove()
            removed += not group.exists()
    return removed
