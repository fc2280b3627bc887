"""Cloud Foundry's encodings of a docker image's metadata, as its dockerapplifecycle builder writes them.

Droplets of docker apps carry these strings; clients (and the cf CLI) read them back, so the shapes and key
order follow the Go structs: ExecutionMetadata with omitempty fields, and ports as {"Port", "Protocol"}.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ladle.docker.registry import ImageConfig

__all__ = ["execution_metadata", "exposed_ports", "process_types"]

_PORT_RE = re.compile(r"[0-9]+")
_MAX_PORT = 65535


def exposed_ports(config: ImageConfig) -> list[dict[str, Any]]:
    """The image's ports as {"Port": int, "Protocol": str}, by port then tcp first, as the lifecycle sorts them."""
    ports: list[dict[str, Any]] = []
    for spec in config.exposed_ports:
        number, _, protocol = spec.partition("/")
        # Go's strconv.ParseUint(s, 10, 16) is the bar: digits only, no sign, no ranges, at most 65535.
        if not _PORT_RE.fullmatch(number) or int(number) > _MAX_PORT:
            raise ValueError(f"invalid exposed port {spec!r} in the image config")
        ports.append({"Port": int(number), "Protocol": protocol or "tcp"})
    ports.sort(key=lambda p: (p["Port"], p["Protocol"] != "tcp", p["Protocol"]))
    return ports


def execution_metadata(config: ImageConfig) -> str:
    fields: dict[str, Any] = {
        "cmd": list(config.cmd),
        "entrypoint": list(config.entrypoint),
        "workdir": config.workdir,
        "ports": exposed_ports(config),
        "user": config.user,
    }
    return json.dumps({key: value for key, value in fields.items() if value}, separators=(",", ":"))


def process_types(config: ImageConfig) -> dict[str, str]:
    """The "web" start command: entrypoint then cmd, the way the image would run them."""
    return {"web": " ".join([*config.entrypoint, *config.cmd])}
