"""Feature flags: the defaults, an operator's overrides in the DB, and the check that enforces them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.auth.identity import ADMIN_READ_ONLY, Identity
from ladle.db.models import FeatureFlag
from ladle.errors import CFError

__all__ = ["DEFAULT_FLAGS", "FlagState", "all_flags", "get_flag", "require_flag"]

# Cloud Controller's flags and their defaults, in its order.
DEFAULT_FLAGS: dict[str, bool] = {
    "user_org_creation": False,
    "private_domain_creation": True,
    "app_bits_upload": True,
    "app_scaling": True,
    "route_creation": True,
    "service_instance_creation": True,
    "diego_docker": False,
    "diego_cnb": False,
    "set_roles_by_username": True,
    "unset_roles_by_username": True,
    "task_creation": True,
    "env_var_visibility": True,
    "space_scoped_private_broker_creation": True,
    "space_developer_env_var_visibility": True,
    "service_instance_sharing": False,
    "hide_marketplace_from_unauthenticated_users": False,
    "resource_matching": True,
    "route_sharing": False,
}
# Flags that never stop an admin (and the one that does not stop an admin read-only either).
ADMIN_SKIPPABLE = frozenset(
    {
        "app_bits_upload",
        "app_scaling",
        "set_roles_by_username",
        "space_developer_env_var_visibility",
        "task_creation",
        "unset_roles_by_username",
    }
)
ADMIN_READ_ONLY_SKIPPABLE = frozenset({"space_developer_env_var_visibility"})


@dataclass(frozen=True)
class FlagState:
    name: str
    enabled: bool
    custom_error_message: str | None
    updated_at: datetime | None


def _state(name: str, row: FeatureFlag | None) -> FlagState:
    if row is None:
        return FlagState(name, DEFAULT_FLAGS[name], None, None)
    return FlagState(name, row.enabled, row.custom_error_message, row.updated_at)


def get_flag(session: Session, name: str) -> FlagState | None:
    if name not in DEFAULT_FLAGS:
        return None
    return _state(name, session.scalars(select(FeatureFlag).where(FeatureFlag.name == name)).first())


def all_flags(session: Session) -> list[FlagState]:
    rows = {row.name: row for row in session.scalars(select(FeatureFlag))}
    return [_state(name, rows.get(name)) for name in DEFAULT_FLAGS]


def require_flag(session: Session, name: str, identity: Identity | None) -> None:
    """Raise ``FeatureDisabled`` unless the flag is on (or the caller may skip it)."""
    if identity is not None:
        if identity.is_admin and name in ADMIN_SKIPPABLE:
            return
        if identity.has(ADMIN_READ_ONLY) and name in ADMIN_READ_ONLY_SKIPPABLE:
            return
    state = get_flag(session, name)
    if state is None or state.enabled:
        return
    raise CFError("FeatureDisabled", state.custom_error_message or name)
