"""One app instance from start to exit: its jail, its processes, its health, its output.

A supervisor thread owns the instance for its whole life. It unpacks (or reuses) the droplet,
sets up the jail with the instance's port published on the host's loopback, starts the launcher
and the health check next to it, reports STARTING, then RUNNING once healthy, and ends with the
reason the instance stopped: a clean stop, or a crash (the app exited, never became healthy, or
became unhealthy), which the runner turns into a restart on Diego's schedule.

The thread that starts the jail's processes lives exactly as long as they do, so bubblewrap's
parent-death signal takes them down if the server itself dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ladle.runner.docker_launch import docker_launch
from ladle.runner.droplets import DropletCache, DropletMissing, droplet_mounts
from ladle.runner.environment import HOME, InstanceAddress
from ladle.runner.images import DockerSource, ImageCache, ImageUnavailable, acquire_image
from ladle.runner.launcher import HEALTH_CHECK, launcher_argv, output_pipes
from ladle.runner.logs import AppLogSink, LogSource, pump
from ladle.sandbox import Jail, JailError, Limits, Mount, Network, SandboxConfig

__all__ = ["APP_PORT", "Exit", "HealthCheck", "Instance", "InstancePlan", "Usage"]

log = logging.getLogger("ladle.runner")

APP_PORT = 8080
SLIRP_GUEST_IP = "10.0.2.100"
STOP_GRACE = 10.0
DEFAULT_START_TIMEOUT = 60
DEFAULT_INVOCATION_TIMEOUT = 1
DEFAULT_INTERVAL = 30


@dataclass(frozen=True)
class HealthCheck:
    type: str  # port, http or process
    endpoint: str | None = None
    start_timeout: int | None = None
    invocation_timeout: int | None = None
    interval: int | None = None


@dataclass(frozen=True)
class InstancePlan:
    app_guid: str
    process_guid: str
    process_type: str
    version: str
    index: int
    droplet_guid: str
    instance_guid: str
    command: str
    memory_mb: int
    disk_mb: int
    health: HealthCheck
    # Builds the environment once the instance's address is known.
    environment: Callable[[InstanceAddress], dict[str, str]]
    publish_port: bool = True
    source_type: str = ""
    # Names this node's jails (and their cgroups) so that a restarted node finds its own.
    jail_prefix: str = "ladle"
    # A docker droplet: the image to run (instead of the droplet's bits), its staged metadata, and
    # which variables the user set (those win over the image's even where buildpacks' would not).
    docker: DockerSource | None = None
    execution_metadata: str = ""
    user_env_keys: frozenset[str] = frozenset()

    @property
    def log_source(self) -> LogSource:
        return LogSource(self.app_guid, self.source_type or f"APP/PROC/{self.process_type.upper()}", str(self.index))


@dataclass(frozen=True)
class Exit:
    """How an instance ended: ``crashed`` with a reason, or stopped on purpose."""

    crashed: bool
    reason: str = ""
    exit_status: int | None = None


@dataclass(frozen=True)
class _Launch:
    """What to start, where, as whom, and with what on top of the platform's environment."""

    argv: list[str]
    cwd: Path | str
    mounts: list[Mount]
    root: Path | None = None
    user: tuple[int, int] | None = None
    port: int = APP_PORT
    environment: Callable[[dict[str, str]], dict[str, str]] = dict


@dataclass(frozen=True)
class Usage:
    cpu: float
    mem: int
    disk: int


class Instance:
    def __init__(
        self,
        plan: InstancePlan,
        *,
        sandbox: SandboxConfig,
        droplets: DropletCache,
        state_root: Path,
        sink: AppLogSink,
        on_starting: Callable[[Instance, InstanceAddress], None],
        on_running: Callable[[Instance], None],
        on_exit: Callable[[Instance, Exit], None],
        images: ImageCache | None = None,
    ) -> None:
        self.plan = plan
        self.images = images
        self._image_key: str | None = None
        self.sandbox = sandbox
        self.droplets = droplets
        self.state_dir = state_root / plan.instance_guid
        self.sink = sink
        self.on_starting = on_starting
        self.on_running = on_running
        self.on_exit = on_exit
        self.started_at = time.monotonic()
        self.address: InstanceAddress | None = None
        self._stop = threading.Event()
        self._jail: Jail | None = None
        self._app: subprocess.Popen[bytes] | None = None
        self._cpu_seen: tuple[float, float] | None = None
        self.thread = threading.Thread(target=self._run, name=f"ladle-instance-{plan.instance_guid[:8]}", daemon=True)

    # --- control from the runner -------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Ask the instance to stop (SIGTERM, then SIGKILL after the grace period); returns at once."""
        self._stop.set()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    # --- the supervisor thread ---------------------------------------------------------------

    def _cell(self, message: str) -> None:
        self.sink.write(LogSource(self.plan.app_guid, "CELL", str(self.plan.index)), message)

    def _run(self) -> None:
        outcome = Exit(crashed=False)
        try:
            outcome = self._supervise()
        except DropletMissing:
            outcome = Exit(True, "the droplet's bits are missing")
        except ImageUnavailable as exc:
            self._cell(f"Failed to create container: {exc}")
            outcome = Exit(True, str(exc))
        except JailError as exc:
            outcome = Exit(True, f"the instance's sandbox could not be set up: {exc}")
        except Exception as exc:
            log.exception("instance supervisor failed", extra={"instance": self.plan.instance_guid})
            outcome = Exit(True, f"the runner failed to run the instance: {exc}")
        finally:
            if self._jail is not None:
                self._jail.close()
            shutil.rmtree(self.state_dir, ignore_errors=True)
            if self._image_key is not None and self.images is not None:
                self.images.release(self._image_key)
        if self._stop.is_set() and outcome.crashed and outcome.exit_status is not None:
            outcome = Exit(False)  # it exited because it was told to
        self.on_exit(self, outcome)

    def _supervise(self) -> Exit:
        plan = self.plan
        guid = plan.instance_guid
        self._cell(f"Cell {os.uname().nodename} creating container for instance {guid}")
        launch = self._image_launch() if plan.docker is not None else self._droplet_launch()
        if self._stop.is_set():
            return Exit(False)
        self._jail = jail = Jail(
            self.sandbox,
            name=f"{plan.jail_prefix}-app-{guid[:8]}",
            state_dir=self.state_dir,
            mounts=launch.mounts,
            limits=Limits(memory_mb=plan.memory_mb, disk_mb=plan.disk_mb),
            publish=(launch.port,) if plan.publish_port and self.sandbox.isolate else (),
            hostname=guid[:32],
            root=launch.root,
        )
        home = self.state_dir / "home"
        jail.hand_over(home / "tmp", home / "logs", *([home] if launch.root is not None else []))
        address = self._address(jail, launch.port)
        self.address = address
        self._cell(f"Cell {os.uname().nodename} successfully created container for instance {guid}")
        self.on_starting(self, address)
        env = launch.environment(plan.environment(address))
        oom_before = jail.cgroups.oom_kills()
        pipes = output_pipes(jail)
        try:
            self._app = app = jail.spawn(
                launch.argv,
                env=env,
                cwd=launch.cwd,
                stdout=pipes.out_write,
                stderr=pipes.err_write,
                user=launch.user,
            )
        finally:
            pipes.close_write_ends()
        pumps = [
            threading.Thread(target=pump, args=(pipes.out, self.sink, plan.log_source, "OUT"), daemon=True),
            threading.Thread(target=pump, args=(pipes.err, self.sink, plan.log_source, "ERR"), daemon=True),
        ]
        for reader in pumps:
            reader.start()
        try:
            outcome = self._watch(jail, app, address)
        finally:
            self._terminate(jail, app)
            for reader in pumps:
                reader.join(timeout=5)
            pipes.out.close()
            pipes.err.close()
        if outcome.exit_status is not None and jail.cgroups.oom_kills() > oom_before:
            return Exit(True, f"{outcome.reason} (out of memory)", outcome.exit_status)
        return outcome

    def _droplet_launch(self) -> _Launch:
        root = self.droplets.get(self.plan.droplet_guid)
        mounts = droplet_mounts(root, self.state_dir, HOME)
        return _Launch(launcher_argv(self.plan.command), root / "app", mounts)

    def _image_launch(self) -> _Launch:
        plan = self.plan
        assert plan.docker is not None
        image = acquire_image(self.images, self.sandbox.isolate, plan.docker, plan.droplet_guid, self._cell)
        self._image_key = image.key
        launch = docker_launch(image.rootfs, image.config, plan.execution_metadata, plan.command)
        (self.state_dir / "home").mkdir(parents=True, exist_ok=True)
        return _Launch(
            launch.argv,
            launch.cwd,
            [],
            root=image.rootfs,
            user=(launch.uid, launch.gid),
            port=launch.port,
            environment=lambda cf_env: launch.environment(cf_env, plan.user_env_keys),
        )

    def _address(self, jail: Jail, port: int) -> InstanceAddress:
        if not self.plan.publish_port:
            return InstanceAddress("127.0.0.1", None, "127.0.0.1", None)
        if jail.network == Network.ISOLATED:
            return InstanceAddress("127.0.0.1", jail.published.get(port), SLIRP_GUEST_IP, port)
        if jail.network == Network.HOST:
            # Without a network namespace the instance shares the host's ports: give it a free one.
            port = _free_port()
            return InstanceAddress("127.0.0.1", port, "127.0.0.1", port)
        raise JailError(
            "the instance has no network to be reached on: install slirp4netns and nftables "
            "(or set LADLE_SANDBOX_NETWORK=host to run without network isolation)"
        )

    def _health_checker(self, jail: Jail, address: InstanceAddress) -> subprocess.Popen[bytes]:
        health = self.plan.health
        ip = address.internal_ip if jail.network != Network.NONE else "127.0.0.1"
        argv = [
            "/bin/bash",
            "-c",
            HEALTH_CHECK,
            "healthcheck",
            health.type,
            ip,
            str(address.internal_port),
            health.endpoint or "/",
            str(health.invocation_timeout or DEFAULT_INVOCATION_TIMEOUT),
            str(health.interval or DEFAULT_INTERVAL),
        ]
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C"}
        # It runs bash from the host's system directories (an image may have no bash), in the
        # instance's own network namespace, as the sandbox's user.
        return jail.spawn(argv, env=env, cwd="/", stderr=subprocess.DEVNULL, system_view=True)

    def _watch(self, jail: Jail, app: subprocess.Popen[bytes], address: InstanceAddress) -> Exit:
        health = self.plan.health
        events: queue.Queue[str] = queue.Queue()
        checker = None
        if health.type == "process" or address.internal_port is None:
            self._healthy()
        else:
            checker = self._health_checker(jail, address)
            threading.Thread(target=_lines_to, args=(checker.stdout, events), daemon=True).start()
        start_timeout = health.start_timeout or DEFAULT_START_TIMEOUT
        deadline = time.monotonic() + start_timeout
        healthy = checker is None
        last_failure = "the health check has not run yet"
        try:
            while True:
                code = app.poll()
                if code is not None:
                    status = code if code >= 0 else 128 - code
                    source = self.plan.log_source.source_type
                    return Exit(True, f"{source}: Exited with status {status}", status)
                if self._stop.is_set():
                    return Exit(False)
                try:
                    event = events.get(timeout=0.2)
                except queue.Empty:
                    event = ""
                if event == "up" and not healthy:
                    healthy = True
                    self._healthy()
                elif event.startswith("fail "):
                    last_failure = event[5:]
                elif event.startswith("down "):
                    self._cell("Container became unhealthy")
                    return Exit(True, f"Instance became unhealthy: {event[5:]}")
                if not healthy and time.monotonic() > deadline:
                    self._cell(f"Failed after {start_timeout}s: startup health check never passed.")
                    return Exit(True, f"Instance never healthy after {start_timeout}s: {last_failure}")
        finally:
            if checker is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(checker.pid, signal.SIGKILL)

    def _healthy(self) -> None:
        self._cell("Container became healthy")
        self.on_running(self)

    def _terminate(self, jail: Jail, app: subprocess.Popen[bytes]) -> None:
        """SIGTERM what runs inside, give it the grace period, then kill everything."""
        if app.poll() is None:
            self._cell(f"Cell {os.uname().nodename} stopping instance {self.plan.instance_guid}")
            outer = {app.pid}
            for pid in jail.cgroups.pids_in():
                if pid not in outer:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                app.wait(timeout=STOP_GRACE)
        jail.kill_all()

    # --- observation -------------------------------------------------------------------------

    def usage(self) -> Usage | None:
        """Memory, CPU (a fraction of one core since the last call) and disk now in use."""
        jail = self._jail
        if jail is None or jail.cgroups.memory is None:
            return None
        try:
            mem = int((jail.cgroups.memory / "memory.usage_in_bytes").read_text())
        except (OSError, ValueError):
            return None
        ticks = 0
        for pid in jail.cgroups.pids_in():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        now = time.monotonic()
        seconds = ticks / os.sysconf("SC_CLK_TCK")
        cpu = 0.0
        if self._cpu_seen is not None and now > self._cpu_seen[0]:
            cpu = max(0.0, (seconds - self._cpu_seen[1]) / (now - self._cpu_seen[0]))
        self._cpu_seen = (now, seconds)
        # The home directory, and for an image what it changed of its root (the overlay's upper layer).
        return Usage(cpu=round(cpu, 6), mem=mem, disk=_dir_size(self.state_dir))


def _lines_to(stream: IO[bytes] | None, events: queue.Queue[str]) -> None:
    if stream is None:
        return
    for raw in iter(stream.readline, b""):
        events.put(raw.decode("utf-8", "replace").strip())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total
