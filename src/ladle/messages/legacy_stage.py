"""The seeds' ``POST /v3/packages/:guid/droplets`` bodies, mapped onto a build.

Two historical forms are accepted: the 2016 one (``environment_variables``, ``lifecycle`` with
``data.buildpack`` or ``data.buildpacks``, ``staging_memory_in_mb``, ``staging_disk_in_mb``) and
the 2015 one (``buildpack_git_url`` or ``buildpack_guid``, ``stack``, ``memory_limit``,
``disk_limit``, ``staging_environment_variables``). As those documents say, variable names may
not start with ``VCAP_`` or ``CF_``, and ``PORT`` is not allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, is_int, unknown_fields
from ladle.messages.build_create import BuildCreate
from ladle.messages.lifecycle import LifecycleRequest

__all__ = ["LegacyStage", "parse_legacy_stage"]

MODERN_KEYS = ("environment_variables", "lifecycle", "staging_memory_in_mb", "staging_disk_in_mb")
OLD_KEYS = (
    "buildpack_git_url",
    "buildpack_guid",
    "stack",
    "memory_limit",
    "disk_limit",
    "staging_environment_variables",
)
_RESERVED = re.compile(r"\A(VCAP_|CF_)", re.IGNORECASE)


@dataclass(frozen=True)
class LegacyStage:
    buildpack_urls_or_names: list[str] | None
    buildpack_guid: str | None
    stack: str | None
    memory_mb: int | None
    disk_mb: int | None
    environment_variables: dict[str, str]

    def build_create(self, package_guid: str, package_type: str, buildpacks: list[str] | None) -> BuildCreate:
        """The build this request stands for; ``buildpacks`` are the names or URLs to stage with
        (the admin buildpack's name when the request named one by guid)."""
        data: dict[str, Any] = {}
        if buildpacks is not None:
            data["buildpacks"] = buildpacks
        if self.stack is not None:
            data["stack"] = self.stack
        lifecycle = None
        if package_type == "docker":
            lifecycle = LifecycleRequest("docker", {}) if data else None
        else:
            lifecycle = LifecycleRequest("buildpack", data)
        return BuildCreate(
            package_guid=package_guid,
            lifecycle=lifecycle,
            staging_memory_in_mb=self.memory_mb,
            staging_disk_in_mb=self.disk_mb,
            staging_log_rate_limit=None,
            environment_variables=self.environment_variables,
            metadata=None,
        )


def _env(value: Any, attribute: str, errors: Errors) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(attribute, "must be an object")
        return {}
    for key in value:
        name = str(key)
        if match := _RESERVED.match(name):
            errors.add(attribute, f"cannot start with {match.group(1).upper()}")
        elif name.upper() == "PORT":
            errors.add(attribute, "cannot set PORT")
    return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}


def _size(body: dict[str, Any], key: str, errors: Errors) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not is_int(value):
        errors.add(key, "must be an integer")
        return None
    if value <= 0:
        errors.add(key, "must be greater than 0")
        return None
    return int(value)


def parse_legacy_stage(body: dict[str, Any]) -> LegacyStage:
    errors = Errors()
    errors.base(unknown_fields(body, (*MODERN_KEYS, *OLD_KEYS)))
    buildpacks: list[str] | None = None
    stack = None
    lifecycle = body.get("lifecycle")
    if lifecycle is not None:
        if not isinstance(lifecycle, dict) or not isinstance(lifecycle.get("data", {}), dict):
            errors.add("lifecycle", "must be an object")
        else:
            if lifecycle.get("type", "buildpack") != "buildpack":
                errors.add("lifecycle_type", "is not included in the list: buildpack")
            data = lifecycle.get("data") or {}
            single, many = data.get("buildpack"), data.get("buildpacks")
            if single is not None:
                buildpacks = [str(single)]
            elif isinstance(many, list):
                buildpacks = [str(b) for b in many]
            stack = data.get("stack")
    git_url, guid = body.get("buildpack_git_url"), body.get("buildpack_guid")
    if git_url is not None and guid is not None:
        errors.add("buildpack_git_url", "cannot be used with buildpack_guid")
    if git_url is not None:
        buildpacks = [str(git_url)]
    stack = body.get("stack", stack)
    if stack is not None and not isinstance(stack, str):
        errors.add("stack", "must be a string")
    env = _env(body.get("environment_variables"), "environment_variables", errors)
    env.update(_env(body.get("staging_environment_variables"), "staging_environment_variables", errors))
    memory = _size(body, "staging_memory_in_mb", errors) or _size(body, "memory_limit", errors)
    disk = _size(body, "staging_disk_in_mb", errors) or _size(body, "disk_limit", errors)
    errors.raise_if_any()
    return LegacyStage(
        buildpacks,
        str(guid) if guid is not None else None,
        stack if isinstance(stack, str) else None,
        memory,
        disk,
        env,
    )
