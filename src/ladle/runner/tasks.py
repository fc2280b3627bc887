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
from pathlib import Path

from ladle.runner.droplets import DropletCache, DropletMissing, droplet_mounts
from ladle.runner.environment import HOME, InstanceAddress
from ladle.runner.launcher import launcher_argv, output_pipes
from ladle.runner.logs import AppLogSink, LogSource, pump
from ladle.sandbox import Jail, JailError, Limits, SandboxConfig

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
    ) -> None:
        self.plan = plan
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
        except JailError as exc:
            failure = f"the task's sandbox could not be set up: {exc}"
        except Exception as exc:
            log.exception("task failed to run", extra={"task": self.plan.guid})
            failure = f"the runner failed to run the task: {exc}"
        finally:
            if self._jail is not None:
                self._jail.close()
            shutil.rmtree(self.state_dir, ignore_errors=True)
        if self._cancel.is_set():
            failure = CANCELLED
        self.on_exit(self, failure)

    def _execute(self, source: LogSource) -> str | None:
        plan = self.plan
        root = self.droplets.get(plan.droplet_guid)
        home = self.state_dir / "home"
        mounts = droplet_mounts(root, self.state_dir, HOME)
        if self._cancel.is_set():
            return CANCELLED
        self._jail = jail = Jail(
            self.sandbox,
            name=f"{plan.jail_prefix}-task-{plan.guid[:8]}",
            state_dir=self.state_dir,
            mounts=mounts,
            limits=Limits(memory_mb=plan.memory_mb, disk_mb=plan.disk_mb),
        )
        jail.hand_over(home / "tmp", home / "logs")
        env = plan.environment(InstanceAddress("127.0.0.1", None, "127.0.0.1", None))
        pipes = output_pipes(jail)
        try:
            process = jail.spawn(
                launcher_argv(plan.command), env=env, cwd=root / "app", stdout=pipes.out_write, stderr=pipes.err_write
            )
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
