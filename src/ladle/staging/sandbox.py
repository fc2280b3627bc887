"""Running buildpack scripts: jailed, limited, and never outliving their staging.

With bubblewrap, every script runs in its own pid namespace as uid 2000 ("vcap"), seeing the host
read-only except the build's own directories, which it sees where Cloud Foundry's builder puts
them (``/tmp/app``, ``/tmp/cache``, ...): buildpacks that write their build paths into files
then produce the same bytes whatever Ladle's data directory or the build's guid.

Memory and process counts are capped by a cgroup when one can be made (cgroup v1 here),
otherwise by rlimits; disk use of the writable directories is watched. A deadline, a cancel
check and the end of the staging all kill the whole process tree: bubblewrap's namespace takes
every descendant down with it, and the process group and cgroup catch anything else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = [
    "DiskLimitExceeded",
    "Limits",
    "MemoryLimitExceeded",
    "Mount",
    "RunResult",
    "Sandbox",
    "StagingCancelled",
    "StagingTimedOut",
]

log = logging.getLogger("ladle.staging")

VCAP_UID = 2000
CGROUP_V1 = Path("/sys/fs/cgroup")
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


@dataclass(frozen=True)
class Limits:
    memory_mb: int
    disk_mb: int
    pids: int = 1024
    file_descriptors: int = 16384


@dataclass(frozen=True)
class Mount:
    """A host directory the scripts may use, and where they see it when jailed."""

    host: Path
    inside: str
    writable: bool


@dataclass
class RunResult:
    exit_code: int
    stdout: str = ""


@dataclass
class _Cgroups:
    """The per-staging cgroups Ladle could create (none on machines that do not allow it)."""

    paths: list[Path] = field(default_factory=list)
    memory: Path | None = None

    @classmethod
    def create(cls, name: str, limits: Limits) -> _Cgroups:
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
            if controller == "memory":
                groups.memory = path
        return groups

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

    def kill_all(self) -> None:
        for path in self.paths:
            try:
                pids = (path / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)

    def remove(self) -> None:
        for path in self.paths:
            deadline = time.monotonic() + 5
            while True:
                try:
                    path.rmdir()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        log.warning("could not remove cgroup", extra={"cgroup": str(path)})
                        break
                    self.kill_all()
                    time.sleep(0.05)


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
    """Runs the scripts of one staging. Call :meth:`close` when the staging ends."""

    def __init__(
        self,
        scratch: Path,
        *,
        mounts: Sequence[Mount],
        limits: Limits,
        deadline: float,
        cancelled: Callable[[], bool],
        isolate: bool = True,
    ) -> None:
        self.scratch = scratch
        self.mounts = [Mount(m.host.resolve(), m.inside, m.writable) for m in mounts]
        writable = sorted({m.host for m in self.mounts if m.writable}, key=lambda p: len(p.parts))
        # Disk use is counted once per file: a writable mount inside another adds nothing.
        self.disk_roots = [p for i, p in enumerate(writable) if not any(p.is_relative_to(q) for q in writable[:i])]
        self.limits = limits
        self.deadline = deadline
        self.cancelled = cancelled
        self.bwrap = shutil.which("bwrap") if isolate else None
        if isolate and self.bwrap is None:
            log.warning("bubblewrap (bwrap) is not installed: buildpack scripts run as plain processes")
        self.cgroups = _Cgroups.create(f"{scratch.name}-{uuid.uuid4().hex[:8]}", limits)
        if not self.cgroups.paths:
            log.warning("no writable cgroup: staging memory is limited by rlimits only")
        self.home = scratch / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self._passwd = scratch / "passwd"
        self._passwd.write_text(
            "root:x:0:0:root:/root:/bin/bash\n"
            f"vcap:x:{VCAP_UID}:{VCAP_UID}:vcap:/home/vcap:/bin/bash\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        )
        self._running: subprocess.Popen[bytes] | None = None

    @property
    def isolated(self) -> bool:
        return self.bwrap is not None

    def inside(self, path: Path) -> str:
        """Where a script sees ``path``: under the mount holding it most closely, when jailed."""
        if not self.isolated:
            return str(path)
        resolved = path.resolve()
        best: Mount | None = None
        for mount in self.mounts:
            if resolved.is_relative_to(mount.host) and (best is None or len(mount.host.parts) > len(best.host.parts)):
                best = mount
        if best is None:
            return str(path)
        rest = resolved.relative_to(best.host)
        return best.inside if rest == Path() else f"{best.inside}/{rest}"

    def _command(self, argv: Sequence[str | Path], cwd: Path) -> list[str]:
        rlimits = [
            "prlimit",
            f"--nofile={self.limits.file_descriptors}",
            # A file may not grow past the disk limit; one MiB over, so the overrun is measurable.
            f"--fsize={(self.limits.disk_mb + 1) * 1024 * 1024}",
        ]
        if self.cgroups.memory is None:
            rlimits.append(f"--as={self.limits.memory_mb * 1024 * 1024 * 4}")
        if not self.cgroups.paths:
            rlimits.append(f"--nproc={self.limits.pids}")
        command: list[str] = []
        if self.cgroups.paths:
            joins = "; ".join(f'echo $$ > "{p}/cgroup.procs"' for p in self.cgroups.paths)
            command = ["sh", "-c", f'{joins}; exec "$@"', "ladle-staging"]
        if shutil.which("prlimit"):
            command += [*rlimits, "--"]
        if self.bwrap is None:
            return [*command, *map(str, argv)]
        jail = [
            self.bwrap,
            "--die-with-parent",
            "--new-session",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-user",
            "--uid",
            str(VCAP_UID),
            "--gid",
            str(VCAP_UID),
            "--hostname",
            "ladle-staging",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--ro-bind",
            str(self._passwd),
            "/etc/passwd",
            "--tmpfs",
            "/home",
            "--bind",
            str(self.home),
            "/home/vcap",
        ]
        # Outer mounts first, so a mount inside another one's target lands on top of it.
        for mount in sorted(self.mounts, key=lambda m: m.inside.count("/")):
            jail += ["--bind" if mount.writable else "--ro-bind", str(mount.host), mount.inside]
        jail += ["--chdir", self.inside(cwd), "--"]
        return [*command, *jail, *(self.inside(a) if isinstance(a, Path) else a for a in argv)]

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
        child_env = {**env, "HOME": "/home/vcap" if self.isolated else str(self.home), "USER": "vcap"}
        process = subprocess.Popen(
            self._command(argv, cwd),
            cwd=cwd,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._running = process
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
        oom_before = self.cgroups.oom_kills()
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
            self._running = None
        if code in (-signal.SIGKILL, 137) and self.cgroups.oom_kills() > oom_before:
            raise MemoryLimitExceeded()
        if code != 0 and self._over_disk_limit():
            raise DiskLimitExceeded()
        return RunResult(code, "".join(captured))

    def _over_disk_limit(self) -> bool:
        return _dir_size(self.disk_roots) > self.limits.disk_mb * 1024 * 1024

    def kill(self) -> None:
        process = self._running
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        self.cgroups.kill_all()

    def close(self) -> None:
        self.kill()
        self.cgroups.remove()


def _pump(stream: IO[bytes], kind: str, capture: Callable[[str], None] | None, sink: OutputSink) -> None:
    for raw in iter(stream.readline, b""):
        text = raw.decode("utf-8", "replace")
        if capture is not None:
            capture(text)
        else:
            sink(text.rstrip("\n"), kind)
