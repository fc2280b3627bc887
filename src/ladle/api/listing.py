"""Reading a list request's query in a route."""

from __future__ import annotations

from ladle.api.routing import RequestContext
from ladle.errors import CFError
from ladle.messages.base import quote_list
from ladle.messages.lists import ListParams, ListSpec, parse_list

__all__ = ["parse_list_or_raise", "reject_nested_filters"]


def parse_list_or_raise(ctx: RequestContext, spec: ListSpec) -> ListParams:
    params, problems = parse_list(ctx.query, spec, ctx.deps.settings.max_total_results)
    if problems:
        raise CFError("BadQueryParameter", problems)
    return params


NESTED_FORBIDDEN = ("app_guids", "organization_guids", "space_guids")


def reject_nested_filters(ctx: RequestContext, forbidden: tuple[str, ...] = NESTED_FORBIDDEN) -> None:
    """App-nested lists refuse filters that would reach outside the app (CC's fixed wording)."""
    given = [k for k in forbidden if k in ctx.query]
    if given:
        raise CFError("BadQueryParameter", f"Unknown query parameter(s): {quote_list(given)}")
