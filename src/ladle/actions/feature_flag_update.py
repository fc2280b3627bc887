"""Change a feature flag (admins only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.feature_flags import DEFAULT_FLAGS, FlagState, get_flag
from ladle.db.models import FeatureFlag
from ladle.messages.feature_flag_update import FeatureFlagUpdate

__all__ = ["update_feature_flag"]


def update_feature_flag(session: Session, name: str, update: FeatureFlagUpdate) -> FlagState:
    row = session.scalars(select(FeatureFlag).where(FeatureFlag.name == name)).first()
    if row is None:
        row = FeatureFlag(name=name, enabled=DEFAULT_FLAGS[name])
        session.add(row)
    if update.enabled is not None:
        row.enabled = update.enabled
    if update.changes_message:
        row.custom_error_message = update.custom_error_message
    session.commit()
    state = get_flag(session, name)
    assert state is not None
    return state
