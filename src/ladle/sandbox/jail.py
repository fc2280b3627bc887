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
import logging
import os
import select
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from ladle.sandbox.cgroups import Cgroups
from ladle.sandbox.config import SandboxConfig
from ladle.sandbox.identity import VCAP_UID, Identity
from ladle.sandbox.limits import Limits, rlimit_prefix
from ladle.sandbox.network import Network, host_addresses, nft_ruleset, sandbox_resolv_conf
from ladle.sandbox.parent_death import SETPRIV_PDEATHSIG, lifeline_check, preexec_die_with
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
# wait until Ladle closes stdin. A jail with an image's root (lower) and a directory of its own
# (upper, work) gets an overlay of the two at "$mp/root": the image stays as it is, the instance
# writes where it likes; where overlays cannot be mounted, the image alone, read-only.
_PRIVILEGED_HOLDER = r"""
set -e
mp=$1 u=$2 g=$3 tun=$4 net=$5 lower=$6 upper=$7 work=$8; shift 8
mount -t tmpfs -o mode=0755,size=64k,nosuid,nodev ladle-sandbox "$mp"
notun=""
if [ "$tun" = 1 ]; then
    { mount -t tmpfs -o mode=0755,size=16k,nosuid ladle-tun /dev/net &&
      mknod -m 0600 /dev/net/tun c 10 200 && chown "$u:$g" /dev/net/tun; } || notun=" no-tun"
fi
if [ "$lower" != - ]; then
    mkdir "$mp/root"
    mount -t overlay ladle-root -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$mp/root" 2>/dev/null ||
        { mount --bind "$lower" "$mp/root" && notun="$notun no-overlay"; }
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

# Each sandboxed spawn gets a pid namespace of its own, with bubblewrap as its init, tied to the
# process Ladle started: when that one dies (Ladle killed, or kill_all), the kernel kills
# everything in the namespace. bubblewrap's own --die-with-parent leaves a window: its sandbox
# child sets the signal only late in its set-up, and a child orphaned before that runs on. unshare
# has the same window, narrower, between its fork and its child's request: the lifeline check
# after it (parent_death.lifeline_check) stops a child orphaned there.
PID_NAMESPACE = ["unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--"]


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
        root: Path | None = None,
    ) -> None:
        """Set up the jail; ``state_dir`` is a private directory of Ladle's for the jail's own
        files (the home directory of ``vcap``). Each port in ``publish`` is forwarded from a free
        port of the host's 127.0.0.1, found in :attr:`published` (``{inside: host}``).

        Raises :class:`IsolationUnavailable` when isolation is on and bubblewrap is missing, and
        :class:`JailError` when set-up fails or a port cannot be published.

        ``root`` (an unpacked image) becomes the processes' whole filesystem, with private
        ``/dev``, ``/proc``, ``/tmp`` and (where the image has the directory) the jail's
        ``/home/vcap``; ``mounts`` are then not used. When Ladle is root it is an overlay whose
        changes go to ``state_dir/overlay`` (the image itself never changes), otherwise the image
        read-only."""
        self.config = config
        self.root = root.resolve() if root is not None else None
        self._state_dir = state_dir
        self._sources_mountpoint = ""
        self._root_writable = False
        self.name = name
        self.limits = limits
        self.hostname = hostname
        self.mounts = [Mount(m.host.resolve(), m.inside, m.writable) for m in mounts]
        self.home = state_dir / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.published: dict[int, int] = {}
        self.network = Network.HOST
        self.notes: list[str] = []
        self._spawned: list[subprocess.Popen[bytes]] = []
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
                if self.root is not None and self.network != Network.HOST:
                    self._allow_low_ports()
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
        sources = [self.home, *(m.host for m in self.mounts), *([self.root] if self.root is not None else [])]
        if self.identity.privileged:
            mountpoint = _mountpoint()
            self._sources_mountpoint = str(mountpoint)
            overlay = ["-", "-", "-"]
            if self.root is not None:
                # The image's root is mounted as an overlay instead of being bound like the rest.
                sources.remove(self.root)
                upper, work = self._state_dir / "overlay" / "upper", self._state_dir / "overlay" / "work"
                upper.mkdir(parents=True, exist_ok=True)
                work.mkdir(parents=True, exist_ok=True)
                self.hand_over(upper)
                overlay = [str(self.root), str(upper), str(work)]
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
                *overlay,
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
        self._root_writable = self.root is not None and self.identity.privileged and "no-overlay" not in line
        if self.root is not None and self.identity.privileged:
            self._sources[self.root] = f"{self._sources_mountpoint}/root"
        if "no-overlay" in line:
            self._note("the image's root cannot be overlaid here: the instance sees it read-only")
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

    def _drop_privileges(self, die_with_parent: bool = False) -> list[str]:
        if not self.identity.privileged:
            return []
        uid, gid = self.identity.uid, self.identity.gid
        # The change of uid clears the parent-death signal: setpriv sets it again after it.
        again = SETPRIV_PDEATHSIG if die_with_parent else []
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *again, "--"]

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

    def _allow_low_ports(self) -> None:
        """An image's server may listen on port 80 as its root, which has no capabilities: in the
        jail's own network namespace (and only there) every port is unprivileged, as in a container."""
        enter = self._mount_namespace() + self._drop_privileges() + self._user_namespace(net=True)
        result = subprocess.run(
            [*enter, "sh", "-c", "echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start"],
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            self._note(f"ports below 1024 stay privileged: {result.stderr.decode(errors='replace').strip()}")

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

    def _bwrap(
        self, cwd: str, die_with_parent: bool, *, user: tuple[int, int] | None, system_view: bool
    ) -> tuple[list[str], list[int]]:
        assert self.bwrap is not None
        image_view = self.root is not None and not system_view
        uid, gid = (user or (0, 0)) if image_view else (VCAP_UID, VCAP_UID)
        fds: list[int] = []
        args = [
            self.bwrap,
            "--unshare-user",
            "--uid",
            str(uid),
            "--gid",
            str(gid),
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
        ]
        resolv = _data_fd(sandbox_resolv_conf(_host_resolv_conf())[0].encode())
        fds.append(resolv)
        if image_view:
            assert self.root is not None
            # The image is the whole filesystem (its overlay, or itself read-only); it keeps its own
            # /etc/passwd and group.
            args += ["--bind" if self._root_writable else "--ro-bind", self._sources[self.root], "/"]
            if _is_regular(self.root / "etc" / "resolv.conf"):
                args += ["--ro-bind-data", str(resolv), "/etc/resolv.conf"]
            if _is_regular(self.root / "etc" / "hosts"):
                # As a container engine gives one: localhost, and the jail's own name.
                hosts = _data_fd(
                    f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n127.0.1.1\t{self.hostname}\n".encode()
                )
                fds.append(hosts)
                args += ["--ro-bind-data", str(hosts), "/etc/hosts"]
        else:
            passwd = _data_fd(passwd_file(VCAP_UID))
            group = _data_fd(group_file(VCAP_UID))
            fds += [passwd, group]
            args += [
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
            ]
        args += [
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--size",
            str(self.limits.disk_mb * 1024 * 1024),
            "--tmpfs",
            "/tmp",
        ]
        if not image_view:
            args += ["--symlink", "../tmp", "/var/tmp"]
        if self.root is None or not image_view or _is_directory(self.root / "home" / "vcap"):
            args += ["--bind", self._sources[self.home], "/home/vcap"]
        if not image_view:
            # Outer mounts first, so a mount inside another one's target lands on top of it.
            for mount in sorted(self.mounts, key=lambda m: m.inside.count("/")):
                args += ["--bind" if mount.writable else "--ro-bind", self._sources[mount.host], mount.inside]
        args += ["--chdir", cwd, "--"]
        return args, fds

    # --- processes --------------------------------------------------------------------------

    def spawn(
        self,
        argv: Sequence[str | Path],
        *,
        env: Mapping[str, str],
        cwd: Path | str,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = subprocess.PIPE,
        stderr: int | IO[Any] | None = subprocess.PIPE,
        die_with_parent: bool = True,
        user: tuple[int, int] | None = None,
        system_view: bool = False,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in the jail as ``vcap``; ``Path`` arguments are host paths, handed over
        as the process sees them, and ``cwd`` is a host path inside one of the mounts (a ``str``
        is a path as the process sees it).

        In a jail with a ``root`` (an image), processes see the image as their whole filesystem
        and run as ``user`` (uid, gid inside; root when None), which still stands for the
        sandbox's uid on the host; ``system_view`` gives one the host's system directories
        instead, as in a jail without a root (a health check that needs bash, in the same network).

        ``die_with_parent`` kills the process (and in a sandbox all it started) when the thread that
        spawned it ends, Ladle killed included (the parent-death signal is per thread): right for a
        script a thread waits for, and for an instance its supervisor thread outlives; one started
        from a short-lived thread should pass False and rely on :meth:`kill_all`."""
        rlimits = rlimit_prefix(
            self.limits, memory_cgroup=self.cgroups.memory is not None, pids_cgroup=self.cgroups.pids is not None
        )
        child_env = dict(env)
        if self.root is None or system_view:
            child_env.update({"HOME": "/home/vcap" if self.isolated else str(self.home), "USER": "vcap"})
        # From the fork on, not only once bubblewrap runs: a kill of Ladle while the commands
        # before it run must not leave them to start the sandbox for nobody.
        preexec = preexec_die_with(os.getpid()) if die_with_parent else None
        if self.bwrap is None:
            if self.root is not None:
                raise JailError("images run only in the sandbox (bubblewrap), which is off")
            command = [*self.cgroups.join_prefix(), *rlimits, *map(str, argv)]
            return self._start(command, cwd, child_env, (stdin, stdout, stderr), fds=(), preexec=preexec)
        inside_cwd = cwd if isinstance(cwd, str) else self.inside(cwd)
        jail, fds = self._bwrap(inside_cwd, die_with_parent, user=user, system_view=system_view)
        check: list[str] = []
        passed = list(fds)  # the lifeline too, which stays open here (only ``fds`` are closed below)
        if die_with_parent:
            check, lifeline = lifeline_check()
            passed.append(lifeline)
        command = [
            *self.cgroups.join_prefix(),
            *self._mount_namespace(),
            *self._drop_privileges(die_with_parent),
            *self._user_namespace(net=self.network != Network.HOST),
            *PID_NAMESPACE,
            *check,
            *rlimits,
            *jail,
            *(self.inside(a) if isinstance(a, Path) else a for a in argv),
        ]
        try:
            return self._start(command, "/", child_env, (stdin, stdout, stderr), fds=passed, preexec=preexec)
        finally:
            for fd in fds:
                os.close(fd)

    def _start(
        self,
        command: list[str],
        cwd: Path | str,
        env: Mapping[str, str],
        streams: tuple[int | IO[Any] | None, int | IO[Any] | None, int | IO[Any] | None],
        *,
        fds: Sequence[int],
        preexec: Callable[[], None] | None,
    ) -> subprocess.Popen[bytes]:
        stdin, stdout, stderr = streams
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            pass_fds=fds,
            start_new_session=True,
            preexec_fn=preexec,  # noqa: PLW1509 (a prctl and a getppid, with no lock taken)
        )
        self._spawned.append(process)
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
        """Forget processes that have ended."""
        self._spawned = [process for process in self._spawned if process.poll() is None]

    def kill_all(self) -> None:
        """SIGKILL every process of the jail: each process group Ladle started (in a sandbox that
        is the init of the spawn's pid namespace, which takes every process inside with it), and
        the cgroups' members."""
        for process in self._spawned:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self.cgroups.kill_all()
        for process in self._spawned:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
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


def _is_regular(path: Path) -> bool:
    """A regular file reached without following a link (an image's ``etc`` may be one to the host's)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode) and path.parent.resolve() == path.parent
    except OSError:
        return False


def _is_directory(path: Path) -> bool:
    """A real directory all the way (no link on the way is followed)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode) and path.resolve() == path
    except OSError:
        return False


def _host_resolv_conf() -> str:
    try:
        return Path("/etc/resolv.conf").read_text()
    except OSError:
        return ""
