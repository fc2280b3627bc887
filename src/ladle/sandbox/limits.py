"""What one sandbox may use: memory, processes, files, disk."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

__all__ = ["Limits", "rlimit_prefix"]

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    memory_mb: int
    disk_mb: int
    pids: int = 1024
    file_descriptors: int = 16384


def rlimit_prefix(limits: Limits, *, memory_cgroup: bool, pids_cgroup: bool) -> list[str]:
    """``prlimit ... --``: the limits no cgroup enforces, plus those only rlimits can."""
    if shutil.which("prlimit") is None:
        return []
    command = [
        "prlimit",
        f"--nofile={limits.file_descriptors}",
        # A file may not grow past the disk limit; one MiB over, so the overrun is measurable.
        f"--fsize={(limits.disk_mb + 1) * MIB}",
    ]
    if not memory_cgroup:
        command.append(f"--as={limits.memory_mb * MIB * 4}")
    if not pids_cgroup:
        command.append(f"--nproc={limits.pids}")
    return [*command, "--"]
