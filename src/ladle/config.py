"""Ladle's settings: one typed object, built once at start-up from flags and ``LADLE_*`` variables.

No other module reads the environment. Whatever needs a setting receives this object (or the
one value it needs) from its caller.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BLOBSTORES", "BLOB_KINDS", "EXECUTORS", "ConfigError", "Settings", "default_data_dir"]

GIB = 1024 * 1024 * 1024
# The backends each part can be built with (ladle.services picks them).
BLOBSTORES = ("local", "s3")
EXECUTORS = ("inprocess", "celery")
# The kinds of blob, each a store of its own (a bucket, or a prefix of one).
BLOB_KINDS = ("packages", "droplets", "buildpacks", "resources", "buildpack_cache", "uploads")


class ConfigError(ValueError):
    """A setting has a value Ladle cannot use."""


def default_data_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ladle"


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"not a boolean: {value!r}")


@dataclass(frozen=True)
class Settings:
    """Every knob Ladle has. Field names match the ``LADLE_<NAME>`` environment variables."""

    host: str = "127.0.0.1"
    port: int = 8080
    # The router (apps' traffic): its own port, apart from the API.
    # Run the router next to the API (``ladle serve``); off for nodes that only serve the API.
    router_enabled: bool = True
    router_host: str = "127.0.0.1"
    router_port: int = 8081
    # Seconds between checks of the route table's version.
    router_poll_interval: float = 0.2
    data_dir: Path = field(default_factory=lambda: default_data_dir(os.environ))
    database_url: str = ""
    # Connections each process keeps open to PostgreSQL (it may open twice as many more under
    # load): N API processes and M workers need (N + M) x 3 x this below max_connections.
    database_pool_size: int = 10
    external_url: str = ""
    admin_password: str | None = None
    # Verify tokens of an external UAA (its /token_keys) instead of running the embedded one.
    uaa_url: str | None = None
    # The embedded token server's RSA key (default: in the data directory, made on first start).
    # Every API process of one deployment must use the same key.
    token_signing_key_file: Path | None = None
    access_token_ttl: int = 7200
    refresh_token_ttl: int = 30 * 24 * 3600
    job_workers: int = 4
    # Hostile clients: the request line and headers together may not exceed max_header_bytes (431)
    # and must arrive within header_timeout seconds of a connection opening or a request starting
    # (else the connection is closed); an idle keep-alive connection closes after keep_alive_timeout.
    # A request body must keep arriving: no gap longer than body_timeout seconds, and after that
    # long an average of at least body_min_rate bytes a second (else 408).
    max_header_bytes: int = 64 * 1024
    header_timeout: float = 20.0
    keep_alive_timeout: int = 5
    body_timeout: float = 60.0
    body_min_rate: int = 1024
    # Where blobs are kept ("local": files under the data directory).
    blobstore: str = "local"
    # S3 (blobstore "s3"): the endpoint (empty: AWS), region and credentials (empty: boto3's own
    # chain: environment, ~/.aws, instance role).
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    # "auto", "path" (most S3-compatible servers) or "virtual".
    s3_addressing_style: str = "auto"
    # One bucket holding every kind under "<s3_prefix><kind>/" ...
    s3_bucket: str = ""
    s3_prefix: str = ""
    # ... and/or a bucket per kind, "kind=bucket" pairs (kinds: packages, droplets, buildpacks,
    # resources, buildpack_cache, uploads), e.g. "packages=cc-packages,droplets=cc-droplets".
    s3_buckets: tuple[str, ...] = ()
    # Create missing buckets at start-up (development and tests; production buckets are made
    # by whoever owns the account).
    s3_create_buckets: bool = False
    # Downloads: "redirect" (a pre-signed URL, as Cloud Controller does) or "stream" (the API
    # streams the bytes, for clients that cannot reach the S3 endpoint).
    s3_download: str = "redirect"
    s3_presign_ttl: int = 3600
    # Multipart uploads: part size (at least 5 MiB) and parts sent at once.
    s3_part_size: int = 16 * 1024 * 1024
    s3_parallel: int = 4
    # What runs jobs ("inprocess": threads of the server; "celery": workers fed by a broker).
    executor: str = "inprocess"
    # Celery: the broker (redis://host:port/db or amqp://user:pass@host:port/vhost) and the
    # prefix of Ladle's queue names ("<prefix>.staging", "<prefix>.default").
    broker_url: str = ""
    celery_queue_prefix: str = "ladle"
    # How long a job's claim lasts without renewal: a worker that dies is noticed this late.
    job_lease_seconds: int = 60
    # Seconds between sweeps for jobs nobody runs (lost on the way, or their worker died).
    job_sweep_interval: float = 10.0
    # A job the broker took but no worker claimed this long after is sent again (the broker may
    # have lost it); a second delivery runs nothing twice.
    job_requeue_seconds: int = 300
    log_level: str = "info"
    # "auto": plain text when stderr is a terminal (a person reading), JSON lines otherwise.
    log_format: str = "auto"
    default_stack: str = "cflinuxfs4"
    # The shared domain apps get routes under by default; "*.localhost" names resolve to loopback
    # in browsers and curl, so routes work on a laptop with no DNS set up.
    apps_domain: str = "apps.localhost"
    default_app_memory_mb: int = 1024
    default_app_disk_mb: int = 1024
    default_app_log_rate_limit: int = -1
    max_labels_per_resource: int = 50
    max_annotations_per_resource: int = 200
    max_total_results: int | None = None
    max_package_size: int = GIB
    # Files the resource pool caches and matches (Cloud Controller's defaults).
    resource_pool_min_size: int = 65536
    resource_pool_max_size: int = 536870912
    # An archive may expand at most this many times once it holds more than 64 MiB.
    max_compression_ratio: int = 200
    # Staging: a staging is killed after this many seconds; a build still STAGING this much
    # later than that (its worker died) is failed by the sweep.
    staging_timeout: int = 900
    staging_timeout_grace: int = 300
    staging_min_memory_mb: int = 1024
    staging_min_disk_mb: int = 4096
    max_app_disk_mb: int = 2048
    # Run user code (buildpack scripts) in the sandbox. Without bubblewrap Ladle refuses to run
    # it, unless this is turned off: then it runs as plain processes of Ladle's own user.
    staging_isolation: bool = True
    # The host uid and gid user code runs as when Ladle runs as root (gid defaults to the uid).
    # They should own nothing on the host.
    sandbox_uid: int = 2_000_000_000
    sandbox_gid: int | None = None
    # The sandbox's network: "isolated" (its own namespace, egress under the rules below),
    # "none" (its own namespace, no egress) or "host" (the host's network: no protection).
    sandbox_network: str = "isolated"
    # Cloud Foundry's default security groups: egress anywhere but these ranges (and the host's
    # own addresses), DNS anywhere. Allowed networks are let through before any refusal.
    sandbox_denied_networks: tuple[str, ...] = (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
    )
    sandbox_allowed_networks: tuple[str, ...] = ()
    # Install Ladle's system buildpacks (staticfile, ruby, nodejs, go, python, binary) as admin
    # buildpacks on the first start; see actions/system_buildpacks.py.
    system_buildpacks: bool = True
    # Staging log lines kept per app (older ones are pruned).
    max_log_lines_per_app: int = 10000
    # Uploaded droplets: the largest upload, and how much its files may add up to.
    max_droplet_size: int = 4 * GIB
    max_droplet_expanded_size: int = 16 * GIB
    # After each successful staging an app keeps this many of its newest packages and droplets
    # (besides the current droplet and its package); older ones expire and their blobs go.
    max_retained_packages: int = 5
    max_retained_droplets: int = 5
    # Registries ("host" or "host:port", comma-separated) reached without TLS verification,
    # falling back to plain HTTP, as Cloud Foundry's insecure_docker_registry_list. A registry on
    # a loopback, link-local or private address is reached only if it is listed here or below.
    insecure_docker_registries: tuple[str, ...] = ()
    private_docker_registries: tuple[str, ...] = ()
    # The most a docker image may download (its layers, compressed) and unpack to (its files), each.
    max_docker_image_size: int = 4 * GIB
    # Which runner runs app instances and tasks: "local" (this machine) or "none" (a node that only
    # serves the API and stages).
    runner: str = "local"
    # Re-raise unexpected exceptions instead of answering UnknownError (tests want the traceback).
    debug: bool = False

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ladle.db'}"

    @property
    def effective_external_url(self) -> str:
        url = self.external_url or f"http://{self.host}:{self.port}"
        return url.rstrip("/")

    @property
    def max_upload_size(self) -> int:
        """The largest request body an upload may have: a zip of the largest package allowed,
        with room for incompressible content and the archive's own structures."""
        return self.max_package_size + self.max_package_size // 10 + 16 * 1024 * 1024

    @property
    def node_id(self) -> str:
        """This host and data directory, in characters safe in file names and keys."""
        host = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"
        return f"{host}-{hashlib.sha1(str(self.data_dir).encode()).hexdigest()[:8]}"

    @property
    def blobstore_root(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def scratch_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def token_server_url(self) -> str:
        """Where clients log in: an external UAA if configured, else our own port."""
        return (self.uaa_url or self.effective_external_url).rstrip("/")

    def s3_locations(self) -> dict[str, tuple[str, str]]:
        """Each kind of blob's (bucket, key prefix) under the s3_* settings."""
        named: dict[str, str] = {}
        for pair in self.s3_buckets:
            kind, sep, bucket = pair.partition("=")
            if not sep or kind.strip() not in BLOB_KINDS or not bucket.strip():
                raise ConfigError(f"s3_buckets: expected kind=bucket with a kind of {', '.join(BLOB_KINDS)}: {pair!r}")
            named[kind.strip()] = bucket.strip()
        locations: dict[str, tuple[str, str]] = {}
        for kind in BLOB_KINDS:
            if kind in named:
                locations[kind] = (named[kind], self.s3_prefix)
            elif self.s3_bucket:
                locations[kind] = (self.s3_bucket, f"{self.s3_prefix}{kind}/")
            else:
                raise ConfigError(f"blobstore 's3' needs s3_bucket or a bucket for {kind} in s3_buckets")
        return locations

    @classmethod
    def from_sources(cls, env: Mapping[str, str], **overrides: Any) -> Settings:
        """Build settings from ``LADLE_*`` variables, then apply explicit overrides (CLI flags).

        Overrides whose value is ``None`` are ignored, so unset flags leave the environment in charge.
        """
        values: dict[str, Any] = {"data_dir": default_data_dir(env)}
        for f in dataclasses.fields(cls):
            raw = env.get(f"LADLE_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        for key, value in overrides.items():
            if value is not None:
                values[key] = value
        settings = cls(**values)
        settings.validate()
        return settings

    @property
    def build_cache_dir(self) -> Path:
        """Admin buildpacks unpacked once, shared by stagings."""
        return self.data_dir / "cache" / "buildpacks"

    def validate(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"port out of range: {self.port}")
        if not 0 <= self.router_port < 65536:
            raise ConfigError(f"router_port out of range: {self.router_port}")
        if not 0 < self.router_poll_interval <= 60:
            raise ConfigError("router_poll_interval must be between 0 and 60 seconds")
        if self.database_pool_size < 1:
            raise ConfigError("database_pool_size must be at least 1")
        if self.max_header_bytes < 1024:
            raise ConfigError("max_header_bytes must be at least 1024")
        if self.header_timeout <= 0 or self.body_timeout <= 0 or self.keep_alive_timeout < 1:
            raise ConfigError("header_timeout, body_timeout and keep_alive_timeout must be positive")
        if self.job_workers < 1:
            raise ConfigError("job_workers must be at least 1")
        if self.blobstore not in BLOBSTORES:
            raise ConfigError(f"blobstore must be one of {', '.join(BLOBSTORES)}")
        if self.executor not in EXECUTORS:
            raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}")
        if self.blobstore == "s3":
            self.s3_locations()
            if self.s3_download not in {"redirect", "stream"}:
                raise ConfigError("s3_download must be 'redirect' or 'stream'")
            if self.s3_part_size < 5 * 1024 * 1024:
                raise ConfigError("s3_part_size must be at least 5 MiB (5242880)")
            if self.s3_parallel < 1:
                raise ConfigError("s3_parallel must be at least 1")
        if self.executor == "celery" and not self.broker_url:
            raise ConfigError("executor 'celery' needs broker_url (redis://... or amqp://...)")
        if self.job_lease_seconds < 3 or self.job_sweep_interval <= 0:
            raise ConfigError("job_lease_seconds must be at least 3 and job_sweep_interval positive")
        if self.runner not in {"local", "none"}:
            raise ConfigError("runner must be 'local' or 'none'")
        if self.log_format not in {"auto", "json", "text"}:
            raise ConfigError("log_format must be 'auto', 'json' or 'text'")
        if self.max_package_size < 1:
            raise ConfigError("max_package_size must be positive")
        if self.max_retained_packages < 1 or self.max_retained_droplets < 1:
            raise ConfigError("max_retained_packages and max_retained_droplets must be at least 1")
        if self.sandbox_network not in {"isolated", "none", "host"}:
            raise ConfigError("sandbox_network must be 'isolated', 'none' or 'host'")
        if not 0 < self.sandbox_uid < 2**32 - 1 or not 0 < (self.sandbox_gid or 1) < 2**32 - 1:
            raise ConfigError("sandbox_uid and sandbox_gid must be between 1 and 4294967294")
        for name in ("sandbox_denied_networks", "sandbox_allowed_networks"):
            for value in getattr(self, name):
                try:
                    ipaddress.ip_network(value, strict=False)
                except ValueError:
                    raise ConfigError(f"{name}: not a network address: {value!r}") from None


def _convert(name: str, annotation: object, raw: str) -> Any:
    converters: dict[str, Callable[[str], Any]] = {
        "int": int,
        "float": float,
        "int | None": lambda v: int(v) if v else None,
        "bool": _bool,
        "Path": lambda v: Path(v).expanduser(),
        "Path | None": lambda v: Path(v).expanduser() if v else None,
        "str | None": lambda v: v or None,
        "str": str,
        "tuple[str, ...]": lambda v: tuple(item.strip() for item in v.split(",") if item.strip()),
    }
    converter = converters.get(str(annotation))
    if converter is None:
        raise ConfigError(f"no converter for setting {name}")
    try:
        return converter(raw)
    except ValueError as exc:
        raise ConfigError(f"LADLE_{name.upper()}: {exc}") from None
