"""The organization and space role types Cloud Controller knows."""

from __future__ import annotations

__all__ = ["ORG_ROLE_TYPES", "SPACE_ROLE_TYPES"]

ORG_ROLE_TYPES = (
    "organization_user",
    "organization_auditor",
    "organization_manager",
    "organization_billing_manager",
)
SPACE_ROLE_TYPES = ("space_developer", "space_manager", "space_auditor", "space_supporter")
