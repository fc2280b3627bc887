"""``/v3/tasks`` and ``/v3/apps/:guid/tasks``: run, read, cancel, label.

Who sees a task's ``command``: on one task, whoever may see the space's secrets; in an app's
task list likewise; in ``/v3/tasks`` nobody. Creating and cancelling answer with it.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.metadata_update import update_resource_metadata
from ladle.actions.task_cancel import cancel_task
from ladle.actions.task_create import create_task
from ladle.api.app_change import app_change
from ladle.api.guards import readable_app, readable_of_app, readable_with_app, require, require_active_space
from ladle.api.listing import parse_list_or_raise, reject_nested_filters
from ladle.api.routing import RequestContext, cf_json, get, patch, post, put
from ladle.db.feature_flags import require_flag
from ladle.db.metadata import load_metadata
from ladle.db.models import Task
from ladle.db.tasks import task_droplets, tasks_page
from ladle.errors import CFError
from ladle.messages.lists import ListSpec
from ladle.messages.metadata import parse_metadata_update
from ladle.messages.task_create import TASK_CREATE_FIELDS, parse_task_create
from ladle.presenters.pagination import present_page
from ladle.presenters.task import present_task

__all__ = ["routes"]

ARRAYS = ("names", "states", "app_guids", "organization_guids", "space_guids", "sequence_ids")
LIST = ListSpec(keys=(*ARRAYS[:5], "app_guid", "sequence_ids"), array_keys=frozenset(ARRAYS))


def _present(ctx: RequestContext, tasks: list[Task], *, show_command: bool) -> list[dict[str, object]]:
    droplets = task_droplets(ctx.db, tasks)
    metadata = load_metadata(ctx.db, "task", [t.guid for t in tasks])
    return [
        present_task(t, droplets.get(t.droplet_guid), metadata[t.guid], ctx.urls, show_command=show_command)
        for t in tasks
    ]


def list_tasks(ctx: RequestContext) -> Response:
    if "sequence_ids" in ctx.query:
        # Sequence numbers only mean something within one app.
        raise CFError("BadQueryParameter", "Unknown query parameter(s): 'sequence_ids'")
    params = parse_list_or_raise(ctx, LIST)
    page = tasks_page(ctx.db, ctx.perms, params)
    resources = _present(ctx, page.rows, show_command=False)
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("tasks")))


def list_app_tasks(ctx: RequestContext) -> Response:
    app, ref = readable_app(ctx, ctx.param("guid"))
    reject_nested_filters(ctx, ("space_guids", "organization_guids", "app_guids"))
    params = parse_list_or_raise(ctx, LIST)
    page = tasks_page(ctx.db, ctx.perms, params, app.guid)
    resources = _present(ctx, page.rows, show_command=ctx.perms.can_read_secrets_in_space(ref))
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("apps", app.guid, "tasks")))


def show(ctx: RequestContext) -> Response:
    task, ref = readable_of_app(ctx, Task, ctx.param("guid"))
    return cf_json(_present(ctx, [task], show_command=ctx.perms.can_read_secrets_in_space(ref))[0])


def create(ctx: RequestContext) -> Response:
    require_flag(ctx.db, "task_creation", ctx.identity)
    msg = parse_task_create(ctx.json())
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    task = create_task(ctx.db, ctx.deps.settings, msg, app_change(ctx, app, ref))
    # 202: the task is accepted and runs on its own; its state tells how it goes.
    return cf_json(_present(ctx, [task], show_command=True)[0], status=202)


def cancel(ctx: RequestContext) -> Response:
    task, app, ref = readable_with_app(ctx, Task, ctx.param("guid"))
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    cancel_task(ctx.db, task, app_change(ctx, app, ref))
    return cf_json(_present(ctx, [task], show_command=True)[0], status=202)


def update(ctx: RequestContext) -> Response:
    metadata = parse_metadata_update(ctx.json())
    task, ref = readable_of_app(ctx, Task, ctx.param("guid"))
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    update_resource_metadata(ctx.db, ctx.deps.settings, "task", task, metadata)
    return cf_json(_present(ctx, [task], show_command=True)[0])


def routes() -> list[BaseRoute]:
    return [
        get("/v3/tasks", list_tasks, query=LIST),
        get("/v3/tasks/{guid}", show),
        patch("/v3/tasks/{guid}", update),
        put("/v3/tasks/{guid}/cancel", cancel),
        post("/v3/tasks/{guid}/actions/cancel", cancel),
        get("/v3/apps/{guid}/tasks", list_app_tasks, query=LIST),
        post("/v3/apps/{guid}/tasks", create, body=TASK_CREATE_FIELDS),
    ]
