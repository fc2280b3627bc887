"""List query parameters: which ones an endpoint takes, and what each means.

Every list takes ``page``, ``per_page``, ``order_by``, ``created_ats``, ``updated_ats`` and
``guids``, then its own filters, then ``label_selector`` if the resource has labels -- and the
"Valid parameters are" message lists them in exactly that order. Problems are collected and
raised as one ``BadQueryParameter`` whose detail joins them with ", ".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ladle.clock import parse_timestamp
from ladle.messages.base import humanize, quote_list
from ladle.messages.label_selector import Requirement, parse_label_selector
from ladle.messages.query import QueryString, split_list

__all__ = ["COMMON_KEYS", "ListParams", "ListSpec", "TimeCondition", "conditions_hold", "parse_list"]

COMMON_KEYS = ("page", "per_page", "order_by", "created_ats", "updated_ats", "guids")
TIMESTAMP_KEYS = ("created_ats", "updated_ats")
OPERATORS = ("lt", "lte", "gt", "gte")
PER_PAGE_MAX = 5000
_TIMESTAMP = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_NESTED = re.compile(r"\A(?P<base>[^\[\]]+)\[(?P<sub>[^\]]*)\]\Z")
_LEADING_INT = re.compile(r"\A\s*[+-]?\d+")


@dataclass(frozen=True)
class ListSpec:
    """The query parameters one list endpoint accepts."""

    # The endpoint's own keys, in the order Cloud Controller declares them.
    keys: tuple[str, ...] = ()
    # Which of ``keys`` are comma-separated lists.
    array_keys: frozenset[str] = frozenset()
    order_by: tuple[str, ...] = ("created_at", "updated_at")
    labels: bool = True
    include: tuple[str, ...] = ()
    disallowed: tuple[str, ...] = ()

    @property
    def allowed(self) -> tuple[str, ...]:
        return COMMON_KEYS + self.keys + (("label_selector",) if self.labels else ())


@dataclass(frozen=True)
class TimeCondition:
    """One timestamp condition; timestamps are whole seconds, so ``lte t`` means before ``t+1s``."""

    operator: str  # lt, lte, gt, gte, or "in_second" for a plain list entry
    at: datetime

    def holds(self, value: datetime) -> bool:
        second = timedelta(seconds=1)
        match self.operator:
            case "lt":
                return value < self.at
            case "lte":
                return value < self.at + second
            case "gt":
                return value >= self.at + second
            case "gte":
                return value >= self.at
            case _:
                return self.at <= value < self.at + second


def conditions_hold(groups: list[list[TimeCondition]], value: datetime) -> bool:
    """Plain lists match any of their entries; every relational group must hold."""
    return all(any(c.holds(value) for c in group) for group in groups)


@dataclass
class ListParams:
    page: int = 1
    per_page: int = 50
    order_by: str | None = None
    descending: bool = False
    arrays: dict[str, list[str]] = field(default_factory=dict)
    scalars: dict[str, str] = field(default_factory=dict)
    timestamps: dict[str, list[list[TimeCondition]]] = field(default_factory=dict)
    label_selector: list[Requirement] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    # What the client sent, to repeat in pagination links (page, per_page, order_by excluded).
    echo: list[tuple[str, str]] = field(default_factory=list)

    @property
    def order_echo(self) -> str | None:
        if self.order_by is None:
            return None
        return ("-" if self.descending else "+") + self.order_by

    def has(self, key: str) -> bool:
        return key in self.arrays or key in self.scalars


def _ruby_to_i(text: str) -> int:
    match = _LEADING_INT.match(text)
    return int(match.group(0)) if match else 0


def _timestamp_errors(
    key: str, raw_plain: str | None, raw_ops: dict[str, str], messages: list[str]
) -> list[list[TimeCondition]]:
    """Parse ``created_ats=a,b`` (any of) and ``created_ats[gt]=x`` (all of)."""
    label = humanize(key)
    groups: list[list[TimeCondition]] = []
    if raw_plain is not None:
        plain: list[TimeCondition] = []
        for value in split_list(raw_plain):
            if not _TIMESTAMP.match(value):
                messages.append(
                    f"{label} has an invalid timestamp format. Timestamps should be formatted as 'YYYY-MM-DDThh:mm:ssZ'"
                )
                continue
            plain.append(TimeCondition("in_second", parse_timestamp(value)))
        groups.append(plain)
    for operator, value in raw_ops.items():
        if operator not in OPERATORS:
            messages.append(f"{label} Invalid relational operator: '{operator}'")
        if "," in value:
            messages.append(f"{label} only accepts one value when using a relational operator")
            continue
        if not _TIMESTAMP.match(value):
            messages.append(
                f"{label} has an invalid timestamp format. Timestamps should be formatted as 'YYYY-MM-DDThh:mm:ssZ'"
            )
            continue
        if operator in OPERATORS:
            groups.append([TimeCondition(operator, parse_timestamp(value))])
    return groups


def parse_list(
    query: QueryString, spec: ListSpec, max_total_results: int | None = None
) -> tuple[ListParams, list[str]]:
    """Read a list request's query; returns the parameters and the problems found."""
    params = ListParams()
    messages: list[str] = []
    allowed = spec.allowed
    raw: dict[str, str] = {}
    nested: dict[str, dict[str, str]] = {}
    unknown: list[str] = []
    for key, value in query.pairs:
        match = _NESTED.match(key)
        base = match.group("base") if match else key
        if base not in allowed:
            if base not in unknown:
                unknown.append(base)
            continue
        if match:
            nested.setdefault(base, {})[match.group("sub")] = value
        else:
            raw[key] = value
        if base not in {"page", "per_page", "order_by"}:
            params.echo = [(k, v) for k, v in params.echo if k != key] + [(key, value)]

    if unknown:
        messages.append(
            f"Unknown query parameter(s): {quote_list(unknown)}. Valid parameters are: {quote_list(allowed)}"
        )
    for key in spec.disallowed:
        if key in raw or key in nested:
            messages.append(f"Filtering by '{key}' is not allowed on this resource.")

    if "page" in raw:
        params.page = _ruby_to_i(raw["page"])
        if params.page <= 0:
            messages.append("Page must be a positive integer")
    if "per_page" in raw:
        params.per_page = _ruby_to_i(raw["per_page"])
        if params.per_page <= 0:
            messages.append("Per page must be a positive integer")
        elif params.per_page > PER_PAGE_MAX:
            messages.append(f"Per page must be between 1 and {PER_PAGE_MAX}")
    asked_for_page = "page" in raw or "per_page" in raw
    if max_total_results is not None and asked_for_page and params.page * params.per_page > max_total_results:
        messages.append(f"Maximum result (page * per_page) must be less than {max_total_results}")
    for key in ("page", "per_page", "guids", *spec.array_keys):
        if key in nested:
            messages.append(f"{humanize(key)} must be an array")

    order = raw.get("order_by", "")
    if order:
        match = re.fullmatch(r"([+-])?(" + "|".join(map(re.escape, spec.order_by)) + r")", order)
        if match is None:
            messages.append(f"Order by can only be: {quote_list(spec.order_by)}")
        else:
            params.order_by = match.group(2)
            params.descending = match.group(1) == "-"

    for key in TIMESTAMP_KEYS:
        if key in raw or key in nested:
            params.timestamps[key] = _timestamp_errors(key, raw.get(key), nested.get(key, {}), messages)

    for key in ("guids", *spec.array_keys):
        if key in raw and key != "include":
            params.arrays[key] = split_list(raw[key])
    for key in spec.keys:
        if key in raw and key not in spec.array_keys and key != "include":
            params.scalars[key] = raw[key]

    if "include" in raw and spec.include:
        seen: list[str] = []
        for value in split_list(raw["include"]):
            if value not in spec.include:
                messages.append(
                    f"Invalid included resource: '{value}'. Valid included resources are: {quote_list(spec.include)}"
                )
            elif value in seen:
                messages.append(f"Duplicate included resource: '{value}'")
            else:
                seen.append(value)
        params.include = seen

    if spec.labels and "label_selector" in raw:
        requirements, problems = parse_label_selector(raw["label_selector"])
        params.label_selector = requirements
        messages.extend(problems)
    return params, messages
