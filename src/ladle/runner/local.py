"""The local runner: the embedded default, running instances and tasks on this machine.

A control loop compares the desired state (started processes, their instance counts and
versions, rolling deployments, tasks) with the ``instances`` rows this node holds and acts on
the difference, every second or as soon as :meth:`LocalRunner.wake` is called:

- an instance slot (process, version, index) nobody holds is claimed by inserting its row (the
  unique key lets one node win) and started;
- an instance whose process stopped, scaled down or moved to a new version is stopped; during a
  rolling deployment old instances go one at a time, each only after a new one is RUNNING, and
  each is first taken out of the router (not routable, STOPPING) and drained;
- a crashed instance starts again on Diego's schedule (at once for the first two crashes,
  then after 30 s, 1, 2, 4, 8, 16 minutes), showing CRASHED while it waits;
- a task RUNNING that no node has taken is taken and run; a CANCELING one is killed.

Every node heartbeats its rows; rows whose node stopped heartbeating are removed by any node
so their slots are claimed again. At start a node removes the rows it held before it restarted
(its processes died with it) and kills whatever its cgroups still hold.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.audit import Actor, Target, record_event
from ladle.blobstore import Blobstore
from ladle.changes import ChangeSignal
from ladle.clock import new_guid, utcnow
from ladle.db.models import App, Deployment, Instance
from ladle.db.session import Database
from ladle.runner.backoff import next_crash_count, restart_at
from ladle.runner.desired import DesiredProcess, desired_processes, staging_info_command
from ladle.runner.droplets import DropletCache, DropletMissing
from ladle.runner.environment import InstanceAddress, instance_environment
from ladle.runner.images import ImageCache
from ladle.runner.instance import Exit, InstancePlan
from ladle.runner.instance import Instance as RunningInstance
from ladle.runner.logs import AppLogSink, LogSource
from ladle.runner.task_keeper import TaskKeeper
from ladle.runner.tasks import TaskPlan, TaskRun
from ladle.sandbox import Identity, SandboxConfig
from ladle.sandbox.cgroups import owner_prefix, remove_leftover_cgroups

__all__ = ["LocalRunner", "RunnerOptions"]

log = logging.getLogger("ladle.runner")

TICK = 1.0
HEARTBEAT_EVERY = 5.0
USAGE_EVERY = 10.0
STALE_AFTER = timedelta(seconds=30)
FDS = 16384


@dataclass(frozen=True)
class RunnerOptions:
    node: str
    work_dir: Path
    cf_api: str
    sandbox: SandboxConfig
    # How long a retired instance stays out of the router's table before it is stopped.
    drain_seconds: float = 2.0
    # Pulling docker images: the same registry rules as staging, and the size bound.
    insecure_docker_registries: tuple[str, ...] = ()
    private_docker_registries: tuple[str, ...] = ()
    max_docker_image_size: int = 4 * 1024**3


@dataclass
class _Held:
    """An instance this node runs, and what the control loop knows of it."""

    running: RunningInstance
    slot: tuple[str, str, int]
    row_id: int
    draining_since: float | None = None


class LocalRunner:
    def __init__(
        self, db: Database, droplets: Blobstore, options: RunnerOptions, changes: ChangeSignal | None = None
    ) -> None:
        self.db = db
        self.options = options
        # Told after an instance's state is committed, so the API's stats stream answers at once.
        self.changes = changes or ChangeSignal()
        self.sink = AppLogSink(db)
        self.droplets = DropletCache(options.work_dir / "droplets", droplets)
        self.images = ImageCache(
            options.work_dir / "images",
            insecure_registries=options.insecure_docker_registries,
            private_registries=options.private_docker_registries,
            max_size=options.max_docker_image_size,
            owner=_image_owner(options.sandbox),
        )
        self.state_root = options.work_dir / "instances"
        # Jails (and so cgroups) of this node are named after it, so a restart kills exactly its own.
        self.prefix = owner_prefix("n", options.node)
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_heartbeat = 0.0
        self._last_usage = 0.0
        self.tasks = TaskKeeper(
            db, options.node, cf_api=options.cf_api, jail_prefix=self.prefix, make=self._make_task_run
        )

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._recover()
        self._thread = threading.Thread(target=self._loop, name="ladle-runner", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Desired state changed: converge now rather than at the next tick."""
        self._wake.set()

    def shutdown(self) -> None:
        """Stop every instance and task of this node (SIGTERM, grace, SIGKILL) and forget them."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._lock:
            held = list(self._held.values())
        tasks = self.tasks.runs()
        for item in held:
            item.running.stop()
        for task in tasks:
            task.cancel()
        for item in held:
            item.running.thread.join(timeout=15)
        for task in tasks:
            task.thread.join(timeout=15)
        with self.db.session() as s:
            s.execute(delete(Instance).where(Instance.node == self.options.node))
            s.commit()
        self.sink.close()

    def _recover(self) -> None:
        """What this node held before a restart died with it: forget it, and make sure it is gone."""
        with self.db.session() as s:
            s.execute(delete(Instance).where(Instance.node == self.options.node))
            s.commit()
        self.tasks.fail_orphans()
        remove_leftover_cgroups(self.prefix)
        self.images.recover()
        shutil.rmtree(self.state_root, ignore_errors=True)
        self.state_root.mkdir(parents=True, exist_ok=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(TICK)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.converge()
            except Exception:
                log.exception("runner convergence failed")

    # --- convergence -------------------------------------------------------------------------

    def converge(self) -> None:
        now = time.monotonic()
        with self.db.session() as s:
            desired = desired_processes(s)
            rows = list(s.scalars(select(Instance)))
        by_guid = {p.guid: p for p in desired}
        self._retire(by_guid, rows)
        self._forget_idle(by_guid, rows)
        self._start_missing(desired, rows)
        self.tasks.pass_once()
        if now - self._last_heartbeat >= HEARTBEAT_EVERY:
            self._last_heartbeat = now
            self._heartbeat()
        if now - self._last_usage >= USAGE_EVERY:
            self._last_usage = now
            self._report_usage()
            self._evict_droplets({p.droplet_guid for p in desired})

    def _mine(self, rows: list[Instance]) -> list[Instance]:
        return [r for r in rows if r.node == self.options.node]

    def _retire(self, desired: dict[str, DesiredProcess], rows: list[Instance]) -> None:
        """Stop what should not run (any more), the old versions of a rollout one at a time."""
        with self._lock:
            held = dict(self._held)
        rows_by_id = {r.id: r for r in rows}
        for item in held.values():
            row = rows_by_id.get(item.row_id)
            process = desired.get(item.slot[0])
            keep = process is not None and item.slot[2] < process.instances and item.slot[1] == process.version
            if row is not None and row.stop_requested:
                keep = False
            if process is not None and process.rollout and item.slot[1] != process.version and row is not None:
                self._rolling_retire(process, item, row, rows)
                continue
            if not keep:
                item.running.stop()

    def _forget_idle(self, desired: dict[str, DesiredProcess], rows: list[Instance]) -> None:
        """Rows of this node with nothing running (crashed, waiting to restart) that are no longer wanted."""
        with self._lock:
            live = {item.row_id for item in self._held.values()}
        gone = []
        for row in self._mine(rows):
            if row.id in live:
                continue
            process = desired.get(row.process_guid)
            if process is None or row.index >= process.instances or row.process_version != process.version:
                gone.append(row.id)
        if gone:
            with self.db.session() as s:
                s.execute(delete(Instance).where(Instance.id.in_(gone)))
                s.commit()

    def _rolling_retire(self, process: DesiredProcess, item: _Held, row: Instance, rows: list[Instance]) -> None:
        """Old-version instance during a rollout: retire it once enough new ones are RUNNING."""
        if item.draining_since is not None:
            if time.monotonic() - item.draining_since >= self.options.drain_seconds:
                item.running.stop()
            return
        new = [r for r in rows if r.process_guid == process.guid and r.process_version == process.version]
        # Counted live (not from the rows read at the start of this pass): an old instance drained a
        # moment ago in this same pass no longer serves.
        with self._lock:
            old_serving = [
                h
                for h in self._held.values()
                if h.slot[0] == process.guid and h.slot[1] != process.version and h.draining_since is None
            ]
        running_new = sum(1 for r in new if r.state == "RUNNING")
        # Keep as many instances serving as the process wants: retire one old per new RUNNING one.
        if len(old_serving) + running_new > process.instances or item.slot[2] >= process.instances:
            self._drain(item)

    def _drain(self, item: _Held) -> None:
        with self.db.session() as s:
            s.execute(
                update(Instance)
                .where(Instance.id == item.row_id)
                .values(state="STOPPING", routable=False, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            s.commit()
        item.draining_since = time.monotonic()

    def _start_missing(self, desired: list[DesiredProcess], rows: list[Instance]) -> None:
        held_slots = {item.slot for item in self._held.values()}
        taken = {(r.process_guid, r.process_version, r.index): r for r in rows}
        for process in desired:
            for index in range(process.instances):
                slot = (process.guid, process.version, index)
                if slot in held_slots:
                    continue
                if process.rollout is not None and not self._may_start_new(process, rows, index):
                    continue
                row = taken.get(slot)
                if row is None:
                    self._claim_and_start(process, index)
                elif row.node == self.options.node and row.state in ("STARTING", "CRASHED"):
                    due = restart_at(row.crash_count, row.since)
                    if due is not None and due <= utcnow():
                        self._start(process, index, row.id)
            self._finish_rollout(process, rows)

    def _may_start_new(self, process: DesiredProcess, rows: list[Instance], index: int) -> bool:
        """A rollout starts at most ``max_in_flight`` new instances that are not yet RUNNING."""
        assert process.rollout is not None
        new = [r for r in rows if r.process_guid == process.guid and r.process_version == process.version]
        if any(r.index == index for r in new):
            return True  # a restart of one already started
        pending = sum(1 for r in new if r.state != "RUNNING")
        return pending < process.rollout.max_in_flight

    def _finish_rollout(self, process: DesiredProcess, rows: list[Instance]) -> None:
        rollout = process.rollout
        if rollout is None:
            return
        mine = [r for r in rows if r.process_guid == process.guid]
        old = [r for r in mine if r.process_version != process.version]
        running_new = sum(1 for r in mine if r.process_version == process.version and r.state == "RUNNING")
        if old or running_new < process.instances:
            return
        reason = "CANCELED" if rollout.canceling else "DEPLOYED"
        with self.db.session() as s:
            s.execute(
                update(Deployment)
                .where(Deployment.guid == rollout.deployment_guid, Deployment.status_value == "ACTIVE")
                .values(
                    status_value="FINALIZED",
                    status_reason=reason,
                    status_changed_at=utcnow(),
                    last_healthy_at=utcnow(),
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            s.commit()
        log.info("deployment finished", extra={"deployment": rollout.deployment_guid, "reason": reason})

    def _claim_and_start(self, process: DesiredProcess, index: int) -> None:
        row = Instance(
            guid=new_guid(),
            process_guid=process.guid,
            app_guid=process.placement.app_guid,
            process_version=process.version,
            index=index,
            droplet_guid=process.droplet_guid,
            state="STARTING",
            since=utcnow(),
            node=self.options.node,
            heartbeat_at=utcnow(),
            mem_quota=process.memory_mb * 1024 * 1024,
            disk_quota=process.disk_mb * 1024 * 1024,
            log_rate_limit=process.log_rate_limit,
            fds_quota=FDS,
        )
        with self.db.session() as s:
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                return  # another node took the slot first
            row_id = row.id
        self._start(process, index, row_id)

    def _start(self, process: DesiredProcess, index: int, row_id: int) -> None:
        instance_guid = new_guid()
        command = process.command
        if process.lifecycle == "docker" and process.docker is None:
            self._fail_slot(row_id, "the docker droplet names no image")
            return
        if not command and process.docker is None:
            try:
                command = staging_info_command(self.droplets.get(process.droplet_guid))
            except DropletMissing:
                self._fail_slot(row_id, "the droplet's bits are missing")
                return
        if not command and process.docker is None:
            self._fail_slot(row_id, "the droplet has no start command: set one with a Procfile, the manifest or -c")
            return
        with self.db.session() as s:
            s.execute(
                update(Instance)
                .where(Instance.id == row_id)
                .values(guid=instance_guid, state="STARTING", host="", port=None, routable=False, stop_requested=False)
                .execution_options(synchronize_session=False)
            )
            s.commit()

        def environment(address: InstanceAddress) -> dict[str, str]:
            return instance_environment(
                process.placement,
                cf_api=self.options.cf_api,
                group_env=process.group_env,
                app_env=process.app_env,
                vcap_services=process.vcap_services,
                process_guid=process.guid,
                process_type=process.type,
                version=process.version,
                memory_mb=process.memory_mb,
                disk_mb=process.disk_mb,
                uris=process.uris,
                index=index,
                instance_guid=instance_guid,
                address=address,
            )

        plan = InstancePlan(
            app_guid=process.placement.app_guid,
            process_guid=process.guid,
            process_type=process.type,
            version=process.version,
            index=index,
            droplet_guid=process.droplet_guid,
            instance_guid=instance_guid,
            command=command or "",
            memory_mb=process.memory_mb,
            disk_mb=process.disk_mb,
            health=process.health,
            environment=environment,
            jail_prefix=self.prefix,
            docker=process.docker,
            execution_metadata=process.execution_metadata,
            user_env_keys=frozenset(process.app_env) | frozenset(process.group_env),
        )
        running = RunningInstance(
            plan,
            sandbox=self.options.sandbox,
            droplets=self.droplets,
            state_root=self.state_root,
            sink=self.sink,
            on_starting=lambda inst, address: self._on_starting(row_id, address),
            on_running=lambda inst: self._on_running(row_id),
            on_exit=lambda inst, outcome: self._on_exit(row_id, inst, outcome, process),
            images=self.images,
        )
        with self._lock:
            self._held[instance_guid] = _Held(running, (process.guid, process.version, index), row_id)
        running.start()

    def _fail_slot(self, row_id: int, reason: str) -> None:
        """An instance that cannot start at all shows CRASHED with why, and is not retried."""
        with self.db.session() as s:
            s.execute(
                update(Instance)
                .where(Instance.id == row_id)
                .values(state="CRASHED", details=reason, crash_count=200, since=utcnow(), routable=False)
                .execution_options(synchronize_session=False)
            )
            s.commit()

    # --- what supervisors report ---------------------------------------------------------------

    def _on_starting(self, row_id: int, address: InstanceAddress) -> None:
        with self.db.session() as s:
            s.execute(
                update(Instance)
                .where(Instance.id == row_id)
                .values(
                    host=address.host_ip,
                    port=address.host_port,
                    internal_ip=address.internal_ip,
                    internal_port=address.internal_port,
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            s.commit()
        self.changes.notify()

    def _on_running(self, row_id: int) -> None:
        with self.db.session() as s:
            s.execute(
                update(Instance)
                .where(Instance.id == row_id, Instance.state == "STARTING")
                .values(state="RUNNING", routable=True, since=utcnow(), details=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            s.commit()
        self.changes.notify()

    def _on_exit(self, row_id: int, running: RunningInstance, outcome: Exit, process: DesiredProcess) -> None:
        with self._lock:
            self._held.pop(running.plan.instance_guid, None)
        with self.db.session() as s:
            row = s.get(Instance, row_id)
            if row is None or row.guid != running.plan.instance_guid:
                return
            if not outcome.crashed:
                s.delete(row)
                s.commit()
                self.changes.notify()
                self.wake()
                return
            ran_for = (
                timedelta(seconds=time.monotonic() - running.started_at) if row.state == "RUNNING" else timedelta()
            )
            count = next_crash_count(row.crash_count, ran_for)
            now = utcnow()
            row.crash_count = count
            row.since = now
            row.details = outcome.reason
            row.routable = False
            row.host = ""
            row.port = None
            row.state = "STARTING" if restart_at(count, now) == now else "CRASHED"
            row.updated_at = now
            self._record_crash(s, running, outcome, count, process)
            s.commit()
        self.changes.notify()
        self.sink.write(
            LogSource(process.placement.app_guid, "API"),
            f'Process has crashed with type: "{process.type}"',
        )
        self.wake()

    def _record_crash(
        self, session: Session, running: RunningInstance, outcome: Exit, count: int, process: DesiredProcess
    ) -> None:
        placement = process.placement
        target = Target(placement.app_guid, "app", placement.app_name, placement.space_guid, placement.org_guid)
        payload = {
            "instance": running.plan.instance_guid,
            "index": running.plan.index,
            "cell_id": self.options.node,
            "exit_status": outcome.exit_status if outcome.exit_status is not None else -1,
            "exit_description": outcome.reason,
            "reason": "CRASHED",
        }
        record_event(
            session,
            "audit.app.process.crash",
            Actor(process.guid, "process", process.type),
            target,
            {**payload, "crash_count": count, "crash_timestamp": time.time_ns(), "version": process.version},
        )
        record_event(session, "app.crash", Actor(placement.app_guid, "app", placement.app_name), target, payload)

    # --- upkeep ---------------------------------------------------------------------------------

    def _heartbeat(self) -> None:
        now = utcnow()
        with self.db.session() as s:
            s.execute(
                update(Instance)
                .where(Instance.node == self.options.node)
                .values(heartbeat_at=now)
                .execution_options(synchronize_session=False)
            )
            # Rows of a node that stopped heartbeating: their instances are gone with it.
            s.execute(
                delete(Instance).where(Instance.node != self.options.node, Instance.heartbeat_at < now - STALE_AFTER)
            )
            s.commit()

    def _report_usage(self) -> None:
        with self._lock:
            held = list(self._held.values())
        stamp = utcnow().strftime("%Y-%m-%dT%H:%M:%S+00:00")
        with self.db.session() as s:
            for item in held:
                usage = item.running.usage()
                if usage is None:
                    continue
                s.execute(
                    update(Instance)
                    .where(Instance.id == item.row_id)
                    .values(
                        usage={"time": stamp, "cpu": usage.cpu, "mem": usage.mem, "disk": usage.disk, "log_rate": 0}
                    )
                    .execution_options(synchronize_session=False)
                )
            s.commit()

    def _evict_droplets(self, in_use: set[str]) -> None:
        with self._lock:
            running = {item.running.plan.droplet_guid for item in self._held.values()}
        running |= self.tasks.droplets_in_use()
        with contextlib.suppress(OSError):
            self.droplets.evict(in_use | running)
        # An image stays while any app's current droplet (started or not) or an instance uses it.
        with self.db.session() as s:
            current = set(s.scalars(select(App.droplet_guid).where(App.droplet_guid.is_not(None))))
        with contextlib.suppress(OSError):
            self.images.evict({guid for guid in current if guid} | in_use | running)

    # --- tasks ----------------------------------------------------------------------------------

    def _make_task_run(self, plan: TaskPlan) -> TaskRun:
        return TaskRun(
            plan,
            sandbox=self.options.sandbox,
            droplets=self.droplets,
            state_root=self.state_root,
            sink=self.sink,
            on_exit=self.tasks.exited,
            images=self.images,
        )


def _image_owner(sandbox: SandboxConfig) -> tuple[int, int] | None:
    """Who owns unpacked images: the sandbox's uid when Ladle is root (otherwise Ladle's user)."""
    identity = Identity.choose(sandbox.uid, sandbox.gid)
    return (identity.uid, identity.gid) if sandbox.isolate and identity.privileged else None
