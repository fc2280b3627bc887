"""App manifests (``POST /v3/spaces/:guid/actions/apply_manifest`` and ``manifest_diff``).

Cloud Controller reads every key through Rails' ``underscore`` at the app level and inside
``processes`` (``disk-quota`` is ``disk_quota``), ignores app-level keys it does not know (the
CLI sends ``path``), and reports every problem of every app at once, each prefixed with the app
it belongs to. Keys Cloud Controller honours that Ladle cannot honour yet are errors naming the
key, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ladle.errors import CFError, CFErrorList
from ladle.messages.base import Errors
from ladle.messages.environment import env_key_error
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.route import LOADBALANCING

__all__ = [
    "AppManifest",
    "ManifestInvalid",
    "ProcessManifest",
    "RouteManifest",
    "ServiceManifest",
    "parse_manifest",
    "parse_size_mb",
]

MAX_MANIFEST_BYTES = 1024 * 1024
MAX_COMMAND = 4096
MAX_HEALTH_CHECK_TIMEOUT = 180
MAX_INSTANCES = 2_000_000
HEALTH_CHECK_TYPES = ("port", "process", "http")
UNITS = "B, K, KB, M, MB, G, GB, T, or TB"
_SIZE = re.compile(r"\A\s*(-?\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*\Z")
_FACTORS = {
    "B": 1,
    "K": 1024,
    "KB": 1024,
    "M": 1024**2,
    "MB": 1024**2,
    "G": 1024**3,
    "GB": 1024**3,
    "T": 1024**4,
    "TB": 1024**4,
}
PROCESS_KEYS = (
    "type",
    "command",
    "user",
    "disk_quota",
    "memory",
    "instances",
    "log_rate_limit_per_second",
    "health_check_type",
    "health_check_http_endpoint",
    "health_check_invocation_timeout",
    "health_check_interval",
    "readiness_health_check_type",
    "readiness_health_check_http_endpoint",
    "readiness_health_check_invocation_timeout",
    "readiness_health_check_interval",
    "timeout",
)


class ManifestInvalid(CFErrorList):
    """Validation problems, each already worded as one error of the response."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__([CFError("UnprocessableEntity", m) for m in messages])
        self.messages = messages


@dataclass
class ProcessManifest:
    type: str
    # Only the keys the manifest gave; ``command`` may be None (reset to the detected one).
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteManifest:
    route: str
    protocol: str | None = None
    options: dict[str, Any] | None = None


@dataclass(frozen=True)
class ServiceManifest:
    """An instance to bind: by name, with an optional binding name and parameters."""

    name: str
    binding_name: str | None = None
    parameters: dict[str, Any] | None = None


@dataclass
class AppManifest:
    name: str
    raw: dict[str, Any]
    lifecycle: str | None = None  # "buildpack" or "docker" when the manifest says which
    buildpacks: list[str] | None = None
    stack: str | None = None
    docker_image: str | None = None
    docker_username: str | None = None
    env: dict[str, str] | None = None
    processes: list[ProcessManifest] = field(default_factory=list)
    routes: list[RouteManifest] | None = None
    default_route: bool = False
    random_route: bool = False
    no_route: bool = False
    metadata: MetadataUpdate | None = None
    services: list[ServiceManifest] = field(default_factory=list)


def _underscore(key: Any) -> Any:
    return key.replace("-", "_") if isinstance(key, str) else key


def parse_size_mb(value: Any) -> tuple[int | None, str | None]:
    """A memory or disk size with a unit, in whole MB (base 2, rounded down), or the problem."""
    text = str(value)
    match = _SIZE.match(text)
    if match is None:
        return None, "is not a number"
    number, unit = match.groups()
    if not unit:
        return None, f"must use a supported unit: {UNITS}"
    factor = _FACTORS.get(unit.upper())
    if factor is None:
        return None, f"must use a supported unit: {UNITS}"
    mb = int(float(number) * factor // 1024**2)
    if mb <= 0:
        return None, "must be greater than 0MB"
    return mb, None


def _load(body: bytes) -> Any:
    if len(body) > MAX_MANIFEST_BYTES:
        raise CFError("BadRequest", "Manifest size is too large. The maximum supported size is 1MB.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CFError("MessageParseError", "Invalid UTF-8 encoding in YAML data") from None
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise CFError("BadRequest", "Manifest does not support Anchors and Aliases")
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise CFError("MessageParseError", "invalid request body") from None


def _int_in(value: Any, low: int, high: int | None = None) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be an integer" if isinstance(value, float) else "is not a number"
    if value < low:
        return f"must be greater than or equal to {low}"
    if high is not None and value > high:
        return f"must be less than or equal to {high}"
    return None


def _process_values(entry: dict[str, Any], ptype: str, errors: list[str]) -> dict[str, Any]:
    """Validate one process's keys (underscored); problems are worded ``Process "<type>": ...``."""
    out: dict[str, Any] = {}

    def fail(message: str) -> None:
        errors.append(f'Process "{ptype}": {message}')

    if "command" in entry:
        command = entry["command"]
        if command in (None, "null", "default"):
            out["command"] = None
        elif not isinstance(command, str) or not 1 <= len(command) <= MAX_COMMAND:
            fail(f"Command must be between 1 and {MAX_COMMAND} characters")
        else:
            out["command"] = command
    if "user" in entry:
        user = entry["user"]
        if user is not None and (not isinstance(user, str) or not 1 <= len(user) <= 255):
            fail("User must be between 1 and 255 characters")
        else:
            out["user"] = user
    for key, label in (("memory", "Memory"), ("disk_quota", "Disk quota")):
        if key in entry:
            mb, problem = parse_size_mb(entry[key])
            if problem:
                fail(f"{label} {problem}")
            else:
                out[key] = mb
    if "instances" in entry:
        if problem := _int_in(entry["instances"], 0, MAX_INSTANCES):
            fail(f"Instances {problem}")
        else:
            out["instances"] = entry["instances"]
    if "log_rate_limit_per_second" in entry:
        value = entry["log_rate_limit_per_second"]
        if value in (-1, "-1"):
            out["log_rate_limit"] = -1
        elif value in (0, "0"):
            out["log_rate_limit"] = 0
        else:
            match = _SIZE.match(str(value))
            factor = _FACTORS.get(match.group(2).upper()) if match and match.group(2) else None
            if match is None or factor is None:
                fail(f"Log rate limit must use a supported unit: {UNITS}")
            else:
                out["log_rate_limit"] = int(float(match.group(1)) * factor)
    for prefix in ("health_check", "readiness_health_check"):
        label = "Health check" if prefix == "health_check" else "Readiness health check"
        if f"{prefix}_type" in entry:
            value = entry[f"{prefix}_type"]
            value = "process" if value == "none" else value
            if value not in HEALTH_CHECK_TYPES:
                fail(f'{label} type must be "port", "process", or "http"')
            else:
                out[f"{prefix}_type"] = value
        if f"{prefix}_http_endpoint" in entry:
            endpoint = entry[f"{prefix}_http_endpoint"]
            if not isinstance(endpoint, str) or not endpoint.startswith("/") or len(endpoint) > 255:
                fail(f"{label} http endpoint must be a valid URI path")
            else:
                out[f"{prefix}_endpoint"] = endpoint
        for key in ("invocation_timeout", "interval"):
            if f"{prefix}_{key}" in entry:
                if problem := _int_in(entry[f"{prefix}_{key}"], 1):
                    fail(f"{label} {key.replace('_', ' ')} {problem}")
                else:
                    out[f"{prefix}_{key}"] = entry[f"{prefix}_{key}"]
    if "timeout" in entry:
        timeout = entry["timeout"]
        if problem := _int_in(timeout, 1):
            fail(f"Timeout {problem}")
        elif timeout > MAX_HEALTH_CHECK_TIMEOUT:
            fail(f"Timeout Maximum exceeded: max {MAX_HEALTH_CHECK_TIMEOUT}s")
        else:
            out["health_check_timeout"] = timeout
    return out


def _parse_routes(raw: Any, errors: list[str]) -> list[RouteManifest] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        errors.append("Routes must be a list of route objects")
        return None
    out = []
    for item in raw:
        route = item.get("route")
        if not isinstance(route, str) or not route or " " in route:
            errors.append(f"The route '{route}' is not a properly formed URL")
            continue
        protocol = item.get("protocol")
        if protocol is not None and protocol not in ("http1", "http2", "tcp"):
            errors.append("Route protocol must be 'http1', 'http2' or 'tcp'.")
            continue
        extra = set(item) - {"route", "protocol", "options"}
        if extra:
            errors.append(
                f"Route '{route}' contains invalid route option '{sorted(extra)[0]}'. Valid keys: 'loadbalancing'"
            )
            continue
        options = item.get("options")
        if options is not None:
            if not isinstance(options, dict) or set(options) - {"loadbalancing"}:
                bad = sorted(set(options) - {"loadbalancing"})[0] if isinstance(options, dict) else "options"
                errors.append(f"Route '{route}' contains invalid route option '{bad}'. Valid keys: 'loadbalancing'")
                continue
            balancing = options.get("loadbalancing")
            if balancing is not None and balancing not in LOADBALANCING:
                errors.append(
                    f"Cannot use loadbalancing value '{balancing}' for Route '{route}'; "
                    f"Valid values are: '{', '.join(LOADBALANCING)}'"
                )
                continue
        out.append(RouteManifest(route, protocol, options))
    return out


def _env(raw: Any, errors: list[str]) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.append("Env must be an object of keys and values")
        return None
    out: dict[str, str] = {}
    for key, value in raw.items():
        if problem := env_key_error(key):
            errors.append(f"Env {problem}")
            continue
        # Ruby's to_s: true -> "true", nil -> "", numbers as written.
        if value is None:
            out[key] = ""
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, dict | list):
            errors.append(f"Env {key} must be a string")
        else:
            out[key] = str(value)
    return out


def _boolean(app: dict[str, Any], key: str, label: str, errors: list[str]) -> bool:
    value = app.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        errors.append(f"{label} must be a boolean")
        return False
    return value


def _not_supported(app: dict[str, Any], errors: list[str]) -> None:
    """Keys Cloud Controller acts on and Ladle cannot act on yet: say so by name."""
    if app.get("sidecars"):
        errors.append("Sidecars are not supported by Ladle yet (manifest key 'sidecars')")
    if app.get("features"):
        errors.append("App features are not supported by Ladle yet (manifest key 'features')")
    if app.get("lifecycle") == "cnb":
        errors.append("Cloud Native Buildpacks are not supported by Ladle yet (manifest key 'lifecycle: cnb')")


def _service_entry(entry: Any) -> ServiceManifest | None:
    """One ``services`` entry (a name, or ``{name, binding_name?, parameters?}``), if well formed."""
    if isinstance(entry, str):
        return ServiceManifest(entry)
    if not isinstance(entry, dict) or not set(entry) <= {"name", "binding_name", "parameters"}:
        return None
    name = entry.get("name")
    binding_name = entry.get("binding_name")
    parameters = entry.get("parameters")
    if not isinstance(name, str):
        return None
    if "binding_name" in entry and not isinstance(binding_name, str):
        return None
    if "parameters" in entry and not isinstance(parameters, dict):
        return None
    return ServiceManifest(name, binding_name or None, parameters)


def _parse_services(raw: Any, errors: list[str]) -> list[ServiceManifest]:
    if raw is None:
        return []
    entries = [_service_entry(e) for e in raw] if isinstance(raw, list) else [None]
    if any(e is None for e in entries):
        errors.append("Services must be a list of service instances")
        return []
    return [e for e in entries if e is not None]


def _parse_app(raw: dict[str, Any], errors: list[str]) -> AppManifest | None:
    app = {_underscore(k): v for k, v in raw.items()}
    name = app.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append("Name must not be empty")
        return None
    manifest = AppManifest(name=name.strip(), raw=raw)
    _not_supported(app, errors)
    if "buildpack" in app and "buildpacks" in app:
        errors.append("Buildpack and Buildpacks fields cannot be used together.")
    elif "buildpacks" in app:
        buildpacks = app["buildpacks"]
        if buildpacks is None:
            manifest.buildpacks = []
        elif not isinstance(buildpacks, list) or not all(isinstance(b, str) for b in buildpacks):
            errors.append("Buildpacks must be an array of strings")
        else:
            manifest.buildpacks = [b for b in buildpacks if b not in ("default", "null")]
    elif "buildpack" in app:
        buildpack = app["buildpack"]
        if buildpack is not None and not isinstance(buildpack, str):
            errors.append("Buildpack must be a string")
        else:
            manifest.buildpacks = [] if buildpack in (None, "default", "null", "") else [buildpack]
    if "stack" in app:
        if not isinstance(app["stack"], str):
            errors.append("Stack must be a string")
        else:
            manifest.stack = app["stack"]
    docker = app.get("docker")
    if docker is not None:
        if not isinstance(docker, dict) or not isinstance(docker.get("image"), str):
            errors.append("Docker must be an object with an image")
        elif "buildpack" in app or "buildpacks" in app:
            errors.append("Cannot specify both buildpack(s) and docker keys")
        else:
            manifest.lifecycle = "docker"
            manifest.docker_image = docker["image"]
            username = docker.get("username")
            manifest.docker_username = username if isinstance(username, str) else None
    lifecycle = app.get("lifecycle")
    if lifecycle is not None:
        if lifecycle not in ("buildpack", "docker", "cnb"):
            errors.append("Lifecycle must be 'buildpack', 'cnb', or 'docker'")
        elif lifecycle == "buildpack":
            manifest.lifecycle = manifest.lifecycle or "buildpack"
    manifest.env = _env(app.get("env"), errors)
    manifest.routes = _parse_routes(app.get("routes"), errors)
    manifest.no_route = _boolean(app, "no_route", "No-route", errors)
    manifest.default_route = _boolean(app, "default_route", "Default-route", errors)
    manifest.random_route = _boolean(app, "random_route", "Random-route", errors)
    if manifest.default_route and manifest.random_route:
        errors.append("Random-route and default-route may not be used together")
    if "metadata" in app:
        meta_errors = Errors()
        manifest.metadata = parse_metadata({"metadata": app["metadata"]}, meta_errors)
        errors.extend(meta_errors.messages)
    if "services" in app:
        manifest.services = _parse_services(app["services"], errors)
    _parse_processes(app, manifest, errors)
    return manifest


def _parse_processes(app: dict[str, Any], manifest: AppManifest, errors: list[str]) -> None:
    top = {k: v for k, v in app.items() if k in PROCESS_KEYS and k != "type"}
    processes = app.get("processes")
    entries: list[dict[str, Any]] = []
    if processes is not None:
        if not isinstance(processes, list) or not all(isinstance(p, dict) for p in processes):
            errors.append("Processes must be an array of process configurations")
            processes = []
        for raw in processes:
            entry = {_underscore(k): v for k, v in raw.items()}
            ptype = entry.get("type")
            if not isinstance(ptype, str) or not ptype:
                errors.append("All Processes must specify a type")
                continue
            if any(e["type"] == ptype for e in entries):
                errors.append(f'Process "{ptype}" may only be present once')
                continue
            extra = [k for k in entry if k not in PROCESS_KEYS]
            if extra:
                errors.append(f'Process "{ptype}": Unknown field(s): {", ".join(repr(k) for k in extra)}')
            entries.append(entry)
    web = next((e for e in entries if e["type"] == "web"), None)
    if top:
        # A web entry in processes overrides the top-level keys it names.
        merged = {**top, **(web or {}), "type": "web"}
        if web is None:
            entries.insert(0, merged)
        else:
            entries[entries.index(web)] = merged
    for entry in entries:
        manifest.processes.append(ProcessManifest(entry["type"], _process_values(entry, entry["type"], errors)))


def parse_manifest(body: bytes) -> list[AppManifest]:
    """The apps of a manifest, or :class:`ManifestInvalid` with every problem found."""
    document = _load(body)
    if not isinstance(document, dict):
        raise CFError("MessageParseError", "invalid request body")
    version = document.get("version", 1)
    if version not in (1, "1"):
        raise ManifestInvalid(["Unsupported manifest schema version. Currently supported versions: [1]."])
    apps = document.get("applications")
    if not isinstance(apps, list) or not apps:
        raise ManifestInvalid(["Cannot parse manifest with no 'applications' field."])
    problems: list[str] = []
    manifests: list[AppManifest] = []
    for index, raw in enumerate(apps):
        errors: list[str] = []
        parsed = _parse_app(raw, errors) if isinstance(raw, dict) else None
        if not isinstance(raw, dict):
            errors.append("Application must be an object")
        name = raw.get("name") if isinstance(raw, dict) else None
        prefix = (
            f"For application '{name}': " if isinstance(name, str) and name else f"For application at index {index}: "
        )
        problems.extend(prefix + e for e in errors)
        if parsed is not None:
            manifests.append(parsed)
    if problems:
        raise ManifestInvalid(problems)
    return manifests
