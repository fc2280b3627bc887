"""What a node does to its data directory and database before it starts, and the admin user of
the embedded token server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ladle.auth.passwords import generate_password, hash_password, verify_password
from ladle.auth.tokens import ADMIN_USER_SCOPES
from ladle.config import Settings
from ladle.db import migrate
from ladle.db.models import Domain, Organization, OrganizationQuota, Stack, User
from ladle.db.quotas import DEFAULT_QUOTA_LIMITS, DEFAULT_QUOTA_NAME, default_organization_quota
from ladle.db.session import Database
from ladle.private_data import make_private

__all__ = ["ADMIN_PASSWORD_FILE", "ensure_admin", "ensure_default_domain", "ensure_default_stack", "prepare_database"]

ADMIN_PASSWORD_FILE = "admin-password"
ADMIN_USERNAME = "admin"


def prepare_database(settings: Settings, db: Database) -> None:
    make_private(settings.data_dir)
    migrate.upgrade(db.engine)
    ensure_default_stack(settings, db)
    ensure_default_domain(settings, db)
    ensure_default_quota(db)
    # The database file (and its journal) may have just been created: private too.
    for name in ("ladle.db", "ladle.db-wal", "ladle.db-shm"):
        path = settings.data_dir / name
        if path.exists() and not path.is_symlink():
            path.chmod(0o600)


def ensure_default_stack(settings: Settings, db: Database) -> None:
    with db.session() as s:
        if s.scalar(select(Stack.id).where(Stack.name == settings.default_stack)) is None:
            s.add(Stack(name=settings.default_stack, description="Ladle's default stack"))
            try:
                s.commit()
            except IntegrityError:
                s.rollback()  # another server created it at the same moment


def ensure_default_domain(settings: Settings, db: Database) -> None:
    """The shared domain apps get routes under, as Cloud Controller seeds its ``app_domains``."""
    with db.session() as s:
        if s.scalar(select(Domain.id).where(func.lower(Domain.name) == settings.apps_domain.lower())) is None:
            s.add(Domain(name=settings.apps_domain.lower()))
            try:
                s.commit()
            except IntegrityError:
                s.rollback()  # another server created it at the same moment


def ensure_default_quota(db: Database) -> None:
    """Cloud Controller's ``default`` organization quota, which every org without one gets."""
    with db.session() as s:
        quota = default_organization_quota(s)
        if quota is None:
            quota = OrganizationQuota(name=DEFAULT_QUOTA_NAME, **DEFAULT_QUOTA_LIMITS)
            s.add(quota)
            try:
                s.commit()
            except IntegrityError:
                s.rollback()  # another server created it at the same moment
                quota = default_organization_quota(s)
                assert quota is not None
        s.execute(update(Organization).where(Organization.quota_guid.is_(None)).values(quota_guid=quota.guid))
        s.commit()


def _write_secret(path: Path, secret: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    os.chmod(path, 0o600)


def ensure_admin(settings: Settings, db: Database) -> None:
    """Create the built-in ``admin`` user, or set its password to the configured one.

    Without ``LADLE_ADMIN_PASSWORD`` the first start makes up a password, prints it once and
    keeps it in the data directory (mode 0600); later starts leave it alone.
    """
    with db.session() as s:
        admin = s.scalars(select(User).where(User.username == ADMIN_USERNAME, User.origin == "uaa")).first()
        password = settings.admin_password
        if admin is not None:
            if password is not None and not verify_password(password, admin.password_hash):
                admin.password_hash = hash_password(password)
                s.commit()
            return
        generated = password is None
        if password is None:
            password = generate_password()
        s.add(
            User(
                username=ADMIN_USERNAME,
                origin="uaa",
                email=ADMIN_USERNAME,
                password_hash=hash_password(password),
                scopes=" ".join(ADMIN_USER_SCOPES),
            )
        )
        s.commit()
    if generated:
        path = settings.data_dir / ADMIN_PASSWORD_FILE
        _write_secret(path, password)
        print(
            f"Ladle created the user 'admin' with password: {password}\n(saved to {path}; it will not be shown again)",
            file=sys.stdout,
            flush=True,
        )
