"""The relational schema, one class per table, shared by SQLite, PostgreSQL and MySQL/MariaDB.

Rows reference each other by guid (as Cloud Controller does), so a presenter can show a
relationship without a join. The integer ``id`` gives the default (creation) order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, synonym

from ladle.clock import new_guid, utcnow
from ladle.db import dialects  # noqa: F401  (how DateTime and Text are spelled on MySQL)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# How long a token id may be: the revocation table's key.
JTI_LENGTH = 64


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Resource(Base):
    """Columns every API resource has."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)


class User(Resource):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("username", "origin", name="uq_users_username_origin"),)

    username: Mapped[str | None] = mapped_column(String(255))
    origin: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    # Only users of the embedded token server have a password; users first seen in a token do not.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Space-separated scopes the embedded token server grants this user.
    scopes: Mapped[str] = mapped_column(Text, default="")


class Organization(Resource):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(255))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    # The organization quota applied to it (every org has one; new orgs get the default quota).
    quota_guid: Mapped[str | None] = mapped_column(String(36), index=True)

    __table_args__ = (Index("ux_organizations_name", func.lower(name), unique=True),)


class Space(Resource):
    __tablename__ = "spaces"

    name: Mapped[str] = mapped_column(String(255))
    organization_guid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.guid", ondelete="CASCADE"), index=True
    )
    # The space quota applied to it, if any (one of its organization's space quotas).
    quota_guid: Mapped[str | None] = mapped_column(String(36), index=True)

    __table_args__ = (Index("ux_spaces_org_name", organization_guid, func.lower(name), unique=True),)


class Role(Resource):
    """An organization role (``space_guid`` NULL) or a space role (``organization_guid`` NULL)."""

    __tablename__ = "roles"

    type: Mapped[str] = mapped_column(String(64))
    user_guid: Mapped[str] = mapped_column(String(36), ForeignKey("users.guid", ondelete="CASCADE"), index=True)
    organization_guid: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("organizations.guid", ondelete="CASCADE"), index=True
    )
    space_guid: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("spaces.guid", ondelete="CASCADE"), index=True
    )

    # NULLs never collide in a unique index, so each kind of role gets its own partial index.
    __table_args__ = (
        Index(
            "ux_roles_org_role",
            "type",
            "user_guid",
            "organization_guid",
            unique=True,
            sqlite_where=space_guid.is_(None),
            postgresql_where=space_guid.is_(None),
        ),
        Index(
            "ux_roles_space_role",
            "type",
            "user_guid",
            "space_guid",
            unique=True,
            sqlite_where=space_guid.is_not(None),
            postgresql_where=space_guid.is_not(None),
        ),
    )


class Stack(Resource):
    __tablename__ = "stacks"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    build_rootfs_image: Mapped[str | None] = mapped_column(String(255))
    run_rootfs_image: Mapped[str | None] = mapped_column(String(255))


class App(Resource):
    __tablename__ = "apps"

    # Indexed for ``GET /v3/apps?names=`` (the unique index is over the lower-cased name).
    name: Mapped[str] = mapped_column(String(255), index=True)
    space_guid: Mapped[str] = mapped_column(String(36), ForeignKey("spaces.guid"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="STOPPED")
    lifecycle_type: Mapped[str] = mapped_column(String(16), default="buildpack")
    buildpacks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    stack: Mapped[str | None] = mapped_column(String(255))
    environment_variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    droplet_guid: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (Index("ux_apps_space_name", space_guid, func.lower(name), unique=True),)


class Process(Resource):
    __tablename__ = "processes"
    __table_args__ = (UniqueConstraint("app_guid", "type", name="uq_processes_app_type"),)

    app_guid: Mapped[str] = mapped_column(String(36), ForeignKey("apps.guid", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(36), default=new_guid)
    command: Mapped[str | None] = mapped_column(Text)
    user: Mapped[str | None] = mapped_column(String(255))
    instances: Mapped[int] = mapped_column(Integer, default=1)
    memory_in_mb: Mapped[int] = mapped_column(Integer)
    disk_in_mb: Mapped[int] = mapped_column(Integer)
    log_rate_limit: Mapped[int] = mapped_column(Integer, default=-1)
    health_check_type: Mapped[str] = mapped_column(String(16), default="port")
    health_check_timeout: Mapped[int | None] = mapped_column(Integer)
    health_check_invocation_timeout: Mapped[int | None] = mapped_column(Integer)
    health_check_interval: Mapped[int | None] = mapped_column(Integer)
    health_check_endpoint: Mapped[str | None] = mapped_column(Text)
    readiness_health_check_type: Mapped[str] = mapped_column(String(16), default="process")
    readiness_health_check_invocation_timeout: Mapped[int | None] = mapped_column(Integer)
    readiness_health_check_interval: Mapped[int | None] = mapped_column(Integer)
    readiness_health_check_endpoint: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="STOPPED")


class Package(Resource):
    """App source bits (a zip in the package blobstore, keyed by guid) or a docker image."""

    __tablename__ = "packages"

    app_guid: Mapped[str] = mapped_column(String(36), ForeignKey("apps.guid"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    sha1: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    docker_image: Mapped[str | None] = mapped_column(Text)
    docker_username: Mapped[str | None] = mapped_column(Text)
    docker_password: Mapped[str | None] = mapped_column(Text)


class Buildpack(Resource):
    """An admin buildpack: a zip in the buildpack blobstore, tried in ``position`` order."""

    __tablename__ = "buildpacks"

    name: Mapped[str] = mapped_column(String(250))
    stack: Mapped[str | None] = mapped_column(String(250))
    lifecycle: Mapped[str] = mapped_column(String(16), default="buildpack")
    position: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    filename: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    blob_key: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index("ux_buildpacks_identity", name, func.coalesce(stack, ""), lifecycle, unique=True),)


class Build(Resource):
    __tablename__ = "builds"

    app_guid: Mapped[str] = mapped_column(String(36), ForeignKey("apps.guid"), index=True)
    package_guid: Mapped[str | None] = mapped_column(String(36), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    error_id: Mapped[str | None] = mapped_column(String(255))
    error_description: Mapped[str | None] = mapped_column(Text)
    staging_memory_in_mb: Mapped[int] = mapped_column(Integer)
    staging_disk_in_mb: Mapped[int] = mapped_column(Integer)
    staging_log_rate_limit: Mapped[int] = mapped_column(BigInteger, default=-1)
    lifecycle_type: Mapped[str] = mapped_column(String(16))
    buildpacks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    stack: Mapped[str | None] = mapped_column(String(255))
    droplet_guid: Mapped[str | None] = mapped_column(String(36))
    created_by_guid: Mapped[str | None] = mapped_column(String(255))
    created_by_name: Mapped[str | None] = mapped_column(String(255))
    created_by_email: Mapped[str | None] = mapped_column(String(255))
    # Extra staging variables given with the request (not the app's own).
    environment_variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # Cloud Controller's "Only one build can be STAGING at a time per application", held by the
    # database so that two API processes creating builds at once cannot both pass the check (on
    # MySQL a generated column stands for the condition: see migration 0011).
    __table_args__ = (
        Index(
            "ux_builds_one_staging",
            "app_guid",
            unique=True,
            sqlite_where=text("state = 'STAGING'"),
            postgresql_where=text("state = 'STAGING'"),
        ),
    )


class Droplet(Resource):
    """The runnable result of staging (or an uploaded tarball, or a docker image)."""

    __tablename__ = "droplets"

    app_guid: Mapped[str] = mapped_column(String(36), ForeignKey("apps.guid"), index=True)
    package_guid: Mapped[str | None] = mapped_column(String(36), index=True)
    build_guid: Mapped[str | None] = mapped_column(String(36), unique=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    error_id: Mapped[str | None] = mapped_column(String(255))
    error_description: Mapped[str | None] = mapped_column(Text)
    lifecycle_type: Mapped[str] = mapped_column(String(16))
    stack: Mapped[str | None] = mapped_column(String(255))
    buildpack_receipts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    process_types: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    execution_metadata: Mapped[str] = mapped_column(Text, default="")
    sidecars: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sha1: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    # The sha256 of the droplet's tar stream before compression (``staging/droplet.py``): a
    # restage whose tree hashes the same takes this droplet's bits. None for uploaded droplets.
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    image: Mapped[str | None] = mapped_column(Text)
    docker_username: Mapped[str | None] = mapped_column(Text)
    docker_password: Mapped[str | None] = mapped_column(Text)


class LogLine(Base):
    """One line of staging output, kept for log-cache reads and live build streams."""

    __tablename__ = "log_lines"
    __table_args__ = (Index("ix_log_lines_source_time", "source_guid", "timestamp"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    source_guid: Mapped[str] = mapped_column(String(36))
    build_guid: Mapped[str | None] = mapped_column(String(36), index=True)
    # Nanoseconds since the epoch, unique and increasing per source (log-cache readers rely on it).
    timestamp: Mapped[int] = mapped_column(BigInteger)
    source_type: Mapped[str] = mapped_column(String(32), default="STG")
    instance_id: Mapped[str] = mapped_column(String(16), default="0")
    stream: Mapped[str] = mapped_column(String(3), default="OUT")
    message: Mapped[str] = mapped_column(Text)


class FeatureFlag(Resource):
    """An operator's override of a feature flag; flags without a row keep their default."""

    __tablename__ = "feature_flags"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    custom_error_message: Mapped[str | None] = mapped_column(Text)


class Job(Resource):
    """A unit of background work, readable through ``/v3/jobs/:guid``.

    The API inserts the row in PROCESSING; from then on only the worker running it writes it.
    """

    __tablename__ = "jobs"

    operation: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="PROCESSING", index=True)
    resource_type: Mapped[str | None] = mapped_column(String(64))
    resource_guid: Mapped[str | None] = mapped_column(String(36))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    user_guid: Mapped[str | None] = mapped_column(String(36))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Which worker holds the job and until when; another worker may take it after that.
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    # No longer set: uploads reach jobs through the blob store, so any node runs any job. The
    # column stays until a migration drops it.
    node: Mapped[str | None] = mapped_column(String(255))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    # When the job was last handed to a broker (a distributed executor): a job still unclaimed
    # long after is sent again, one never handed over (the broker was down) at the next sweep.
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime)


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (
        UniqueConstraint("resource_type", "resource_guid", "key_prefix", "key_name", name="uq_labels_key"),
        Index("ix_labels_lookup", "resource_type", "key_prefix", "key_name", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_guid: Mapped[str] = mapped_column(String(36), index=True)
    key_prefix: Mapped[str] = mapped_column(String(253), default="")
    key_name: Mapped[str] = mapped_column(String(63))
    value: Mapped[str | None] = mapped_column(String(63))


class Annotation(Base):
    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("resource_type", "resource_guid", "key_prefix", "key_name", name="uq_annotations_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_guid: Mapped[str] = mapped_column(String(36), index=True)
    # Annotation keys are only checked when their value is non-empty, so any text can arrive.
    key_prefix: Mapped[str] = mapped_column(Text, default="")
    key_name: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)


class RevokedToken(Base):
    """Tokens revoked before they expire (``DELETE /oauth/token/revoke/:jti``)."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(JTI_LENGTH), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class Domain(Resource):
    """A domain routes are made under: shared (no organization) or private to one organization."""

    __tablename__ = "domains"

    name: Mapped[str] = mapped_column(String(253))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    organization_guid: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("organizations.guid", ondelete="CASCADE"), index=True
    )

    __table_args__ = (Index("ux_domains_name", func.lower(name), unique=True),)


class Route(Resource):
    """``host.domain/path`` (or ``domain:port`` for TCP) owned by one space."""

    __tablename__ = "routes"

    host: Mapped[str] = mapped_column(String(63), default="")
    path: Mapped[str] = mapped_column(String(128), default="")
    port: Mapped[int | None] = mapped_column(Integer)
    protocol: Mapped[str] = mapped_column(String(16), default="http")
    domain_guid: Mapped[str] = mapped_column(String(36), ForeignKey("domains.guid"), index=True)
    space_guid: Mapped[str] = mapped_column(String(36), ForeignKey("spaces.guid"), index=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # Host names compare case-insensitively (as DNS does); paths do not.
    __table_args__ = (
        Index("ux_routes_identity", domain_guid, func.lower(host), path, func.coalesce(port, 0), unique=True),
        # For ``GET /v3/routes?hosts=``, which matches any case.
        Index("ix_routes_host_lower", func.lower(host)),
    )


class RouteDestination(Resource):
    """A route mapped to one process type of an app (on a port of its instances)."""

    __tablename__ = "route_destinations"
    __table_args__ = (
        UniqueConstraint("route_guid", "app_guid", "process_type", "port", name="uq_route_destinations_target"),
    )

    route_guid: Mapped[str] = mapped_column(String(36), ForeignKey("routes.guid", ondelete="CASCADE"), index=True)
    app_guid: Mapped[str] = mapped_column(String(36), ForeignKey("apps.guid", ondelete="CASCADE"), index=True)
    process_type: Mapped[str] = mapped_column(String(255), default="web")
    # None means the app's default port (8080, or a docker image's first exposed port).
    port: Mapped[int | None] = mapped_column(Integer)
    protocol: Mapped[str | None] = mapped_column(String(8))
    weight: Mapped[int | None] = mapped_column(Integer)


class Instance(Base):
    """One running (or starting, or crashed) instance of a process, as a runner observes it.

    Runners alone write these rows: it is the actual state, against the desired state of the
    processes. A row is claimed by the runner node that inserts it (the unique key makes two nodes
    racing for the same slot harmless) and kept alive by that node's heartbeat.
    """

    __tablename__ = "instances"
    __table_args__ = (UniqueConstraint("process_guid", "process_version", "index", name="uq_instances_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # A new guid every time the instance (re)starts, as Diego's instance guids.
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    process_guid: Mapped[str] = mapped_column(String(36), ForeignKey("processes.guid", ondelete="CASCADE"), index=True)
    app_guid: Mapped[str] = mapped_column(String(36), index=True)
    process_version: Mapped[str] = mapped_column(String(36))
    index: Mapped[int] = mapped_column(Integer)
    droplet_guid: Mapped[str | None] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(16), default="STARTING")
    since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Where the router reaches the instance's first port, and where it listens inside.
    host: Mapped[str] = mapped_column(String(64), default="")
    port: Mapped[int | None] = mapped_column(Integer)
    internal_ip: Mapped[str | None] = mapped_column(String(64))
    internal_port: Mapped[int | None] = mapped_column(Integer)
    routable: Mapped[bool] = mapped_column(Boolean, default=False)
    # A crash reason or a placement error, shown as the stats entry's ``details``.
    details: Mapped[str | None] = mapped_column(Text)
    crash_count: Mapped[int] = mapped_column(Integer, default=0)
    # Set by the API (``DELETE .../instances/:index``): the runner stops this instance and
    # starts a new one in its slot. The only column anything but a runner writes.
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    mem_quota: Mapped[int | None] = mapped_column(BigInteger)
    disk_quota: Mapped[int | None] = mapped_column(BigInteger)
    log_rate_limit: Mapped[int | None] = mapped_column(BigInteger)
    fds_quota: Mapped[int | None] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(255), index=True)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)


class Task(Resource):
    """A one-off command run from an app's droplet (``cf run-task``)."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("app_guid", "sequence_id", name="uq_tasks_app_sequence"),)

    app_guid: Mapped[str] = mapped_column(String(36), ForeignKey("apps.guid", ondelete="CASCADE"), index=True)
    sequence_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    command: Mapped[str] = mapped_column(Text)
    user: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), index=True)
    memory_in_mb: Mapped[int] = mapped_column(Integer)
    disk_in_mb: Mapped[int] = mapped_column(Integer)
    log_rate_limit: Mapped[int] = mapped_column(BigInteger, default=-1)
    droplet_guid: Mapped[str] = mapped_column(String(36))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # The runner node running it, once one has taken it.
    node: Mapped[str | None] = mapped_column(String(255))


class Deployment(Resource):
    """A rolling replacement of an app's web instances with a new droplet."""

    __tablename__ = "deployments"

    app_guid: Mapped[str] = mapped_column(String(36), ForeignKey("apps.guid", ondelete="CASCADE"), index=True)
    # ACTIVE or FINALIZED, and why (DEPLOYING, CANCELING, DEPLOYED, CANCELED, SUPERSEDED).
    status_value: Mapped[str] = mapped_column(String(16), index=True)
    status_reason: Mapped[str] = mapped_column(String(16))
    status_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_healthy_at: Mapped[datetime | None] = mapped_column(DateTime)
    strategy: Mapped[str] = mapped_column(String(16), default="rolling")
    max_in_flight: Mapped[int] = mapped_column(Integer, default=1)
    droplet_guid: Mapped[str | None] = mapped_column(String(36))
    previous_droplet_guid: Mapped[str | None] = mapped_column(String(36))
    process_guid: Mapped[str | None] = mapped_column(String(36))
    # The process version the deployment rolls instances onto.
    process_version: Mapped[str | None] = mapped_column(String(36))
    # The scaling options it was created with (already applied to the web process).
    web_instances: Mapped[int | None] = mapped_column(Integer)
    memory_in_mb: Mapped[int | None] = mapped_column(Integer)
    disk_in_mb: Mapped[int | None] = mapped_column(Integer)
    log_rate_limit: Mapped[int | None] = mapped_column(BigInteger)


class AuditEvent(Base):
    """Something that happened to a resource, for ``/v3/audit_events`` (``cf events``)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    actor_guid: Mapped[str | None] = mapped_column(String(255))
    actor_type: Mapped[str | None] = mapped_column(String(32))
    actor_name: Mapped[str | None] = mapped_column(String(255))
    target_guid: Mapped[str | None] = mapped_column(String(36), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_name: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    space_guid: Mapped[str | None] = mapped_column(String(36), index=True)
    organization_guid: Mapped[str | None] = mapped_column(String(36), index=True)
    # An event never changes: Cloud Controller shows (and filters and orders by) its time as both.
    updated_at: Mapped[datetime] = synonym("created_at")


class SystemBuildpack(Base):
    """One of Ladle's system buildpacks that was installed once (see actions/system_buildpacks.py).

    The row outlives the admin buildpack it made, so a restart does not bring back a buildpack an
    admin deleted; ``disabled_reason`` says when Ladle itself disabled it for a missing runtime.
    """

    __tablename__ = "system_buildpacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(250), unique=True)
    # The admin buildpack made for it (None when an admin buildpack of that name already existed).
    buildpack_guid: Mapped[str | None] = mapped_column(String(36))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ServiceInstance(Resource):
    """A service instance of a space. Only ``user-provided`` ones exist until brokers come:
    their credentials are whatever the user gave, handed to bound apps in ``VCAP_SERVICES``."""

    __tablename__ = "service_instances"
    __table_args__ = (UniqueConstraint("space_guid", "name", name="uq_service_instances_space_name"),)

    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="user-provided")
    space_guid: Mapped[str] = mapped_column(String(36), ForeignKey("spaces.guid", ondelete="CASCADE"), index=True)
    credentials: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    syslog_drain_url: Mapped[str | None] = mapped_column(Text)
    route_service_url: Mapped[str | None] = mapped_column(Text)
    # The last operation (always synchronous for user-provided instances): create or update.
    last_operation_type: Mapped[str] = mapped_column(String(16), default="create")
    last_operation_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ServiceBinding(Resource):
    """A service credential binding of type ``app``: an instance's credentials given to an app.

    A user-provided instance's credentials and drain URL are copied in when it is bound (and
    rewritten when the instance is updated), as Cloud Controller does."""

    __tablename__ = "service_bindings"
    __table_args__ = (UniqueConstraint("app_guid", "service_instance_guid", name="uq_service_bindings_app_instance"),)

    name: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(8), default="app")
    app_guid: Mapped[str] = mapped_column(String(36), ForeignKey("apps.guid", ondelete="CASCADE"), index=True)
    service_instance_guid: Mapped[str] = mapped_column(
        String(36), ForeignKey("service_instances.guid", ondelete="CASCADE"), index=True
    )
    credentials: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    syslog_drain_url: Mapped[str | None] = mapped_column(Text)


class EnvironmentVariableGroup(Base):
    """The ``running`` and ``staging`` variable groups every app gets (admins set them)."""

    __tablename__ = "environment_variable_groups"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    environment_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class QuotaLimits:
    """The limits organization and space quotas share; None is unlimited."""

    total_memory_in_mb: Mapped[int | None] = mapped_column(Integer)
    per_process_memory_in_mb: Mapped[int | None] = mapped_column(Integer)
    total_instances: Mapped[int | None] = mapped_column(Integer)
    per_app_tasks: Mapped[int | None] = mapped_column(Integer)
    log_rate_limit_in_bytes_per_second: Mapped[int | None] = mapped_column(BigInteger)
    paid_services_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    total_service_instances: Mapped[int | None] = mapped_column(Integer)
    total_service_keys: Mapped[int | None] = mapped_column(Integer)
    total_routes: Mapped[int | None] = mapped_column(Integer)
    total_reserved_ports: Mapped[int | None] = mapped_column(Integer)


class OrganizationQuota(QuotaLimits, Resource):
    """A named set of limits applied to organizations (``organizations.quota_guid``)."""

    __tablename__ = "organization_quotas"

    name: Mapped[str] = mapped_column(String(250))
    total_domains: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ux_organization_quotas_name", func.lower(name), unique=True),)


class SpaceQuota(QuotaLimits, Resource):
    """A named set of limits an organization applies to some of its spaces (``spaces.quota_guid``)."""

    __tablename__ = "space_quotas"

    name: Mapped[str] = mapped_column(String(250))
    organization_guid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.guid", ondelete="CASCADE"), index=True
    )

    __table_args__ = (Index("ux_space_quotas_org_name", organization_guid, func.lower(name), unique=True),)


class AppUsageEvent(Base):
    """A change in what an app consumes, for billing (``/v3/app_usage_events``); never updated."""

    __tablename__ = "app_usage_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # STARTED, STOPPED, BUILDPACK_SET, TASK_STARTED, TASK_STOPPED
    state: Mapped[str] = mapped_column(String(32))
    previous_state: Mapped[str | None] = mapped_column(String(32))
    app_guid: Mapped[str | None] = mapped_column(String(36))
    app_name: Mapped[str | None] = mapped_column(String(255))
    process_guid: Mapped[str | None] = mapped_column(String(36))
    process_type: Mapped[str | None] = mapped_column(String(255))
    space_guid: Mapped[str | None] = mapped_column(String(36))
    space_name: Mapped[str | None] = mapped_column(String(255))
    organization_guid: Mapped[str | None] = mapped_column(String(36))
    buildpack_guid: Mapped[str | None] = mapped_column(String(255))
    buildpack_name: Mapped[str | None] = mapped_column(Text)
    task_guid: Mapped[str | None] = mapped_column(String(36))
    task_name: Mapped[str | None] = mapped_column(String(255))
    memory_in_mb_per_instance: Mapped[int | None] = mapped_column(Integer)
    previous_memory_in_mb_per_instance: Mapped[int | None] = mapped_column(Integer)
    instance_count: Mapped[int | None] = mapped_column(Integer)
    previous_instance_count: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = synonym("created_at")


class HousekeepingLock(Base):
    """One row per periodic task: which node runs it now and when it last ran, so each runs
    once per interval across every node sharing the database."""

    __tablename__ = "housekeeping_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(255))
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    held_until: Mapped[datetime | None] = mapped_column(DateTime)
