"""Queries over roles and users."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from ladle.auth.roles import ORG_ROLE_TYPES
from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import Role, User
from ladle.db.permissions import Permissions
from ladle.messages.lists import ListParams

__all__ = [
    "readable_role",
    "readable_roles",
    "readable_user",
    "readable_users",
    "roles_page",
    "users_by_guid",
    "users_page",
]


def readable_roles(perms: Permissions) -> Select[Role]:
    """Roles in spaces the caller may read, and org roles of orgs they belong to."""
    stmt = select(Role)
    if perms.reads_globally:
        return stmt
    member_orgs = select(Role.organization_guid).where(
        Role.user_guid == perms.identity.user_guid, Role.type.in_(ORG_ROLE_TYPES)
    )
    return stmt.where(or_(Role.space_guid.in_(perms.readable_space_guids()), Role.organization_guid.in_(member_orgs)))


def roles_page(session: Session, perms: Permissions, params: ListParams) -> Page[Role]:
    stmt = filter_common(readable_roles(perms), Role, params, None)
    arrays = params.arrays
    if "types" in arrays:
        stmt = stmt.where(Role.type.in_(arrays["types"]))
    if "user_guids" in arrays:
        stmt = stmt.where(Role.user_guid.in_(arrays["user_guids"]))
    if "space_guids" in arrays:
        stmt = stmt.where(Role.space_guid.in_(arrays["space_guids"]))
    if "organization_guids" in arrays:
        stmt = stmt.where(Role.organization_guid.in_(arrays["organization_guids"]))
    return paginate(session, stmt, Role, params, default_order=[Role.created_at])


def readable_users(perms: Permissions) -> Select[User]:
    """Everyone for global readers; otherwise yourself and members of orgs you belong to."""
    stmt = select(User)
    if perms.reads_globally:
        return stmt
    me = perms.identity.user_guid
    my_orgs = select(Role.organization_guid).where(Role.user_guid == me, Role.type.in_(ORG_ROLE_TYPES))
    members = select(Role.user_guid).where(Role.organization_guid.in_(my_orgs))
    return stmt.where(or_(User.guid == me, User.guid.in_(members)))


def users_page(session: Session, perms: Permissions, params: ListParams) -> Page[User]:
    stmt = filter_common(readable_users(perms), User, params, "user")
    arrays = params.arrays
    if "usernames" in arrays:
        stmt = stmt.where(User.username.in_(arrays["usernames"]))
    if "partial_usernames" in arrays:
        stmt = stmt.where(or_(*(User.username.contains(p, autoescape=True) for p in arrays["partial_usernames"])))
    if "origins" in arrays:
        stmt = stmt.where(User.origin.in_(arrays["origins"]))
    return paginate(session, stmt, User, params)


def users_by_guid(session: Session, guids: set[str]) -> list[User]:
    return list(session.scalars(select(User).where(User.guid.in_(guids)).order_by(User.created_at, User.guid)))


def readable_role(session: Session, perms: Permissions, guid: str) -> Role | None:
    return session.scalars(readable_roles(perms).where(Role.guid == guid)).first()


def readable_user(session: Session, perms: Permissions, guid: str) -> User | None:
    return session.scalars(readable_users(perms).where(User.guid == guid)).first()
