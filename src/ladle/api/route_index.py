"""Route lookup by path prefix, so a request is matched against a handful of routes, not all.

Starlette's router tries every route's pattern in order until one matches; with a couple of
hundred routes that loop costs more than authenticating the request. Routes are indexed here by
the first two segments of their literal prefix (``/v3/apps/{guid}`` under ``("v3", "apps")``); a
request is matched, in the original order, against the routes of its own two segments plus those
whose prefix is shorter. Anything unmatched goes the original way (404s, slash redirects).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Lifespan, Receive, Scope, Send

__all__ = ["IndexedRouter"]

KEY_SEGMENTS = 2


def _key(path: str) -> tuple[str, ...]:
    return tuple(path.split("/", KEY_SEGMENTS + 1)[1 : KEY_SEGMENTS + 1])


def _route_key(route: BaseRoute) -> tuple[str, ...] | None:
    """The literal key of a plain route, or None when its first segments hold a parameter."""
    if not isinstance(route, Route):
        return None
    literal = route.path.split("{", 1)[0]
    segments = literal.split("/")[1:]
    if "{" in route.path:
        # The last literal piece is cut by a parameter: only whole segments before it count.
        segments = segments[:-1]
    key = tuple(segments[:KEY_SEGMENTS])
    return key if len(key) == KEY_SEGMENTS else None


class IndexedRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute], lifespan: Lifespan[Any] | None = None) -> None:
        super().__init__(routes, lifespan=lifespan)
        self._index: dict[tuple[str, ...], list[BaseRoute]] = {}
        keys = [_route_key(route) for route in self.routes]
        for key in {k for k in keys if k is not None}:
            # Each bucket keeps the routes' original order, the short ones included.
            self._index[key] = [r for r, k in zip(self.routes, keys, strict=True) if k in (key, None)]
        self._short: list[BaseRoute] = [r for r, k in zip(self.routes, keys, strict=True) if k is None]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        candidates = self._index.get(_key(get_route_path(scope)), self._short)
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope.setdefault("router", self)
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
        # A method mismatch (405), a slash redirect or a 404: the original, full walk.
        await super().app(scope, receive, send)
