"""One task (``cf run-task``): its droplet in a jail, its command once, its exit status.

A task ends SUCCEEDED when its command exits 0, FAILED with ``APP/TASK/<name>: Exited with
status <n>`` otherwise, and FAILED with ``task was cancelled`` when cancelled; the state moves
only from RUNNING or CANCELING, so a cancel racing the exit leaves one answer.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ladle.runner.docker_launch import docker_launch
from ladle.runner.droplets import DropletCache, DropletMissing, droplet_mounts
from ladle.runner.environment import HOME, InstanceAddress
from ladle.runner.images import DockerSource, ImageCache, ImageUnavailable, acquire_image
from ladle.runner.launcher import launcher_argv, output_pipes
from ladle.runner.logs import AppLogSink, LogSource, pump
from ladle.sandbox import Jail, JailError, Limits, Mount, SandboxConfig

__all__ = ["TaskPlan", "TaskRun"]

log = logging.getLogger("ladle.runner")

CANCELLED = "task was cancelled"


@dataclass(frozen=True)
class TaskPlan:
    guid: str
    app_guid: str
    name: str
    command: str
    droplet_guid: str
    memory_mb: int
    disk_mb: int
    environment: Callable[[InstanceAddress], dict[str, str]]
    jail_prefix: str = "ladle"
    # A docker app's task runs in its image (see instance.py).
    docker: DockerSource | None = None
    execution_metadata: str = ""
    user_env_keys: frozenset[str] = frozenset()


class TaskRun:
    def __init__(
        self,
        plan: TaskPlan,
        *,
        sandbox: SandboxConfig,
        droplets: DropletCache,
        state_root: Path,
        sink: AppLogSink,
        on_exit: Callable[[TaskRun, str | None], None],
        images: ImageCache | None = None,
    ) -> None:
        self.plan = plan
        self.images = images
        self._image_key: str | None = None
        self.sandbox = sandbox
        self.droplets = droplets
        self.state_dir = state_root / plan.guid
        self.sink = sink
        self.on_exit = on_exit
        self._cancel = threading.Event()
        self._jail: Jail | None = None
        self.thread = threading.Thread(target=self._run, name=f"ladle-task-{plan.guid[:8]}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self._cancel.set()
        jail = self._jail
        if jail is not None:
            jail.kill_all()

    def _run(self) -> None:
        failure: str | None
        source = LogSource(self.plan.app_guid, f"APP/TASK/{self.plan.name}")
        try:
            failure = self._execute(source)
        except DropletMissing:
            failure = "the droplet's bits are missing"
        except ImageUnavailable as exc:
            self.sink.write(LogSource(self.plan.app_guid, "CELL"), f"Failed to create container: {exc}")
            failure = str(exc)
        except JailError as exc:
            failure = f"the task's sandbox could not be set up: {exc}"
        except Exception as exc:
            log.exception("task failed to run", extra={"task": self.plan.guid})
            failure = f"the runner failed to run the task: {exc}"
        finally:
            if self._jail is not None:
                self._jail.close()
            shutil.rmtree(self.state_dir, ignore_errors=True)
            if self._image_key is not None and self.images is not None:
                self.images.release(self._image_key)
        if self._cancel.is_set():
            failure = CANCELLED
        self.on_exit(self, failure)

    def _execute(self, source: LogSource) -> str | None:
        plan = self.plan
        home = self.state_dir / "home"
        env = plan.environment(InstanceAddress("127.0.0.1", None, "127.0.0.1", None))
        image_root: Path | None = None
        user: tuple[int, int] | None = None
        mounts: list[Mount] = []
        cwd: Path | str
        if plan.docker is not None:
            cell = LogSource(plan.app_guid, "CELL")
            image = acquire_image(
                self.images, self.sandbox.isolate, plan.docker, plan.droplet_guid, partial(self.sink.write, cell)
            )
            self._image_key = image.key
            launch = docker_launch(image.rootfs, image.config, plan.execution_metadata, plan.command)
            home.mkdir(parents=True, exist_ok=True)
            image_root, user = image.rootfs, (launch.uid, launch.gid)
            argv, cwd, env = launch.argv, launch.cwd, launch.environment(env, plan.user_env_keys)
        else:
            root = self.droplets.get(plan.droplet_guid)
            mounts = droplet_mounts(root, self.state_dir, HOME)
            argv, cwd = launcher_argv(plan.command), root / "app"
        if self._cancel.is_set():
            return CANCELLED
        self._jail = jail = Jail(
            self.sandbox,
            name=f"{plan.jail_prefix}-task-{plan.guid[:8]}",
            state_dir=self.state_dir,
            mounts=mounts,
            limits=Limits(memory_mb=plan.memory_mb, disk_mb=plan.disk_mb),
            root=image_root,
        )
        jail.hand_over(home / "tmp", home / "logs", *([home] if image_root is not None else []))
        pipes = output_pipes(jail)
        try:
            process = jail.spawn(argv, env=env, cwd=cwd, stdout=pipes.out_write, stderr=pipes.err_write, user=user)
        finally:
            pipes.close_write_ends()
        readers = [
            threading.Thread(target=pump, args=(pipes.out, self.sink, source, "OUT"), daemon=True),
            threading.Thread(target=pump, args=(pipes.err, self.sink, source, "ERR"), daemon=True),
        ]
        for reader in readers:
            reader.start()
        code = process.wait()
        for reader in readers:
            reader.join(timeout=5)
        pipes.out.close()
        pipes.err.close()
        if self._cancel.is_set():
            return CANCELLED
        if code == 0:
            return None
        status = code if code >= 0 else 128 - code
        return f"APP/TASK/{plan.name}: Exited with status {status}"
