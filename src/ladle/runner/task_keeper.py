"""The tasks of one runner node: taking the ones nobody runs, cancelling, recording how they end.

A task the API created is RUNNING with no node; a node takes it with a conditional update (so
two nodes never both run it), runs it (``tasks.py``) and moves it to SUCCEEDED or FAILED only
from RUNNING or CANCELING, so a cancel racing the exit leaves one answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ladle.clock import utcnow
from ladle.db.models import App, Droplet, Organization, Space, Task
from ladle.db.placement import AppPlacement
from ladle.db.services import env_group_vars, vcap_services
from ladle.db.session import Database, rows_changed
from ladle.db.usage_events import record_task_usage
from ladle.runner.environment import InstanceAddress, task_environment
from ladle.runner.images import docker_source
from ladle.runner.tasks import TaskPlan, TaskRun

__all__ = ["TaskKeeper"]

# How many waiting tasks one pass takes at most (the next pass takes the rest).
BATCH = 20


class TaskKeeper:
    def __init__(
        self, db: Database, node: str, *, cf_api: str, jail_prefix: str, make: Callable[[TaskPlan], TaskRun]
    ) -> None:
        self.db = db
        self.node = node
        self.cf_api = cf_api
        self.jail_prefix = jail_prefix
        # Builds the run of a plan (the runner knows the sandbox, droplets and logs).
        self._make = make
        self._runs: dict[str, TaskRun] = {}
        self._lock = threading.Lock()

    def droplets_in_use(self) -> set[str]:
        with self._lock:
            return {run.plan.droplet_guid for run in self._runs.values()}

    def runs(self) -> list[TaskRun]:
        with self._lock:
            return list(self._runs.values())

    def fail_orphans(self) -> None:
        """Tasks this node ran before it restarted died with it."""
        with self.db.session() as s:
            orphans = list(
                s.scalars(select(Task.guid).where(Task.node == self.node, Task.state.in_(("RUNNING", "CANCELING"))))
            )
            for guid in orphans:
                self._end(s, guid, "the runner running the task restarted")
            s.commit()

    def pass_once(self) -> None:
        """Cancel what was cancelled, take what waits."""
        with self.db.session() as s:
            waiting = list(s.scalars(select(Task).where(Task.state == "RUNNING", Task.node.is_(None)).limit(BATCH)))
            canceling = list(s.scalars(select(Task.guid).where(Task.state == "CANCELING", Task.node == self.node)))
        for guid in canceling:
            with self._lock:
                run = self._runs.get(guid)
            if run is not None:
                run.cancel()
        for task in waiting:
            self._take(task)

    def _take(self, task: Task) -> None:
        with self.db.session() as s:
            taken = s.execute(
                update(Task)
                .where(Task.guid == task.guid, Task.node.is_(None), Task.state == "RUNNING")
                .values(node=self.node, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            s.commit()
            if not rows_changed(taken):
                return  # another node took it
            context = _task_context(s, task)
        if context is None:
            self.finish(task.guid, "the task's app or droplet no longer exists")
            return
        placement, group_env, app_env, services, droplet = context

        def environment(address: InstanceAddress) -> dict[str, str]:
            return task_environment(
                placement,
                cf_api=self.cf_api,
                group_env=group_env,
                app_env=app_env,
                vcap_services=services,
                memory_mb=task.memory_in_mb,
                disk_mb=task.disk_in_mb,
                uris=[],
                task_guid=task.guid,
                address=address,
            )

        plan = TaskPlan(
            guid=task.guid,
            app_guid=task.app_guid,
            name=task.name,
            command=task.command,
            droplet_guid=task.droplet_guid,
            memory_mb=task.memory_in_mb,
            disk_mb=task.disk_in_mb,
            environment=environment,
            jail_prefix=self.jail_prefix,
            docker=docker_source(droplet),
            execution_metadata=droplet.execution_metadata if droplet is not None else "",
            user_env_keys=frozenset(app_env) | frozenset(group_env),
        )
        run = self._make(plan)
        # Known before it starts: a task that ends at once still finds itself to forget.
        with self._lock:
            self._runs[task.guid] = run
        run.start()

    def exited(self, run: TaskRun, failure: str | None) -> None:
        with self._lock:
            self._runs.pop(run.plan.guid, None)
        self.finish(run.plan.guid, failure)

    def finish(self, guid: str, failure: str | None) -> None:
        with self.db.session() as s:
            self._end(s, guid, failure)
            s.commit()

    @staticmethod
    def _end(session: Session, guid: str, failure: str | None) -> None:
        """End a task still running (the caller commits); only the ending writer records it."""
        ended = session.execute(
            update(Task)
            .where(Task.guid == guid, Task.state.in_(("RUNNING", "CANCELING")))
            .values(state="FAILED" if failure else "SUCCEEDED", failure_reason=failure, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if rows_changed(ended):
            record_task_usage(session, guid, "TASK_STOPPED")


def _task_context(
    session: Session, task: Task
) -> tuple[AppPlacement, dict[str, object], dict[str, object], dict[str, object], Droplet | None] | None:
    """Where the task's app lives, the running group, the app's variables, VCAP_SERVICES and
    the droplet the task runs."""
    row = session.execute(
        select(App, Space, Organization)
        .join(Space, Space.guid == App.space_guid)
        .join(Organization, Organization.guid == Space.organization_guid)
        .where(App.guid == task.app_guid)
    ).first()
    if row is None:
        return None
    app, space, org = row
    placement = AppPlacement(app.guid, app.name, space.guid, space.name, org.guid, org.name)
    group = env_group_vars(session, "running")
    droplet = session.scalars(select(Droplet).where(Droplet.guid == task.droplet_guid)).first()
    services: dict[str, object] = dict(vcap_services(session, app.guid))
    return placement, group, dict(app.environment_variables or {}), services, droplet
