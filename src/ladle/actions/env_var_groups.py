"""The running and staging environment variable groups (admins set them; every app gets them).

The staging group is under the app's variables when staging, the running group under them when
instances and tasks start (the app's own variables win), as in Cloud Controller.
"""

from __future__ import annotations

import json

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.clock import utcnow
from ladle.db.models import EnvironmentVariableGroup
from ladle.errors import CFError

__all__ = ["MAX_GROUP_BYTES", "ensure_env_group", "update_env_group"]

# Cloud Controller keeps a group in a TEXT column of 64 KiB.
MAX_GROUP_BYTES = 65535


def ensure_env_group(session: Session, name: str) -> EnvironmentVariableGroup:
    """The group's row, made empty the first time it is asked for (Cloud Controller's find-or-create)."""
    row = session.get(EnvironmentVariableGroup, name)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = EnvironmentVariableGroup(name=name, environment_json={}, updated_at=utcnow())
            session.add(row)
            session.flush()
    except IntegrityError:
        pass  # made by a concurrent request
    session.commit()
    found = session.get(EnvironmentVariableGroup, name)
    assert found is not None
    return found


def update_env_group(session: Session, name: str, changes: dict[str, str | None]) -> EnvironmentVariableGroup:
    """Merge ``changes`` into the group; a None value removes the variable."""
    row = ensure_env_group(session, name)
    merged = {**(row.environment_json or {}), **changes}
    result = {k: v for k, v in merged.items() if v is not None}
    if len(json.dumps(result)) > MAX_GROUP_BYTES:
        raise CFError(
            "UnprocessableEntity",
            "Environment variable group is too large. Specify fewer variables or reduce key/value lengths.",
        )
    row.environment_json = result
    row.updated_at = utcnow()
    session.commit()
    return row
