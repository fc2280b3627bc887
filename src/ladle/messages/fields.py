"""``fields[<resource>]=<keys>``: which related resources a list or show adds under ``included``."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ladle.errors import CFError
from ladle.messages.base import quote_list
from ladle.messages.query import QueryString, split_list

__all__ = ["SERVICE_INSTANCE_FIELDS", "parse_fields"]

_FIELDS = re.compile(r"\Afields\[(?P<resource>[^\]]*)\]\Z")

SERVICE_INSTANCE_FIELDS: dict[str, tuple[str, ...]] = {
    "space": ("guid", "name", "relationships.organization"),
    "space.organization": ("name", "guid"),
    "service_plan": ("guid", "name", "relationships.service_offering"),
    "service_plan.service_offering": (
        "name",
        "guid",
        "description",
        "documentation_url",
        "tags",
        "relationships.service_broker",
    ),
    "service_plan.service_offering.service_broker": ("name", "guid"),
}


def parse_fields(query: QueryString, allowed: Mapping[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """The requested keys per resource; problems are Cloud Controller's ``BadQueryParameter``."""
    out: dict[str, list[str]] = {}
    problems: list[str] = []
    for key, value in query.pairs:
        if key == "fields":
            problems.append("Fields must be an object")
            continue
        match = _FIELDS.match(key)
        if match is None:
            continue
        resource = match.group("resource")
        keys = split_list(value)
        if resource not in allowed:
            problems.append(f"Fields [{resource}] valid resources are: {quote_list(allowed)}")
        elif not set(keys) <= set(allowed[resource]):
            problems.append(f"Fields valid keys for '{resource}' are: {quote_list(allowed[resource])}")
        else:
            out[resource] = keys
    if problems:
        raise CFError("BadQueryParameter", ", ".join(problems))
    return out
