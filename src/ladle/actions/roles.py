"""Give a user a role in an organization or space, and take it away again."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.jobs import add_job, start_job
from ladle.db.models import Job, Organization, Role, Space, User
from ladle.errors import CFError
from ladle.jobs.executor import Executor
from ladle.messages.role_create import RoleCreate

__all__ = ["create_org_role", "create_space_role", "request_role_delete"]

NOT_IN_ORG = "Users cannot be assigned roles in a space if they do not have a role in that space's organization."


def _user_by_name(session: Session, username: str, origin: str | None) -> User:
    stmt = select(User).where(User.username == username)
    if origin is not None:
        stmt = stmt.where(User.origin == origin)
    users = list(session.scalars(stmt))
    if not users:
        where = f" and origin '{origin}'" if origin is not None else ""
        raise CFError("UnprocessableEntity", f"No user exists with the username '{username}'{where}.")
    if len(users) > 1:
        origins = ", ".join(sorted(u.origin or "" for u in users))
        raise CFError(
            "UnprocessableEntity",
            f"Ambiguous user. User with username '{username}' exists in the following origins: {origins}. "
            "Specify an origin to disambiguate.",
        )
    return users[0]


def _insert(session: Session, role: Role, duplicate: str) -> Role:
    exists = session.scalar(
        select(Role.id).where(
            Role.type == role.type,
            Role.user_guid == role.user_guid,
            Role.space_guid.is_(None) if role.space_guid is None else Role.space_guid == role.space_guid,
            Role.organization_guid.is_(None)
            if role.organization_guid is None
            else Role.organization_guid == role.organization_guid,
        )
    )
    if exists is not None:
        raise CFError("UnprocessableEntity", duplicate)
    session.add(role)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise CFError("UnprocessableEntity", duplicate) from None
    return role


def create_space_role(session: Session, msg: RoleCreate, space: Space) -> Role:
    if msg.user_guid is not None:
        user = session.scalars(select(User).where(User.guid == msg.user_guid)).first()
        if user is None:
            raise CFError("UnprocessableEntity", NOT_IN_ORG)
    else:
        assert msg.username is not None
        try:
            user = _user_by_name(session, msg.username, msg.user_origin)
        except CFError:
            raise CFError("UnprocessableEntity", NOT_IN_ORG) from None
    org_member = session.scalar(
        select(Role.id).where(
            Role.user_guid == user.guid,
            Role.organization_guid == space.organization_guid,
            Role.type == "organization_user",
        )
    )
    if org_member is None:
        raise CFError("UnprocessableEntity", NOT_IN_ORG)
    name = user.username or user.guid
    return _insert(
        session,
        Role(type=msg.type, user_guid=user.guid, space_guid=space.guid),
        f"User '{name}' already has '{msg.type}' role in space '{space.name}'.",
    )


def create_org_role(session: Session, msg: RoleCreate, org: Organization) -> Role:
    if msg.user_guid is not None:
        user = session.scalars(select(User).where(User.guid == msg.user_guid)).first()
        if user is None:
            # Cloud Controller records users it is told about by guid (they live in UAA).
            user = User(guid=msg.user_guid)
            session.add(user)
            session.flush()
    else:
        assert msg.username is not None
        user = _user_by_name(session, msg.username, msg.user_origin)
    name = user.username or user.guid
    return _insert(
        session,
        Role(type=msg.type, user_guid=user.guid, organization_guid=org.guid),
        f"User '{name}' already has '{msg.type}' role in organization '{org.name}'.",
    )


def request_role_delete(session: Session, executor: Executor, role: Role, user_guid: str) -> Job:
    if role.type == "organization_user":
        in_spaces = session.scalar(
            select(Role.id)
            .join(Space, Space.guid == Role.space_guid)
            .where(Role.user_guid == role.user_guid, Space.organization_guid == role.organization_guid)
        )
        if in_spaces is not None:
            raise CFError(
                "UnprocessableEntity",
                "Cannot delete organization_user role while user has roles in spaces in that organization.",
            )
    job = add_job(session, "role.delete", resource_type="role", resource_guid=role.guid, user_guid=user_guid)
    return start_job(session, executor, job)
