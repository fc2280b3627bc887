"""The ``embed`` query parameter of process lists and process GETs."""

from __future__ import annotations

from ladle.messages.base import quote_list
from ladle.messages.query import QueryString, split_list

__all__ = ["EMBEDDABLE", "embed_problems", "parse_process_show_query"]

EMBEDDABLE = ("process_instances",)


def embed_problems(values: list[str]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for value in values:
        if value not in EMBEDDABLE:
            problems.append(
                f"Invalid embedded resource: '{value}'. Valid embedded resources are: {quote_list(EMBEDDABLE)}"
            )
        elif value in seen:
            problems.append(f"Duplicate embedded resource: '{value}'")
        seen.add(value)
    return problems


def parse_process_show_query(query: QueryString) -> tuple[bool, list[str]]:
    """Whether process instances are to be embedded, and the problems found."""
    problems: list[str] = []
    unknown = [k for k in query.names() if k != "embed"]
    if unknown:
        problems.append(f"Unknown query parameter(s): {quote_list(unknown)}. Valid parameters are: 'embed'")
    raw = query.get("embed")
    values = split_list(raw) if raw is not None else []
    problems += embed_problems(values)
    return "process_instances" in values, problems
