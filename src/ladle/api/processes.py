"""``/v3/processes`` and ``/v3/apps/:guid/processes``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.api.guards import readable_app
from ladle.api.listing import parse_list_or_raise, reject_nested_filters
from ladle.api.routing import RequestContext, cf_json, get
from ladle.db.lookup import by_guid, space_ref
from ladle.db.metadata import load_metadata
from ladle.db.models import Process
from ladle.db.processes import ProcessContext, process_contexts, process_of_app, processes_page
from ladle.errors import CFError
from ladle.messages.lists import ListSpec
from ladle.presenters.pagination import present_page
from ladle.presenters.process import present_process
from ladle.presenters.redaction import Redaction

__all__ = ["routes"]

LIST = ListSpec(
    keys=("app_guid", "types", "space_guids", "organization_guids", "app_guids", "embed"),
    array_keys=frozenset({"types", "space_guids", "organization_guids", "app_guids"}),
)


def _present_all(
    ctx: RequestContext, processes: list[Process], redaction: Redaction, embed: bool
) -> list[dict[str, Any]]:
    contexts = process_contexts(ctx.db, {p.app_guid for p in processes})
    metadata = load_metadata(ctx.db, "process", [p.guid for p in processes])
    out = []
    for process in processes:
        pctx: ProcessContext = contexts[process.app_guid]
        body = present_process(
            process,
            metadata[process.guid],
            ctx.urls,
            space_guid=pctx.space_guid,
            detected_command=pctx.detected_commands.get(process.type),
            redaction=redaction,
            user=pctx.default_user,
        )
        if embed:
            # No instances run on Ladle (it stages, it does not run), so the list is empty.
            body = {k: v for k, v in body.items() if k != "relationships"} | {
                "process_instances": [],
                "relationships": body["relationships"],
                "metadata": body["metadata"],
                "links": body["links"],
            }
        out.append(body)
    return out


def _list(ctx: RequestContext, app_guid: str | None, path: str) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    embed = params.scalars.get("embed")
    if embed is not None and embed != "process_instances":
        raise CFError("BadQueryParameter", f"Invalid embed: '{embed}'")
    page = processes_page(ctx.db, ctx.perms, params, app_guid)
    resources = _present_all(ctx, page.rows, Redaction.LIST, embed is not None)
    return cf_json(present_page(resources, page.total, params, path))


def list_processes(ctx: RequestContext) -> Response:
    return _list(ctx, None, ctx.urls.v3("processes"))


def list_app_processes(ctx: RequestContext) -> Response:
    app, _ = readable_app(ctx, ctx.param("guid"))
    reject_nested_filters(ctx)
    return _list(ctx, app.guid, ctx.urls.v3("apps", app.guid, "processes"))


def _show(ctx: RequestContext, process: Process | None) -> Response:
    if process is None:
        raise CFError("ResourceNotFound", "Process not found")
    contexts = process_contexts(ctx.db, {process.app_guid})
    ref = space_ref(ctx.db, contexts[process.app_guid].space_guid)
    if ref is None or not ctx.perms.can_read_from_space(ref):
        raise CFError("ResourceNotFound", "Process not found")
    redaction = Redaction.NONE if ctx.perms.can_read_secrets_in_space(ref) else Redaction.SINGLE
    return cf_json(_present_all(ctx, [process], redaction, embed=False)[0])


def show_process(ctx: RequestContext) -> Response:
    return _show(ctx, by_guid(ctx.db, Process, ctx.param("guid")))


def show_app_process(ctx: RequestContext) -> Response:
    app, _ = readable_app(ctx, ctx.param("guid"))
    return _show(ctx, process_of_app(ctx.db, app.guid, ctx.param("type")))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/processes", list_processes),
        get("/v3/processes/{guid}", show_process),
        get("/v3/apps/{guid}/processes", list_app_processes),
        get("/v3/apps/{guid}/processes/{type}", show_app_process),
    ]
