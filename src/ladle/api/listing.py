"""Reading a list request's query in a route."""

from __future__ import annotations

from ladle.api.routing import RequestContext
from ladle.errors import CFError
from ladle.messages.lists import ListParams, ListSpec, parse_list

__all__ = ["parse_list_or_raise"]


def parse_list_or_raise(ctx: RequestContext, spec: ListSpec) -> ListParams:
    params, problems = parse_list(ctx.query, spec, ctx.deps.settings.max_total_results)
    if problems:
        raise CFError("BadQueryParameter", problems)
    return params
