"""The paginated list envelope, with absolute links whose query keys are sorted as Rails sorts them."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from ladle.messages.lists import ListParams
from ladle.urls import link

__all__ = ["present_page"]


def _href(base_url: str, params: ListParams, page: int) -> str:
    items: dict[str, str] = dict(params.echo)
    items["page"] = str(page)
    items["per_page"] = str(params.per_page)
    if params.order_echo is not None:
        items["order_by"] = params.order_echo
    return f"{base_url}?{urlencode(sorted(items.items()))}"


def present_page(
    resources: list[Any],
    total: int,
    params: ListParams,
    base_url: str,
    included: dict[str, Any] | None = None,
) -> dict[str, Any]:
    last = max(1, math.ceil(total / params.per_page))
    page = params.page
    body: dict[str, Any] = {
        "pagination": {
            "total_results": total,
            "total_pages": last,
            "first": link(_href(base_url, params, 1)),
            "last": link(_href(base_url, params, last)),
            "next": link(_href(base_url, params, page + 1)) if page + 1 <= last else None,
            "previous": link(_href(base_url, params, page - 1)) if page > 1 else None,
        },
        "resources": resources,
    }
    if included is not None:
        body["included"] = included
    return body
