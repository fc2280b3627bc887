"""A real docker registry (distribution's `docker-registry`) on a loopback port, and pushing test images to it.

Registries run open, behind htpasswd basic auth, or behind token auth served by tests/support/registry_token.py,
over plain http or (tls=True) https with a self-signed certificate. Images are pushed the way docker pushes them:
blobs through monolithic uploads, then the manifest, then any index over several platforms.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import ipaddress
import json
import secrets
import shutil
import subprocess
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.registry_token import SERVICE, RunningTokenServer, TokenIssuer, run_token_server
from tests.support.services import free_port, wait_until_serving

__all__ = [
    "REGISTRY_BINARY",
    "AuthMode",
    "Media",
    "Platform",
    "RunningRegistry",
    "blob_path",
    "image_config",
    "make_layer",
    "push_image",
    "push_index",
    "run_registry",
]

REGISTRY_BINARY = "docker-registry"
USERNAME = "ladle-tester"
PASSWORD = "correct horse battery staple"

AuthMode = Literal["none", "basic", "token"]
Platform = tuple[str, ...]  # (os, architecture) or (os, architecture, variant)
Media = Literal["oci", "docker"]

_MEDIA_TYPES: dict[str, dict[str, str]] = {
    "oci": {
        "index": "application/vnd.oci.image.index.v1+json",
        "manifest": "application/vnd.oci.image.manifest.v1+json",
        "config": "application/vnd.oci.image.config.v1+json",
        "layer": "application/vnd.oci.image.layer.v1.tar+gzip",
    },
    "docker": {
        "index": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifest": "application/vnd.docker.distribution.manifest.v2+json",
        "config": "application/vnd.docker.container.image.v1+json",
        "layer": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    },
}


@dataclass
class RunningRegistry:
    host: str  # "127.0.0.1:<port>", as it goes in an image reference
    url: str  # "http://127.0.0.1:<port>" (https with tls=True)
    auth: AuthMode
    storage: Path  # the filesystem driver's root, for tests that tamper with stored blobs
    username: str | None = None
    password: str | None = None
    token_url: str | None = None
    token_server: RunningTokenServer | None = None
    certificate: Path | None = None  # the self-signed certificate of a tls=True registry


@contextmanager
def run_registry(tmp_dir: Path, *, auth: AuthMode = "none", tls: bool = False) -> Iterator[RunningRegistry]:
    binary = shutil.which(REGISTRY_BINARY)
    if binary is None:
        raise RuntimeError(f"{REGISTRY_BINARY} is not installed (Debian package docker-registry)")
    tmp_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    storage = tmp_dir / "storage"
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
    }
    running = RunningRegistry(
        host=f"127.0.0.1:{port}", url=f"{'https' if tls else 'http'}://127.0.0.1:{port}", auth=auth, storage=storage
    )
    with ExitStack() as stack:
        if tls:
            running.certificate, key = _self_signed_certificate(tmp_dir)
            config["http"]["tls"] = {"certificate": str(running.certificate), "key": str(key)}
        if auth == "basic":
            # distribution 2.8 accepts htpasswd over plain http too; only bcrypt hashes are understood.
            htpasswd = tmp_dir / "htpasswd"
            htpasswd.write_text(f"{USERNAME}:{_bcrypt(PASSWORD)}\n")
            config["auth"] = {"htpasswd": {"realm": "ladle-test", "path": str(htpasswd)}}
            running.username, running.password = USERNAME, PASSWORD
        elif auth == "token":
            issuer = TokenIssuer()
            token_server = stack.enter_context(run_token_server(issuer, USERNAME, PASSWORD))
            config["auth"] = {
                "token": {
                    "realm": token_server.url,
                    "service": issuer.service,
                    "issuer": issuer.issuer,
                    "rootcertbundle": str(issuer.write_root_bundle(tmp_dir / "token-root.pem")),
                }
            }
            running.username, running.password = USERNAME, PASSWORD
            running.token_url, running.token_server = token_server.url, token_server
        config_path = tmp_dir / "config.yml"
        config_path.write_text(yaml.safe_dump(config))
        log_path = tmp_dir / "registry.log"
        log = stack.enter_context(log_path.open("wb"))
        process = subprocess.Popen([binary, "serve", str(config_path)], stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_serving(running, process, log_path)
            yield running
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(registry: RunningRegistry, process: subprocess.Popen[bytes], log: Path) -> None:
    wait_until_serving(
        f"{registry.url}/v2/", process, statuses=(200, 401), verify=False, log=lambda: log.read_text()[-2000:]
    )


def _bcrypt(password: str) -> str:
    try:
        import bcrypt
    except ImportError:
        htpasswd = shutil.which("htpasswd")
        if htpasswd is None:
            raise RuntimeError("basic-auth registries need the bcrypt module or htpasswd (apache2-utils)") from None
        line = subprocess.run([htpasswd, "-nbB", "-C", "4", "x", password], check=True, capture_output=True, text=True)
        return line.stdout.strip().partition(":")[2]
    # The lowest cost: the registry checks the password on every request.
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode("ascii")


def _self_signed_certificate(tmp_dir: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ladle test registry")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_dir / "registry.crt", tmp_dir / "registry.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


# -- images -------------------------------------------------------------------------------------------------


def make_layer(files: Mapping[str, bytes]) -> bytes:
    """A gzipped tar layer holding these files (path -> content), made reproducibly."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def image_config(
    container: Mapping[str, Any] | None = None,
    *,
    os: str = "linux",
    architecture: str = "amd64",
    layers: Sequence[bytes] = (),
) -> dict[str, Any]:
    """An image config JSON object; container is its "config" section (Entrypoint, Cmd, ExposedPorts, ...)."""
    diff_ids = ["sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest() for layer in layers]
    return {
        "architecture": architecture,
        "os": os,
        "created": "2024-01-01T00:00:00Z",
        "config": dict(container or {}),
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "ladle tests"} for _ in layers],
    }


def blob_path(registry: RunningRegistry, digest: str) -> Path:
    """Where the filesystem driver keeps a blob's bytes (distribution's on-disk layout)."""
    algorithm, _, hex_digest = digest.partition(":")
    return registry.storage / "docker/registry/v2/blobs" / algorithm / hex_digest[:2] / hex_digest / "data"


def push_image(
    registry: RunningRegistry,
    repository: str,
    tag: str,
    *,
    config: Mapping[str, Any],
    layers: Sequence[bytes] = (),
    media: Media = "oci",
) -> str:
    """Push one image; returns its manifest's digest."""
    with _Pusher(registry, repository) as pusher:
        return pusher.image(tag, config, layers, media)[0]


def push_index(
    registry: RunningRegistry,
    repository: str,
    tag: str,
    platforms: Mapping[Platform, Mapping[str, Any]],
    media: Media = "oci",
) -> str:
    """Push one image per (os, architecture[, variant]) and an index (manifest list) of them; returns its digest.

    Each image gets one small layer of its own so the platforms' manifests differ even with equal configs.
    """
    types = _MEDIA_TYPES[media]
    entries = []
    with _Pusher(registry, repository) as pusher:
        for platform_key, config in platforms.items():
            layer = make_layer({"platform": "/".join(platform_key).encode()})
            digest, size = pusher.image(None, config, [layer], media)
            platform = {"architecture": platform_key[1], "os": platform_key[0]}
            if len(platform_key) == 3:
                platform["variant"] = platform_key[2]
            entries.append({"mediaType": types["manifest"], "digest": digest, "size": size, "platform": platform})
        index = {"schemaVersion": 2, "mediaType": types["index"], "manifests": entries}
        return pusher.manifest(tag, json.dumps(index, indent=3).encode(), types["index"])[0]


class _Pusher:
    """One repository's pushes, authorised the way the registry asks (basic, or a push-scoped token)."""

    def __init__(self, registry: RunningRegistry, repository: str) -> None:
        self._registry = registry
        self._repository = repository
        self._http = httpx.Client(base_url=registry.url, verify=False, timeout=30)
        if registry.auth == "basic":
            assert registry.username is not None and registry.password is not None
            self._http.auth = httpx.BasicAuth(registry.username, registry.password)
        elif registry.auth == "token":
            assert registry.token_url is not None and registry.username is not None and registry.password is not None
            response = self._http.get(
                registry.token_url,
                params={"service": SERVICE, "scope": f"repository:{repository}:pull,push"},
                auth=httpx.BasicAuth(registry.username, registry.password),
            )
            response.raise_for_status()
            self._http.headers["Authorization"] = f"Bearer {response.json()['token']}"

    def __enter__(self) -> _Pusher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def image(
        self, tag: str | None, config: Mapping[str, Any], layers: Sequence[bytes], media: Media
    ) -> tuple[str, int]:
        types = _MEDIA_TYPES[media]
        config_bytes = json.dumps(config, separators=(",", ":")).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": types["manifest"],
            "config": {"mediaType": types["config"], "digest": self.blob(config_bytes), "size": len(config_bytes)},
            "layers": [
                {"mediaType": types["layer"], "digest": self.blob(layer), "size": len(layer)} for layer in layers
            ],
        }
        return self.manifest(tag, json.dumps(manifest, indent=3).encode(), types["manifest"])

    def blob(self, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        started = self._http.post(f"/v2/{self._repository}/blobs/uploads/")
        self._check(started, 202, "start a blob upload")
        location = started.headers["location"]
        separator = "&" if "?" in location else "?"
        finished = self._http.put(
            f"{location}{separator}digest={digest}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        self._check(finished, 201, f"upload blob {digest}")
        return digest

    def manifest(self, reference: str | None, body: bytes, media_type: str) -> tuple[str, int]:
        """PUT a manifest under a tag (or only by its digest); returns (digest, size) for descriptors."""
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        response = self._http.put(
            f"/v2/{self._repository}/manifests/{reference or digest}",
            content=body,
            headers={"Content-Type": media_type},
        )
        self._check(response, 201, f"push manifest {reference or digest}")
        assert response.headers.get("docker-content-digest") == digest
        return digest, len(body)

    def _check(self, response: httpx.Response, expected: int, what: str) -> None:
        if response.status_code != expected:
            raise RuntimeError(
                f"could not {what} to {self._registry.host}/{self._repository}: "
                f"HTTP {response.status_code} {response.text[:500]}"
            )
