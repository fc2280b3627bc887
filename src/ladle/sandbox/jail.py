"""A jail: the namespaces, identity, cgroups and network one piece of user code runs in.

One jail serves one staging (every buildpack script of it) or one app instance. It is made of:

- a *holder* process that owns the jail's user and network namespaces (and, when Ladle is root,
  a private mount namespace where the directories the jail may see are bound under a path the
  sandbox uid can traverse; Ladle's data directory itself stays 0700);
- user-mode networking and egress rules in that network namespace (``network``, ``slirp``);
- the jail's cgroups, joined by each process before it drops privileges (``cgroups``);
- for each process, bubblewrap: a fresh mount, pid, ipc and uts namespace and a nested user
  namespace where it is uid 2000 without capabilities, seeing only what ``visibility`` allows
  and the jail's mounts.

Processes are started with :meth:`Jail.spawn` (any number, short or long-lived); a port
listening inside is published on the host's loopback with ``publish=`` at creation;
:meth:`Jail.kill_all` ends every process of the jail and :meth:`Jail.close` removes the jail.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from ladle.sandbox.cgroups import Cgroups
from ladle.sandbox.config import SandboxConfig
from ladle.sandbox.identity import VCAP_UID, Identity
from ladle.sandbox.limits import Limits, rlimit_prefix
from ladle.sandbox.network import Network, host_addresses, nft_ruleset, sandbox_resolv_conf
from ladle.sandbox.slirp import Slirp, SlirpError
from ladle.sandbox.visibility import group_file, passwd_file, replaceable_path, system_mounts

__all__ = ["IsolationUnavailable", "Jail", "JailError", "Mount"]

log = logging.getLogger("ladle.sandbox")

HOLDER_TIMEOUT = 10.0
SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin"
# Where, in the jail's private mount namespace, the directories it may see are bound. It only
# has to exist on the host (empty); each jail mounts its own tmpfs over it.
MOUNTPOINT_CANDIDATES = (Path("/run/ladle-sandbox"), Path("/var/tmp/ladle-sandbox"))
TUN = Path("/dev/net/tun")

# Run by root in a new mount namespace: bind the jail's directories under the mountpoint, give
# the sandbox uid a tun device of its own when the host's is root-only (udev usually makes it
# 0666; slirp needs it), then become the sandbox uid in a new user (and network) namespace and
# wait until Ladle closes stdin.
_PRIVILEGED_HOLDER = r"""
set -e
mp=$1 u=$2 g=$3 tun=$4 net=$5; shift 5
mount -t tmpfs -o mode=0755,size=64k,nosuid,nodev ladle-sandbox "$mp"
notun=""
if [ "$tun" = 1 ]; then
    { mount -t tmpfs -o mode=0755,size=16k,nosuid ladle-tun /dev/net &&
      mknod -m 0600 /dev/net/tun c 10 200 && chown "$u:$g" /dev/net/tun; } || notun=" no-tun"
fi
i=0
for src in "$@"; do
    if [ -d "$src" ]; then mkdir "$mp/$i"; else : > "$mp/$i"; fi
    mount --bind "$src" "$mp/$i"
    i=$((i+1))
done
exec setpriv --reuid="$u" --regid="$g" --clear-groups -- unshare --user --map-root-user $net -- \
    sh -c 'echo "ready$1"; read _' holder "$notun"
"""
_HOLDER = "echo ready; read _"


class JailError(Exception):
    """The jail could not be set up."""


class IsolationUnavailable(JailError):
    """Isolation is wanted but bubblewrap is missing."""


@dataclass(frozen=True)
class Mount:
    """A host directory (or file) the jail may use, and where it sees it."""

    host: Path
    inside: str
    writable: bool


@dataclass
class _Spawned:
    process: subprocess.Popen[bytes]
    info: int | None  # bwrap's --info-fd, read when the jail is killed
    child_pid: int | None = None

    def sandbox_init(self) -> int | None:
        """The pid of the sandbox's init (from bwrap's --info-fd), if bwrap got that far."""
        if self.child_pid is None and self.info is not None:
            self.child_pid = _child_pid(self.info)
        return self.child_pid


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=SBIN_PATH)


@lru_cache(maxsize=4)
def _bwrap_supports(bwrap: str, option: str) -> bool:
    result = subprocess.run([bwrap, "--help"], capture_output=True, text=True, check=False)
    return option in result.stdout


def _data_fd(data: bytes) -> int:
    """A pipe's read end already holding ``data`` (bwrap's --ro-bind-data reads it at start)."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, data)
    finally:
        os.close(write_end)
    return read_end


def _mountpoint() -> Path:
    for candidate in MOUNTPOINT_CANDIDATES:
        try:
            candidate.mkdir(mode=0o755, exist_ok=True)
        except OSError:
            continue
        if candidate.is_dir() and not candidate.is_symlink():
            return candidate
    raise JailError("no directory to mount the sandbox's files on (tried /run and /var/tmp)")


def _tun_needs_own_node() -> bool:
    try:
        mode = TUN.stat().st_mode
    except OSError:
        return False
    return mode & 0o006 != 0o006


class Jail:
    def __init__(
        self,
        config: SandboxConfig,
        *,
        name: str,
        state_dir: Path,
        mounts: Sequence[Mount],
        limits: Limits,
        publish: Sequence[int] = (),
        hostname: str = "ladle-sandbox",
    ) -> None:
        """Set up the jail; ``state_dir`` is a private directory of Ladle's for the jail's own
        files (the home directory of ``vcap``). Each port in ``publish`` is forwarded from a free
        port of the host's 127.0.0.1, found in :attr:`published` (``{inside: host}``).

        Raises :class:`IsolationUnavailable` when isolation is on and bubblewrap is missing, and
        :class:`JailError` when set-up fails or a port cannot be published."""
        self.config = config
        self.name = name
        self.limits = limits
        self.hostname = hostname
        self.mounts = [Mount(m.host.resolve(), m.inside, m.writable) for m in mounts]
        self.home = state_dir / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.published: dict[int, int] = {}
        self.network = Network.HOST
        self.notes: list[str] = []
        self._spawned: list[_Spawned] = []
        self._holder: subprocess.Popen[bytes] | None = None
        self._slirp: Slirp | None = None
        self._api_dir: Path | None = None
        self._sources: dict[Path, str] = {}
        self.identity = Identity(os.getuid(), os.getgid(), privileged=False)
        self.bwrap: str | None = None
        if config.isolate:
            self.bwrap = _which("bwrap")
            if self.bwrap is None:
                raise IsolationUnavailable(
                    "bubblewrap (bwrap) is not installed, and Ladle runs user code only in a sandbox. Install "
                    "bubblewrap, or set LADLE_STAGING_ISOLATION=false to run it as plain processes of Ladle's "
                    "own user, able to read and reach everything that user can"
                )
            self.identity = Identity.choose(config.uid, config.gid)
            if self.identity.privileged and self.identity.uid == 0:
                raise JailError("LADLE_SANDBOX_UID must not be 0")
        self.cgroups = Cgroups.create(f"{name}-{os.urandom(4).hex()}", limits)
        try:
            if self.bwrap is not None:
                self.hand_over(self.home)
                self._start_holder(publish)
                if self.network == Network.ISOLATED:
                    self._start_network(publish)
            if publish and self.network == Network.HOST:
                # No namespace of its own: the process listens on the host's port itself.
                self.published = {port: port for port in publish}
            elif publish and not self.published:
                raise JailError(f"ports {list(publish)} cannot be published: {'; '.join(self.notes) or 'no network'}")
        except BaseException:
            self.close()
            raise

    # --- set-up -----------------------------------------------------------------------------

    @property
    def isolated(self) -> bool:
        return self.bwrap is not None

    def _note(self, message: str) -> None:
        self.notes.append(message)
        log.warning(message, extra={"jail": self.name})

    def _start_holder(self, publish: Sequence[int]) -> None:
        network = self.config.network
        if network not in Network.ALL:
            raise JailError(f"unknown sandbox network {network!r} (one of {', '.join(Network.ALL)})")
        if network == Network.ISOLATED:
            missing = [tool for tool in ("slirp4netns", "nft") if _which(tool) is None]
            if missing:
                self._note(
                    f"{' and '.join(missing)} not installed: user code gets a network namespace without egress "
                    "(install slirp4netns and nftables for egress under the security-group rules)"
                )
                network = Network.NONE
            elif not self.identity.privileged and not os.access(TUN, os.R_OK | os.W_OK):
                self._note(f"{TUN} is not usable by Ladle's user: user code gets a network namespace without egress")
                network = Network.NONE
        net_flag = "--net" if network != Network.HOST else ""
        if network == Network.ISOLATED and publish:
            self._api_dir = Path(tempfile.mkdtemp(prefix="ladle-slirp-"))
            self.hand_over(self._api_dir)
        sources = [self.home, *(m.host for m in self.mounts)]
        if self.identity.privileged:
            mountpoint = _mountpoint()
            unique = list(dict.fromkeys(sources))
            self._sources = {path: f"{mountpoint}/{index}" for index, path in enumerate(unique)}
            tun = "1" if network == Network.ISOLATED and _tun_needs_own_node() else "0"
            command = [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                _PRIVILEGED_HOLDER,
                "holder",
                str(mountpoint),
                str(self.identity.uid),
                str(self.identity.gid),
                tun,
                net_flag,
                *map(str, unique),
            ]
        else:
            self._sources = {path: str(path) for path in sources}
            command = ["unshare", "--user", "--map-root-user", *([net_flag] if net_flag else []), "--"]
            command += ["sh", "-c", _HOLDER]
        self._holder = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert self._holder.stdout is not None and self._holder.stderr is not None
        readable, _, _ = select.select([self._holder.stdout], [], [], HOLDER_TIMEOUT)
        line = self._holder.stdout.readline().decode().strip() if readable else ""
        if not line.startswith("ready"):
            with contextlib.suppress(OSError, ValueError):
                self._holder.kill()
            detail = self._holder.stderr.read().decode(errors="replace").strip()
            raise JailError(f"could not set up the sandbox's namespaces: {detail or 'no answer'}")
        self._holder.stdout.close()
        self._holder.stderr.close()
        if "no-tun" in line:
            self._note("no tun device for user-mode networking: user code gets a network namespace without egress")
            network = Network.NONE
        self.network = network

    @property
    def holder_pid(self) -> int:
        assert self._holder is not None
        return self._holder.pid

    def _mount_namespace(self) -> list[str]:
        """Root's prefix into the holder's mount namespace, where the jail's files are bound."""
        return ["nsenter", "-t", str(self.holder_pid), "--mount", "--"] if self.identity.privileged else []

    def _drop_privileges(self) -> list[str]:
        if not self.identity.privileged:
            return []
        uid, gid = self.identity.uid, self.identity.gid
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]

    def _user_namespace(self, *, net: bool) -> list[str]:
        """Into the holder's user (and network) namespace: whoever runs this is the owner of that
        namespace and its root, so the uid stays and the capabilities bwrap and nft need come
        with it (inside that namespace only)."""
        namespaces = ["--user", *(["--net"] if net else [])]
        return ["nsenter", "-t", str(self.holder_pid), *namespaces, "--preserve-credentials", "--"]

    def _start_network(self, publish: Sequence[int]) -> None:
        policy = self.config.egress
        _, nameservers = sandbox_resolv_conf(_host_resolv_conf())
        rules = nft_ruleset(policy, host_addresses(), nameservers)
        nft = _which("nft")
        assert nft is not None
        # The rules come first: should anything below fail, the namespace has no egress at all.
        enter = self._mount_namespace() + self._drop_privileges() + self._user_namespace(net=True)
        result = subprocess.run(
            [*enter, nft, "-f", "-"],
            input=rules.encode(),
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            self._note(f"could not load the egress rules, so no egress: {result.stderr.decode(errors='replace')}")
            self.network = Network.NONE
            return
        slirp = _which("slirp4netns")
        assert slirp is not None
        # slirp runs with the sandbox's credentials, from the mount namespace with its tun device.
        prefix = self._mount_namespace() + self._drop_privileges()
        try:
            self._slirp = Slirp.start(slirp, prefix, self.holder_pid, self._api_dir)
        except SlirpError as exc:
            self._note(f"user-mode networking did not start, so no egress: {exc}")
            self.network = Network.NONE
            return
        for port in publish:
            self.published[port] = self._slirp.publish(port)

    # --- files ------------------------------------------------------------------------------

    def hand_over(self, *paths: Path) -> None:
        """Make ``paths`` (recursively) the sandbox uid's, so user code can write them.

        Never follows a link: what a package or cache links to stays whose it was."""
        if not self.identity.privileged:
            return
        uid, gid = self.identity.uid, self.identity.gid
        for top in paths:
            try:
                info = os.lstat(top)
            except FileNotFoundError:
                continue
            os.chown(top, uid, gid, follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode):
                continue
            for _, dirs, files, dir_fd in os.fwalk(top, follow_symlinks=False):
                for entry in (*dirs, *files):
                    with contextlib.suppress(FileNotFoundError):
                        os.chown(entry, uid, gid, dir_fd=dir_fd, follow_symlinks=False)

    def inside(self, path: Path) -> str:
        """Where a process in the jail sees host ``path``: under the mount holding it most closely."""
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

    def _bwrap(self, cwd: Path, die_with_parent: bool) -> tuple[list[str], list[int], int]:
        assert self.bwrap is not None
        passwd = _data_fd(passwd_file(VCAP_UID))
        group = _data_fd(group_file(VCAP_UID))
        resolv = _data_fd(sandbox_resolv_conf(_host_resolv_conf())[0].encode())
        info_r, info_w = os.pipe()
        args = [
            self.bwrap,
            "--unshare-user",
            "--uid",
            str(VCAP_UID),
            "--gid",
            str(VCAP_UID),
            *(["--disable-userns"] if _bwrap_supports(self.bwrap, "--disable-userns") else []),
            "--cap-drop",
            "ALL",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            self.hostname,
            "--new-session",
            *(["--die-with-parent"] if die_with_parent else []),
            "--info-fd",
            str(info_w),
            *system_mounts(),
            "--ro-bind-data",
            str(passwd),
            replaceable_path("/etc/passwd"),
            "--ro-bind-data",
            str(group),
            replaceable_path("/etc/group"),
            "--ro-bind-data",
            str(resolv),
            replaceable_path("/etc/resolv.conf"),
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--size",
            str(self.limits.disk_mb * 1024 * 1024),
            "--tmpfs",
            "/tmp",
            "--symlink",
            "../tmp",
            "/var/tmp",
            "--bind",
            self._sources[self.home],
            "/home/vcap",
        ]
        # Outer mounts first, so a mount inside another one's target lands on top of it.
        for mount in sorted(self.mounts, key=lambda m: m.inside.count("/")):
            args += ["--bind" if mount.writable else "--ro-bind", self._sources[mount.host], mount.inside]
        args += ["--chdir", self.inside(cwd), "--"]
        return args, [passwd, group, resolv, info_w], info_r

    # --- processes --------------------------------------------------------------------------

    def spawn(
        self,
        argv: Sequence[str | Path],
        *,
        env: Mapping[str, str],
        cwd: Path,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = subprocess.PIPE,
        stderr: int | IO[Any] | None = subprocess.PIPE,
        die_with_parent: bool = True,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in the jail as ``vcap``; ``Path`` arguments are host paths, handed over
        as the process sees them, and ``cwd`` is a host path inside one of the mounts.

        ``die_with_parent`` kills the process when the thread that spawned it ends (bubblewrap's
        parent-death signal is per thread): right for a script a thread waits for; a long-running
        instance started from a short-lived thread should pass False and rely on :meth:`kill_all`."""
        rlimits = rlimit_prefix(
            self.limits, memory_cgroup=self.cgroups.memory is not None, pids_cgroup=self.cgroups.pids is not None
        )
        child_env = {**env, "HOME": "/home/vcap" if self.isolated else str(self.home), "USER": "vcap"}
        if self.bwrap is None:
            command = [*self.cgroups.join_prefix(), *rlimits, *map(str, argv)]
            process = subprocess.Popen(
                command, cwd=cwd, env=child_env, stdin=stdin, stdout=stdout, stderr=stderr, start_new_session=True
            )
            self._spawned.append(_Spawned(process, None))
            return process
        jail, fds, info_r = self._bwrap(cwd, die_with_parent)
        command = [
            *self.cgroups.join_prefix(),
            *self._mount_namespace(),
            *self._drop_privileges(),
            *self._user_namespace(net=self.network != Network.HOST),
            *rlimits,
            *jail,
            *(self.inside(a) if isinstance(a, Path) else a for a in argv),
        ]
        try:
            process = subprocess.Popen(
                command,
                cwd="/",
                env=child_env,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                pass_fds=fds,
                start_new_session=True,
            )
        except BaseException:
            os.close(info_r)
            raise
        finally:
            for fd in fds:
                os.close(fd)
        self._spawned.append(_Spawned(process, info_r))
        return process

    def call(
        self, argv: Sequence[str | Path], *, env: Mapping[str, str], cwd: Path, timeout: float, stdin: bytes = b""
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``argv`` to completion (killing the jail's processes after ``timeout``)."""
        process = self.spawn(argv, env=env, cwd=cwd, stdin=subprocess.PIPE)
        try:
            out, err = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_all()
            out, err = process.communicate()
            return subprocess.CompletedProcess(process.args, -signal.SIGKILL, out, err + b"\ntimed out")
        finally:
            self.reap()
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def reap(self) -> None:
        """Forget processes that have ended (and close what was kept to kill them)."""
        for spawned in [s for s in self._spawned if s.process.poll() is not None]:
            if spawned.info is not None:
                os.close(spawned.info)
            self._spawned.remove(spawned)

    def kill_all(self) -> None:
        """SIGKILL every process of the jail: each sandbox's pid namespace (its init takes every
        descendant with it), each process group Ladle started, and the cgroups' members."""
        for spawned in list(self._spawned):
            if (pid := spawned.sandbox_init()) is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(spawned.process.pid, signal.SIGKILL)
        self.cgroups.kill_all()
        for spawned in list(self._spawned):
            with contextlib.suppress(subprocess.TimeoutExpired):
                spawned.process.wait(timeout=5)
        self.reap()

    def close(self) -> None:
        """Kill everything and take the jail down (network, namespaces, cgroups)."""
        self.kill_all()
        if self._slirp is not None:
            self._slirp.stop()
            self._slirp = None
        if self._holder is not None:
            with contextlib.suppress(OSError, ValueError):
                if self._holder.stdin is not None:
                    self._holder.stdin.close()
            try:
                self._holder.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self._holder.pid, signal.SIGKILL)
                self._holder.wait(timeout=5)
            self._holder = None
        if self._api_dir is not None:
            shutil.rmtree(self._api_dir, ignore_errors=True)
            self._api_dir = None
        self.cgroups.remove()


def _child_pid(info_fd: int) -> int | None:
    os.set_blocking(info_fd, False)
    try:
        data = os.read(info_fd, 65536)
    except OSError:
        return None
    try:
        pid = json.loads(data.decode()).get("child-pid")
    except (ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) and pid > 1 else None


def _host_resolv_conf() -> str:
    try:
        return Path("/etc/resolv.conf").read_text()
    except OSError:
        return ""
