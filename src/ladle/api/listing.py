"""Reading a list request's query in a route."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from ladle.api.routing import RequestContext, cf_json
from ladle.errors import CFError
from ladle.messages.base import quote_list
from ladle.messages.lists import ListParams, ListSpec, parse_list
from ladle.presenters.pagination import present_page

__all__ = ["empty_list", "parse_list_or_raise", "reject_nested_filters"]


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


def empty_list(
    ctx: RequestContext, spec: ListSpec, base_url: str, included: Mapping[str, tuple[str, ...]] | None = None
) -> Response:
    """A list that is honestly empty (what Ladle does not offer yet), with its parameters still
    checked as Cloud Controller checks them; each requested ``include`` adds the collections that
    ``included`` names for it, empty, as Cloud Controller's decorators do for an empty page."""
    params = parse_list_or_raise(ctx, spec)
    extra: dict[str, list[object]] | None = None
    if params.include:
        extra = {name: [] for include in params.include for name in (included or {}).get(include, ())}
    return cf_json(present_page([], 0, params, base_url, extra))
