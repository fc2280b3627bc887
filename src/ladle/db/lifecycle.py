"""Checks of an app's or build's buildpack lifecycle against what the platform has."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.buildpacks import admin_buildpacks_named
from ladle.db.models import Stack

__all__ = ["buildpack_errors", "is_buildpack_uri", "stack_exists"]

_SCP_LIKE = re.compile(r"\A[\w.-]+@[\w.-]+:[\w./~-]+\Z")


def is_buildpack_uri(value: str) -> bool:
    """A URL Ladle can fetch a buildpack from (git, zip over http(s), or a local file)."""
    if _SCP_LIKE.match(value):
        return True
    parts = urlsplit(value)
    if parts.scheme in {"http", "https", "git", "ssh"}:
        return bool(parts.netloc)
    return parts.scheme == "file" and bool(parts.path)


def stack_exists(session: Session, name: str) -> bool:
    return session.scalar(select(Stack.id).where(Stack.name == name)) is not None


def admin_buildpack_exists(session: Session, name: str, stack: str | None) -> bool:
    return bool(admin_buildpacks_named(session, name, stack))


def buildpack_errors(session: Session, buildpacks: list[str], stack: str | None) -> list[str]:
    errors: list[str] = []
    for name in buildpacks:
        if is_buildpack_uri(name) or admin_buildpack_exists(session, name, stack):
            continue
        where = f' for stack "{stack}"' if stack else ""
        errors.append(f'Buildpack "{name}"{where} must be an existing admin buildpack or a valid git URI')
    return errors
