"""Creating domains (shared by an admin, private to an organization by its managers)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.metadata_update import apply_metadata
from ladle.actions.quota_checks import check_domain_quota
from ladle.config import Settings
from ladle.db.models import Domain
from ladle.errors import CFError
from ladle.messages.domain import DomainChange

__all__ = ["create_domain"]


def create_domain(session: Session, settings: Settings, change: DomainChange) -> Domain:
    if change.organization_guid is not None:
        check_domain_quota(session, change.organization_guid)
    domain = Domain(name=change.name, internal=change.internal, organization_guid=change.organization_guid)
    try:
        with session.begin_nested():
            session.add(domain)
            session.flush()
    except IntegrityError:
        raise CFError("UnprocessableEntity", f'The domain name "{change.name}" is already in use') from None
    apply_metadata(session, settings, "domain", domain.guid, change.metadata)
    session.commit()
    return domain
