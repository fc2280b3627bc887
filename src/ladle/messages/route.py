"""``POST /v3/routes``, ``PATCH /v3/routes/:guid`` and the route destination bodies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, is_int, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.relationships import parse_to_one

__all__ = [
    "DESTINATIONS_FIELDS",
    "ROUTE_CREATE_FIELDS",
    "ROUTE_UPDATE_FIELDS",
    "DestinationSpec",
    "RouteChange",
    "check_host",
    "check_path",
    "parse_destinations",
    "parse_route_create",
    "parse_route_update",
]

ROUTE_CREATE_FIELDS: Fields = {
    "host": "string",
    "path": "string",
    "port": "integer",
    "relationships": "object",
    "options": "object",
    "metadata": "object",
}
ROUTE_UPDATE_FIELDS: Fields = {"options": "object", "metadata": "object"}
DESTINATIONS_FIELDS: Fields = {"destinations": "array"}

MAX_HOST = 63
MAX_PATH = 128
_HOST = re.compile(r"\A([\w\-]+|\*)?\Z", re.ASCII)
LOADBALANCING = ("round-robin", "least-connection")
PROTOCOLS = ("http1", "http2", "tcp")
MAX_DESTINATIONS = 100
DESTINATIONS_SHAPE = 'Destinations must have the structure "destinations": [{"app": {"guid": "app_guid"}}]'


@dataclass(frozen=True)
class RouteChange:
    host: str | None = None
    path: str | None = None
    port: int | None = None
    space_guid: str | None = None
    domain_guid: str | None = None
    options: dict[str, Any] | None = None
    metadata: MetadataUpdate | None = None


@dataclass(frozen=True)
class DestinationSpec:
    app_guid: str
    process_type: str = "web"
    port: int | None = None
    protocol: str | None = None
    weight: int | None = None


def check_host(host: Any, errors: Errors) -> None:
    if host is None:
        return
    if not isinstance(host, str):
        errors.add("host", "must be a string")
        return
    if len(host) > MAX_HOST:
        errors.add("host", f"is too long (maximum is {MAX_HOST} characters)")
    if not _HOST.match(host):
        errors.add("host", 'must be either "*" or contain only alphanumeric characters, "_", or "-"')


def check_path(path: Any, errors: Errors) -> None:
    if path is None:
        return
    if not isinstance(path, str):
        errors.add("path", "must be a string")
        return
    if len(path) > MAX_PATH:
        errors.add("path", f"is too long (maximum is {MAX_PATH} characters)")
    if path and not path.startswith("/"):
        errors.add("path", "must begin with /")
    if "?" in path:
        errors.add("path", "cannot contain ?")
    if path == "/":
        errors.add("path", "cannot be exactly /")


def _check_options(options: Any, errors: Errors) -> dict[str, Any] | None:
    if options is None:
        return None
    if not isinstance(options, dict):
        errors.add("options", "must be an object")
        return None
    extra = [k for k in options if k != "loadbalancing"]
    if extra:
        errors.base(f"Options Unknown field(s): {', '.join(repr(k) for k in extra)}")
    balancing = options.get("loadbalancing")
    if balancing is not None and balancing not in LOADBALANCING:
        errors.base(f"Options Loadbalancing must be one of '{', '.join(LOADBALANCING)}' if present")
    return {k: v for k, v in options.items() if v is not None}


def parse_route_create(body: dict[str, Any]) -> RouteChange:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, ROUTE_CREATE_FIELDS))
    host, path, port = body.get("host"), body.get("path"), body.get("port")
    check_host(host, errors)
    check_path(path, errors)
    if port is not None and (not is_int(port) or not 0 <= port <= 65535):
        errors.add("port", "must be an integer" if not is_int(port) else "must be less than or equal to 65535")
    relationships = parse_to_one(body, errors, ("space", "domain"), required=("space", "domain"))
    options = _check_options(body.get("options"), errors)
    errors.raise_if_any()
    return RouteChange(
        host=host,
        path=path,
        port=port,
        space_guid=relationships.get("space"),
        domain_guid=relationships.get("domain"),
        options=options,
        metadata=metadata,
    )


def parse_route_update(body: dict[str, Any]) -> RouteChange:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, ROUTE_UPDATE_FIELDS))
    options = _check_options(body.get("options"), errors)
    errors.raise_if_any()
    return RouteChange(options=options, metadata=metadata)


def _destination(item: Any, *, replace: bool, errors: Errors) -> DestinationSpec | None:
    if not isinstance(item, dict) or set(item) - {"app", "port", "protocol", "weight"}:
        errors.base(DESTINATIONS_SHAPE)
        return None
    app = item.get("app")
    if not isinstance(app, dict) or set(app) - {"guid", "process"} or not isinstance(app.get("guid"), str):
        errors.base(DESTINATIONS_SHAPE)
        return None
    process = app.get("process")
    process_type = "web"
    if process is not None:
        if not isinstance(process, dict) or set(process) != {"type"} or not isinstance(process["type"], str):
            errors.base('Process must have the structure "process": {"type": "process_type"}')
            return None
        process_type = process["type"] or "web"
    port = item.get("port")
    if port is not None and (not is_int(port) or not 1024 <= port <= 65535):
        errors.base("Port must be a positive integer between 1024 and 65535")
        return None
    protocol = item.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        errors.base("Destinations[0] protocol must be 'http1', 'http2' or 'tcp'.")
        return None
    weight = item.get("weight")
    if weight is not None:
        if not replace:
            errors.base("Destinations cannot contain weight")
            return None
        if not is_int(weight) or not 1 <= weight <= 100:
            errors.base("Weights must be a positive integer between 1 and 100")
            return None
    return DestinationSpec(app["guid"], process_type, port, protocol, weight)


def parse_destinations(body: dict[str, Any], *, replace: bool) -> list[DestinationSpec]:
    """The ``destinations`` of a POST (add, 1..100) or PATCH (replace all, 0..100)."""
    errors = Errors()
    errors.base(unknown_fields(body, DESTINATIONS_FIELDS))
    items = body.get("destinations")
    low = 0 if replace else 1
    if not isinstance(items, list) or not low <= len(items) <= MAX_DESTINATIONS:
        errors.base(DESTINATIONS_SHAPE)
        errors.raise_if_any()
        return []
    specs = [spec for item in items if (spec := _destination(item, replace=replace, errors=errors)) is not None]
    weights = [s.weight for s in specs if s.weight is not None]
    if weights and (len(weights) != len(specs) or sum(weights) != 100):
        errors.base("Destinations must have weights that add up to 100")
    errors.raise_if_any()
    return specs
