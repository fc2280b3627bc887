"""The rules a process must satisfy once changed (Cloud Controller's model validations).

Cloud Controller checks these when it saves the process and answers 422 with Sequel's wording:
the column name, then the problem (``disk_quota too much disk requested ...``).
"""

from __future__ import annotations

from ladle.db.models import Process
from ladle.errors import CFError
from ladle.messages.process_update import is_uri_path

__all__ = ["MAX_HEALTH_CHECK_TIMEOUT", "PERMITTED_USERS", "check_process", "user_error"]

# Cloud Controller's ``maximum_health_check_timeout`` default.
MAX_HEALTH_CHECK_TIMEOUT = 180
# The users a process or task may run as: CC's default container user, and its (empty by
# default) ``additional_allowed_process_users``.
PERMITTED_USERS = ("vcap",)


def user_error(user: str | None) -> str | None:
    if not user or user.lower() in {u.lower() for u in PERMITTED_USERS}:
        return None
    allowed = ", ".join(f"'{u}'" for u in PERMITTED_USERS)
    return f"user invalid (requested user '{user}' not allowed, permitted users are: {allowed})"


def check_process(process: Process, max_disk_mb: int) -> None:
    problems: list[str] = []
    if process.disk_in_mb > max_disk_mb:
        problems.append(
            f"disk_quota too much disk requested (requested {process.disk_in_mb} MB"
            f" - must be less than {max_disk_mb} MB)"
        )
    timeout = process.health_check_timeout
    if timeout is not None and timeout > MAX_HEALTH_CHECK_TIMEOUT:
        problems.append(f"health_check_timeout Maximum exceeded: max {MAX_HEALTH_CHECK_TIMEOUT}s")
    if process.health_check_type == "http" and not is_uri_path(process.health_check_endpoint):
        problems.append(
            "health_check_http_endpoint HTTP health check endpoint is not a valid URI path: "
            f"{process.health_check_endpoint or ''}"
        )
    if process.readiness_health_check_type == "http" and not is_uri_path(process.readiness_health_check_endpoint):
        problems.append(
            "readiness_health_check_http_endpoint HTTP readiness health check endpoint is not a valid URI path: "
            f"{process.readiness_health_check_endpoint or ''}"
        )
    if message := user_error(process.user):
        problems.append(message)
    if problems:
        raise CFError("UnprocessableEntity", problems)
