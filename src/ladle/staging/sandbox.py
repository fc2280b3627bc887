"""Running buildpack scripts: jailed, limited, and never outliving their staging.

Every script of one staging runs in the same jail (``ladle.sandbox``): as ``vcap`` in namespaces
of its own, seeing the system's directories and the build's own directories where Cloud
Foundry's builder puts them (``/tmp/app``, ``/tmp/cache``, ...), so buildpacks that write their
build paths into files produce the same bytes whatever Ladle's data directory or the build's guid.

On top of the jail this adds what staging needs: a deadline, a cancel check and a disk watch
over the writable directories, each of which kills every process of the jail, and the
translation of a memory-cgroup kill into :class:`MemoryLimitExceeded`.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ladle.sandbox import IsolationUnavailable, Jail, JailError, Limits, Mount, SandboxConfig

__all__ = [
    "DiskLimitExceeded",
    "IsolationUnavailable",
    "JailError",
    "Limits",
    "MemoryLimitExceeded",
    "Mount",
    "RunResult",
    "Sandbox",
    "StagingCancelled",
    "StagingTimedOut",
]

log = logging.getLogger("ladle.staging")

DISK_CHECK_EVERY = 2.0
OutputSink = Callable[[str, str], None]


class SandboxError(Exception):
    pass


class StagingTimedOut(SandboxError):
    pass


class StagingCancelled(SandboxError):
    pass


class DiskLimitExceeded(SandboxError):
    pass


class MemoryLimitExceeded(SandboxError):
    pass


@dataclass
class RunResult:
    exit_code: int
    stdout: str = ""


def _dir_size(paths: Sequence[Path]) -> int:
    total = 0
    stack = [str(p) for p in paths]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        continue
        except OSError:
            continue
    return total


class Sandbox:
    """Runs the scripts of one staging. Call :meth:`close` when the staging ends.

    Raises :class:`IsolationUnavailable` or :class:`JailError` when the jail cannot be made."""

    def __init__(
        self,
        scratch: Path,
        *,
        mounts: Sequence[Mount],
        limits: Limits,
        deadline: float,
        cancelled: Callable[[], bool],
        config: SandboxConfig,
    ) -> None:
        self.scratch = scratch
        self.limits = limits
        self.deadline = deadline
        self.cancelled = cancelled
        name = f"{config.staging_prefix}{scratch.name}"
        self.jail = Jail(config, name=name, state_dir=scratch, mounts=mounts, limits=limits)
        writable = sorted({m.host for m in self.jail.mounts if m.writable}, key=lambda p: len(p.parts))
        # Disk use is counted once per file: a writable mount inside another adds nothing.
        self.disk_roots = [p for i, p in enumerate(writable) if not any(p.is_relative_to(q) for q in writable[:i])]
        if not self.jail.cgroups.paths:
            log.warning("no writable cgroup: staging memory is limited by rlimits only")

    @property
    def isolated(self) -> bool:
        return self.jail.isolated

    @property
    def notes(self) -> list[str]:
        """What the operator should know about this sandbox (e.g. it has no egress, and why)."""
        return self.jail.notes

    def inside(self, path: Path) -> str:
        return self.jail.inside(path)

    def hand_over(self, *paths: Path) -> None:
        """Let the scripts write ``paths`` (they belong to the sandbox's uid from now on)."""
        self.jail.hand_over(*paths)

    def run(
        self,
        argv: Sequence[str | Path],
        *,
        env: Mapping[str, str],
        cwd: Path,
        on_output: OutputSink,
        capture_stdout: bool = False,
    ) -> RunResult:
        """Run one script; its stderr (and stdout unless captured) goes to ``on_output``.

        ``Path`` arguments are host paths, handed to the script as it sees them."""
        process = self.jail.spawn(argv, env=env, cwd=cwd)
        captured: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        readers = [
            threading.Thread(
                target=_pump,
                args=(process.stdout, "OUT", captured.append if capture_stdout else None, on_output),
                daemon=True,
            ),
            threading.Thread(target=_pump, args=(process.stderr, "ERR", None, on_output), daemon=True),
        ]
        for reader in readers:
            reader.start()
        oom_before = self.jail.cgroups.oom_kills()
        last_disk_check = time.monotonic()
        try:
            while True:
                try:
                    code = process.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                if now > self.deadline:
                    raise StagingTimedOut()
                if self.cancelled():
                    raise StagingCancelled()
                if now - last_disk_check > DISK_CHECK_EVERY:
                    last_disk_check = now
                    if self._over_disk_limit():
                        raise DiskLimitExceeded()
        except SandboxError:
            self.kill()
            raise
        finally:
            for reader in readers:
                reader.join(timeout=5)
            self.jail.reap()
        if code in (-signal.SIGKILL, 137) and self.jail.cgroups.oom_kills() > oom_before:
            raise MemoryLimitExceeded()
        if code != 0 and self._over_disk_limit():
            raise DiskLimitExceeded()
        return RunResult(code, "".join(captured))

    def _over_disk_limit(self) -> bool:
        return _dir_size(self.disk_roots) > self.limits.disk_mb * 1024 * 1024

    def kill(self) -> None:
        self.jail.kill_all()

    def close(self) -> None:
        self.jail.close()


def _pump(stream: IO[bytes], kind: str, capture: Callable[[str], None] | None, sink: OutputSink) -> None:
    for raw in iter(stream.readline, b""):
        text = raw.decode("utf-8", "replace")
        if capture is not None:
            capture(text)
        else:
            sink(text.rstrip("\n"), kind)
