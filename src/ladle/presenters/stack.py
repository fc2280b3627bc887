"""Stack JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Stack
from ladle.urls import Urls, link

__all__ = ["present_stack"]


def present_stack(stack: Stack, metadata: Metadata, urls: Urls, *, default: bool) -> dict[str, Any]:
    return {
        "guid": stack.guid,
        "created_at": format_timestamp(stack.created_at),
        "updated_at": format_timestamp(stack.updated_at),
        "name": stack.name,
        "description": stack.description,
        "run_rootfs_image": stack.run_rootfs_image or stack.name,
        "build_rootfs_image": stack.build_rootfs_image or stack.name,
        "default": default,
        "metadata": metadata.to_dict(),
        "links": {"self": link(urls.v3("stacks", stack.guid))},
    }
