"""Query parameters of single-resource GETs (only ``include``, where a resource has it)."""

from __future__ import annotations

from ladle.messages.base import quote_list
from ladle.messages.query import QueryString, split_list

__all__ = ["parse_show_query"]


def parse_show_query(query: QueryString, include_values: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The includes asked for, and the problems found."""
    allowed = ("include",) if include_values else ()
    messages: list[str] = []
    unknown = [k for k in query.names() if k not in allowed]
    if unknown:
        messages.append(
            f"Unknown query parameter(s): {quote_list(unknown)}. Valid parameters are: {quote_list(allowed)}"
        )
    includes: list[str] = []
    raw = query.get("include")
    if raw is not None and include_values:
        for value in split_list(raw):
            if value not in include_values:
                messages.append(
                    f"Invalid included resource: '{value}'. Valid included resources are: {quote_list(include_values)}"
                )
            elif value in includes:
                messages.append(f"Duplicate included resource: '{value}'")
            else:
                includes.append(value)
    return includes, messages
