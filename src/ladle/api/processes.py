"""``/v3/processes`` and ``/v3/apps/:guid/processes``: read, update, scale, stop an instance."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.instance_stop import stop_instance
from ladle.actions.process_scale import scale_process
from ladle.actions.process_update import update_process
from ladle.api.app_change import app_change
from ladle.api.guards import readable_app, readable_process, writable_process
from ladle.api.listing import parse_list_or_raise, reject_nested_filters
from ladle.api.routing import RequestContext, cf_json, delete, get, no_content, patch, post
from ladle.db.feature_flags import require_flag
from ladle.db.instances import instances_by_index
from ladle.db.metadata import load_metadata
from ladle.db.models import Process
from ladle.db.processes import ProcessContext, process_contexts, processes_page
from ladle.errors import CFError
from ladle.messages.embed import embed_problems, parse_process_show_query
from ladle.messages.lists import ListSpec
from ladle.messages.process_scale import PROCESS_SCALE_FIELDS, parse_process_scale
from ladle.messages.process_update import PROCESS_UPDATE_FIELDS, parse_process_update
from ladle.presenters.pagination import present_page
from ladle.presenters.process import present_process, with_process_instances
from ladle.presenters.process_stats import process_instance_entries
from ladle.presenters.redaction import Redaction

__all__ = ["routes"]

LIST = ListSpec(
    keys=("app_guid", "types", "space_guids", "organization_guids", "app_guids", "embed"),
    array_keys=frozenset({"types", "space_guids", "organization_guids", "app_guids", "embed"}),
)
_LEADING_INT = re.compile(r"\A\s*[+-]?\d+")


def _present_all(
    ctx: RequestContext, processes: list[Process], redaction: Redaction, embed: bool
) -> list[dict[str, Any]]:
    contexts = process_contexts(ctx.db, {p.app_guid for p in processes})
    metadata = load_metadata(ctx.db, "process", [p.guid for p in processes])
    reported = instances_by_index(ctx.db, processes) if embed else {}
    now = datetime.now(UTC).replace(tzinfo=None)
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
            body = with_process_instances(body, process_instance_entries(process, reported[process.guid], now))
        out.append(body)
    return out


def _list(ctx: RequestContext, app_guid: str | None, path: str) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    embeds = params.arrays.get("embed", [])
    if problems := embed_problems(embeds):
        raise CFError("BadQueryParameter", problems)
    page = processes_page(ctx.db, ctx.perms, params, app_guid)
    resources = _present_all(ctx, page.rows, Redaction.LIST, "process_instances" in embeds)
    return cf_json(present_page(resources, page.total, params, path))


def list_processes(ctx: RequestContext) -> Response:
    return _list(ctx, None, ctx.urls.v3("processes"))


def list_app_processes(ctx: RequestContext) -> Response:
    app, _ = readable_app(ctx, ctx.param("guid"))
    reject_nested_filters(ctx)
    return _list(ctx, app.guid, ctx.urls.v3("apps", app.guid, "processes"))


def _present_one(
    ctx: RequestContext, process: Process, *, embed: bool = False, redact: bool = False, status: int = 200
) -> Response:
    redaction = Redaction.SINGLE if redact else Redaction.NONE
    return cf_json(_present_all(ctx, [process], redaction, embed)[0], status=status)


def show(ctx: RequestContext) -> Response:
    process, _, ref = readable_process(ctx)
    embed, problems = parse_process_show_query(ctx.query)
    if problems:
        raise CFError("BadQueryParameter", problems)
    return _present_one(ctx, process, embed=embed, redact=not ctx.perms.can_read_secrets_in_space(ref))


def update(ctx: RequestContext) -> Response:
    process, app, ref = writable_process(ctx)
    msg = parse_process_update(ctx.json())
    update_process(ctx.db, ctx.deps.settings, process, msg, app_change(ctx, app, ref))
    return _present_one(ctx, process)


def scale(ctx: RequestContext) -> Response:
    process, app, ref = writable_process(ctx)
    require_flag(ctx.db, "app_scaling", ctx.identity)
    msg = parse_process_scale(ctx.json())
    scale_process(ctx.db, ctx.deps.settings, process, msg, app_change(ctx, app, ref))
    # 202 with the process and no Location: scaling has no job to follow.
    return _present_one(ctx, process, status=202)


def stop_one_instance(ctx: RequestContext) -> Response:
    process, app, ref = writable_process(ctx)
    # Cloud Controller reads the index with Ruby's ``to_i``: leading digits, else 0.
    match = _LEADING_INT.match(ctx.param("index"))
    index = int(match.group(0)) if match else 0
    stop_instance(ctx.db, process, index, app_change(ctx, app, ref))
    return no_content()


def routes() -> list[BaseRoute]:
    return [
        get("/v3/processes", list_processes),
        get("/v3/processes/{guid}", show),
        patch("/v3/processes/{guid}", update, body=PROCESS_UPDATE_FIELDS),
        post("/v3/processes/{guid}/actions/scale", scale, body=PROCESS_SCALE_FIELDS),
        delete("/v3/processes/{guid}/instances/{index}", stop_one_instance),
        get("/v3/apps/{guid}/processes", list_app_processes),
        get("/v3/apps/{guid}/processes/{type}", show),
        patch("/v3/apps/{guid}/processes/{type}", update, body=PROCESS_UPDATE_FIELDS),
        post("/v3/apps/{guid}/processes/{type}/actions/scale", scale, body=PROCESS_SCALE_FIELDS),
        delete("/v3/apps/{guid}/processes/{type}/instances/{index}", stop_one_instance),
    ]
