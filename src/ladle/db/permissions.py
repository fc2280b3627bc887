"""Who may do what: Cloud Controller's permission predicates, for one caller in one request.

Global roles come from token scopes; organization and space roles from the roles table, loaded
once per request. Lists are filtered in SQL by the guids at the bottom (read once per request),
so a caller only ever pages through what they may read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Select, bindparam, select, union
from sqlalchemy.orm import Session

from ladle.auth.identity import ADMIN_READ_ONLY, BUILD_STATE_UPDATER, Identity
from ladle.db.models import Role, Space

__all__ = ["EVENT_SPACE_ROLES", "Permissions", "SpaceRef"]

EVENT_SPACE_ROLES = frozenset({"space_developer", "space_supporter", "space_auditor"})


# Built once: it runs on every request of a user without a global role.
_ROLES_OF_USER = (
    select(Role.type, Role.organization_guid, Role.space_guid, Space.organization_guid)
    .outerjoin(Space, Space.guid == Role.space_guid)
    .where(Role.user_guid == bindparam("user"))
)


@dataclass(frozen=True)
class SpaceRef:
    """Where a resource lives, which is all a permission check needs to know about it."""

    space_guid: str
    org_guid: str
    org_suspended: bool = False


class Permissions:
    def __init__(self, session: Session, identity: Identity) -> None:
        self.session = session
        self.identity = identity

    # --- global roles (scopes) -------------------------------------------------------------
    @property
    def is_admin(self) -> bool:
        return self.identity.is_admin

    @property
    def is_admin_read_only(self) -> bool:
        return self.identity.has(ADMIN_READ_ONLY)

    @property
    def reads_globally(self) -> bool:
        return self.identity.reads_globally

    @property
    def is_build_state_updater(self) -> bool:
        return self.identity.has(BUILD_STATE_UPDATER)

    # --- local roles ---------------------------------------------------------------------------
    @cached_property
    def _roles(self) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
        """(org guid -> org roles, space guid -> space roles, org guid -> roles held in its spaces)."""
        rows = self.session.execute(_ROLES_OF_USER, {"user": self.identity.user_guid}).all()
        org_roles: dict[str, set[str]] = {}
        space_roles: dict[str, set[str]] = {}
        roles_in_org_spaces: dict[str, set[str]] = {}
        for role_type, org_guid, space_guid, space_org_guid in rows:
            if space_guid is not None:
                space_roles.setdefault(space_guid, set()).add(role_type)
                roles_in_org_spaces.setdefault(space_org_guid, set()).add(role_type)
            elif org_guid is not None:
                org_roles.setdefault(org_guid, set()).add(role_type)
        return org_roles, space_roles, roles_in_org_spaces

    def org_roles(self, org_guid: str) -> set[str]:
        return self._roles[0].get(org_guid, set())

    def space_roles(self, space_guid: str) -> set[str]:
        return self._roles[1].get(space_guid, set())

    def has_any_space_role_in_org(self, org_guid: str) -> bool:
        return bool(self._roles[2].get(org_guid))

    # --- predicates ------------------------------------------------------------------------------
    def can_read_org(self, org_guid: str) -> bool:
        return self.reads_globally or bool(self.org_roles(org_guid)) or self.has_any_space_role_in_org(org_guid)

    def can_write_org(self, org_guid: str) -> bool:
        return self.is_admin or "organization_manager" in self.org_roles(org_guid)

    def can_read_from_space(self, ref: SpaceRef) -> bool:
        return (
            self.reads_globally
            or "organization_manager" in self.org_roles(ref.org_guid)
            or bool(self.space_roles(ref.space_guid))
        )

    def can_read_secrets_in_space(self, ref: SpaceRef) -> bool:
        return self.is_admin or self.is_admin_read_only or "space_developer" in self.space_roles(ref.space_guid)

    def can_write_to_space(self, ref: SpaceRef) -> bool:
        return self.is_admin or "space_developer" in self.space_roles(ref.space_guid)

    def can_manage_apps_in_space(self, ref: SpaceRef) -> bool:
        return self.is_admin or bool(self.space_roles(ref.space_guid) & {"space_developer", "space_supporter"})

    def can_read_env(self, ref: SpaceRef) -> bool:
        return (
            self.is_admin
            or self.is_admin_read_only
            or bool(self.space_roles(ref.space_guid) & {"space_developer", "space_supporter"})
        )

    def can_download_droplet(self, ref: SpaceRef) -> bool:
        return (
            self.reads_globally
            or "organization_manager" in self.org_roles(ref.org_guid)
            or bool(self.space_roles(ref.space_guid) & {"space_developer", "space_manager", "space_auditor"})
        )

    def can_read_routes_in_space(self, ref: SpaceRef) -> bool:
        """Routes are also visible to the auditors of their organization."""
        return self.can_read_from_space(ref) or "organization_auditor" in self.org_roles(ref.org_guid)

    def can_update_space(self, ref: SpaceRef) -> bool:
        return (
            self.is_admin
            or "organization_manager" in self.org_roles(ref.org_guid)
            or "space_manager" in self.space_roles(ref.space_guid)
        )

    def can_read_event(self, space_guid: str | None, org_guid: str | None) -> bool:
        """Cloud Controller shows an event to the developers, supporters and auditors of its space
        and the auditors of its organization (not to managers)."""
        if self.reads_globally:
            return True
        if space_guid is not None and self.space_roles(space_guid) & EVENT_SPACE_ROLES:
            return True
        return org_guid is not None and "organization_auditor" in self.org_roles(org_guid)

    # --- list filters --------------------------------------------------------------------------
    # The guids a caller may list are read first and handed to the list's query as values: the
    # planner then knows how few rows they select (a subquery's size it can only guess, and a
    # bad guess makes PostgreSQL walk a whole table in page order to find a page of one space).
    # A caller who may see more than this many gets the subquery, whose rows are many anyway.
    MOST_GUIDS = 1000

    def only_visible(self, guids: list[str], readable: Callable[[], list[str] | Select[tuple[str]]]) -> list[str]:
        """Those of ``guids`` the caller may see, ``readable`` being one of the list filters below."""
        if self.reads_globally:
            return guids
        visible = self.as_set(readable())
        return [guid for guid in guids if guid in visible]

    def as_set(self, guids: list[str] | Select[tuple[str]]) -> set[str]:
        """The guids one of the list filters below stands for, read if it is a query."""
        return set(guids) if isinstance(guids, list) else set(self.session.scalars(guids))

    def _guids(self, stmt: Select[tuple[str]]) -> list[str] | Select[tuple[str]]:
        guids = [str(guid) for guid in self.session.scalars(stmt.limit(self.MOST_GUIDS + 1))]
        return stmt if len(guids) > self.MOST_GUIDS else guids

    def _readable_space_guids_query(self) -> Select[tuple[str]]:
        user = self.identity.user_guid
        managed_orgs = select(Role.organization_guid).where(Role.user_guid == user, Role.type == "organization_manager")
        return select(
            union(
                select(Role.space_guid).where(Role.user_guid == user, Role.space_guid.is_not(None)),
                select(Space.guid).where(Space.organization_guid.in_(managed_orgs)),
            )
            .subquery()
            .c[0]
        )

    @cached_property
    def _readable_space_guids(self) -> list[str] | Select[tuple[str]]:
        return self._guids(self._readable_space_guids_query())

    def readable_space_guids(self) -> list[str] | Select[tuple[str]]:
        """Spaces whose contents the caller may list: a space role there, or org manager of its org."""
        return self._readable_space_guids

    @cached_property
    def _route_readable_space_guids(self) -> list[str] | Select[tuple[str]]:
        user = self.identity.user_guid
        audited = select(Role.organization_guid).where(Role.user_guid == user, Role.type == "organization_auditor")
        return self._guids(
            select(
                union(
                    self._readable_space_guids_query(),
                    select(Space.guid).where(Space.organization_guid.in_(audited)),
                )
                .subquery()
                .c[0]
            )
        )

    def route_readable_space_guids(self) -> list[str] | Select[tuple[str]]:
        """Spaces whose routes the caller may list: readable spaces, and every space of an org it audits."""
        return self._route_readable_space_guids

    @cached_property
    def _readable_org_guids(self) -> list[str] | Select[tuple[str]]:
        user = self.identity.user_guid
        return self._guids(
            select(
                union(
                    select(Role.organization_guid).where(Role.user_guid == user, Role.organization_guid.is_not(None)),
                    select(Space.organization_guid)
                    .join(Role, Role.space_guid == Space.guid)
                    .where(Role.user_guid == user),
                )
                .subquery()
                .c[0]
            )
        )

    def readable_org_guids(self) -> list[str] | Select[tuple[str]]:
        """Organizations the caller may see: any role in the org or in one of its spaces."""
        return self._readable_org_guids

    def event_space_guids(self) -> Select[Any]:
        """Spaces whose audit events the caller may list."""
        return select(Role.space_guid).where(
            Role.user_guid == self.identity.user_guid, Role.type.in_(EVENT_SPACE_ROLES)
        )

    def audited_org_guids(self) -> Select[Any]:
        return select(Role.organization_guid).where(
            Role.user_guid == self.identity.user_guid, Role.type == "organization_auditor"
        )
