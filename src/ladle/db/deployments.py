"""Queries over deployments."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.apps import readable
from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import App, Deployment
from ladle.db.permissions import Permissions
from ladle.messages.lists import ListParams

__all__ = [
    "ACTIVE",
    "FINALIZED",
    "active_deployment",
    "deployment_state",
    "deployments_page",
    "is_deploying",
]

ACTIVE = "ACTIVE"
FINALIZED = "FINALIZED"
# Reasons of an ACTIVE deployment that is still moving forward (Cloud Controller's
# PROGRESSING_STATES); CANCELING is active too, but going back.
PROGRESSING_REASONS = ("DEPLOYING", "PAUSED")


def active_deployment(session: Session, app_guid: str) -> Deployment | None:
    return session.scalars(
        select(Deployment)
        .where(Deployment.app_guid == app_guid, Deployment.status_value == ACTIVE)
        .order_by(Deployment.id.desc())
    ).first()


def is_deploying(session: Session, app_guid: str) -> bool:
    """Whether a deployment is rolling the app forward (scaling and updating web then wait)."""
    found = session.scalar(
        select(Deployment.id).where(
            Deployment.app_guid == app_guid,
            Deployment.status_value == ACTIVE,
            Deployment.status_reason.in_(PROGRESSING_REASONS),
        )
    )
    return found is not None


def deployment_state(deployment: Deployment) -> str:
    """Cloud Controller's ``state`` column, derived from the status: a superseded deployment
    counts as DEPLOYED (CC records CANCELED only when it was canceling at the time)."""
    reason = deployment.status_reason
    if reason == "SUPERSEDED":
        return "DEPLOYED"
    return reason


def _states_to_reasons(states: list[str]) -> list[str]:
    reasons = [s for s in states if s in {"DEPLOYING", "PAUSED", "CANCELING", "DEPLOYED", "CANCELED"}]
    if "DEPLOYED" in states:
        reasons.append("SUPERSEDED")
    return reasons


def deployments_page(session: Session, perms: Permissions, params: ListParams) -> Page[Deployment]:
    stmt = readable(select(Deployment).join(App, App.guid == Deployment.app_guid), perms, App.space_guid)
    stmt = filter_common(stmt, Deployment, params, "deployment")
    arrays = params.arrays
    if "app_guids" in arrays:
        stmt = stmt.where(Deployment.app_guid.in_(arrays["app_guids"]))
    if "states" in arrays:
        stmt = stmt.where(Deployment.status_reason.in_(_states_to_reasons(arrays["states"])))
    if "status_reasons" in arrays:
        stmt = stmt.where(Deployment.status_reason.in_(arrays["status_reasons"]))
    if "status_values" in arrays:
        stmt = stmt.where(Deployment.status_value.in_(arrays["status_values"]))
    return paginate(session, stmt, Deployment, params)
