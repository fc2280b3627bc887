"""Reading an image from a registry over the OCI distribution API, the way `docker pull` would find it.

Staging reads only metadata (manifests and the config blob): that is all a docker app needs to be staged. The
runner also streams the layers (:meth:`ImageReader.download_blob`) through the same session, so the same
authentication, insecure-registry and address rules apply. Everything read is bounded in size and checked against
its digest, since the registry is not trusted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import httpx

from ladle.docker.address_guard import PrivateAddressRefused, guarded_transport
from ladle.docker.reference import ImageReference

__all__ = [
    "ACCEPTED_MANIFEST_TYPES",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "ImageConfig",
    "ImageManifest",
    "ImageReader",
    "LayerDescriptor",
    "RegistryClient",
    "RegistryError",
]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPTED_MANIFEST_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
_INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
_MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
_SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
_CONFIG_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)

# Real manifests and configs are a few KiB; the bound only stops a hostile registry from exhausting memory.
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
_MAX_ERROR_BODY_BYTES = 64 * 1024
_MAX_TOKEN_BYTES = 1024 * 1024
_DIGEST_RE = re.compile(r"([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-fA-F0-9]{32,})")
_HASHES = {"sha256": 64, "sha512": 128}
# Variants docker prefers when an index lists one platform several times (containerd's defaults).
_DEFAULT_VARIANTS = {"arm64": "v8", "arm": "v7"}
# What OpenSSL says when the other side answers a TLS hello with plain http.
_PLAIN_HTTP_REASONS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"})
_CHALLENGE_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


class RegistryError(Exception):
    """Reading from the registry failed; the message is fit for a user and never holds credentials.

    status is the registry's HTTP status when it answered, codes the distribution error codes it sent
    (e.g. ("UNAUTHORIZED",)), so callers can tell "no such image" from "not allowed" without parsing text.
    """

    def __init__(self, message: str, *, status: int | None = None, codes: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.codes = tuple(codes)


@dataclass(frozen=True)
class ImageConfig:
    manifest_digest: str
    entrypoint: list[str]
    cmd: list[str]
    workdir: str
    user: str
    exposed_ports: list[str]
    env: list[str]


@dataclass(frozen=True)
class LayerDescriptor:
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True)
class ImageManifest:
    """One platform's image: its config and its layers, bottom first."""

    config: ImageConfig
    layers: tuple[LayerDescriptor, ...]


@dataclass(frozen=True)
class _Reply:
    status: int
    content_type: str
    headers: httpx.Headers
    body: bytes


@dataclass(frozen=True)
class _Challenge:
    scheme: str
    params: dict[str, str]


class RegistryClient:
    def __init__(
        self,
        *,
        insecure_registries: Sequence[str] = (),
        private_registries: Sequence[str] = (),
        any_address: bool = False,
        timeout: float = 30.0,
    ) -> None:
        """``insecure_registries`` are read without TLS verification (or over plain http). A
        registry on a loopback, link-local or private address is reached only if it is listed
        there or in ``private_registries`` ("host" for any port, or "host:port"); a listed
        registry is trusted with where it sends Ladle (token server, redirects). ``any_address``
        lifts the rule (for callers whose references are not user input)."""
        self._insecure = frozenset(insecure_registries)
        self._listed = self._insecure | frozenset(private_registries)
        self._any_address = any_address
        self._timeout = timeout

    def _trusted(self, registry: str) -> bool:
        return self._any_address or registry in self._listed or registry.rsplit(":", 1)[0] in self._listed

    def fetch_config(
        self,
        ref: ImageReference,
        *,
        username: str | None = None,
        password: str | None = None,
        os: str = "linux",
        architecture: str = "amd64",
    ) -> ImageConfig:
        with self.reader(ref, username=username, password=password) as reader:
            return reader.image(os, architecture).config

    def reader(self, ref: ImageReference, *, username: str | None = None, password: str | None = None) -> ImageReader:
        """A session with one image's repository (use it as a context manager): its manifest, then its blobs."""
        insecure = ref.registry in self._insecure
        guarded = not self._trusted(ref.registry)
        return ImageReader(ref, username, password, insecure=insecure, guarded=guarded, timeout=self._timeout)


class ImageReader:
    """One image's reads: the scheme found and the token obtained are kept for its later requests."""

    def __init__(
        self,
        ref: ImageReference,
        username: str | None,
        password: str | None,
        *,
        insecure: bool,
        guarded: bool,
        timeout: float,
    ) -> None:
        self._ref = ref
        self._username = username
        self._password = password
        transport = guarded_transport(verify=not insecure) if guarded else None
        self._http = httpx.Client(
            verify=not insecure, timeout=timeout, headers={"User-Agent": "ladle"}, transport=transport
        )
        # Insecure registries are tried as docker does: https without verification, then plain http.
        self._schemes = ["https", "http"] if insecure else ["https"]
        self._authorization: str | None = None
        self._answered_challenges: set[tuple[str, str]] = set()

    def __enter__(self) -> ImageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    # -- the image ------------------------------------------------------------------------------------------

    def image(self, os: str = "linux", architecture: str = "amd64") -> ImageManifest:
        ref = self._ref
        reply = self._get(f"manifests/{ref.reference}", accept=", ".join(ACCEPTED_MANIFEST_TYPES), what="manifest")
        digest = _sha256_digest(reply.body)
        if ref.digest is not None:
            _verify_digest(ref.digest, reply.body, f"manifest of {ref}")
            digest = ref.digest
        media_type, document = _parse_manifest(reply, str(ref))
        if media_type in _INDEX_TYPES:
            digest = self._choose_platform(document, os, architecture)
            reply = self._get(f"manifests/{digest}", accept=", ".join(ACCEPTED_MANIFEST_TYPES), what="manifest")
            _verify_digest(digest, reply.body, f"manifest {digest} of {ref}")
            media_type, document = _parse_manifest(reply, f"{ref} ({os}/{architecture})")
            if media_type in _INDEX_TYPES:
                raise RegistryError(f"{ref}: the {os}/{architecture} entry of the index is itself an index")
        return ImageManifest(self._read_config(document, digest), self._layers(document))

    def _layers(self, manifest: dict[str, Any]) -> tuple[LayerDescriptor, ...]:
        entries = manifest.get("layers") or []
        if not isinstance(entries, list):
            raise RegistryError(f"{self._ref}: malformed manifest (layers is not a list)")
        layers = []
        for entry in entries:
            digest = entry.get("digest") if isinstance(entry, dict) else None
            size = entry.get("size") if isinstance(entry, dict) else None
            media_type = entry.get("mediaType") if isinstance(entry, dict) else None
            if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
                raise RegistryError(f"{self._ref}: malformed manifest (a layer has no valid digest)")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise RegistryError(f"{self._ref}: malformed manifest (layer {digest} has no valid size)")
            layers.append(LayerDescriptor(digest, size, media_type if isinstance(media_type, str) else ""))
        return tuple(layers)

    def download_blob(self, digest: str, out: BinaryIO, *, limit: int) -> int:
        """Stream blob ``digest`` into ``out``, hashing as it comes; returns its size.

        Raises :class:`RegistryError` when it is larger than ``limit`` or does not match its digest (``out`` then
        holds unverified bytes: the caller throws them away)."""
        match = _DIGEST_RE.fullmatch(digest)
        algorithm = match.group(1) if match else ""
        if match is None or algorithm not in _HASHES or len(match.group(2)) != _HASHES[algorithm]:
            raise RegistryError(f"cannot verify blob {digest!r} of {self._ref}: unsupported digest")
        what = f"layer {digest} of {self._ref}"
        path = f"/v2/{self._ref.repository}/blobs/{digest}"
        hasher = hashlib.new(algorithm)
        size = 0
        try:
            response = self._open_stream(path)
            if response.status_code == 401:
                challenge = _parse_challenge(response.headers.get_list("www-authenticate"))
                response.close()
                if challenge is not None and self._authenticate(challenge):
                    response = self._open_stream(path)
            try:
                if not 200 <= response.status_code < 300:
                    body = _read_bounded(response, _MAX_ERROR_BODY_BYTES, truncate=True)
                    reply = _Reply(response.status_code, "", response.headers, body)
                    raise RegistryError(
                        f"cannot read the {what}: {_error_text(reply)}",
                        status=reply.status,
                        codes=_error_codes(reply),
                    )
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    raise RegistryError(f"refusing the {what}: {declared} bytes is more than the {limit} allowed")
                for chunk in response.iter_bytes(1024 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise RegistryError(f"refusing the {what}: more than the {limit} bytes allowed")
                    hasher.update(chunk)
                    out.write(chunk)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise RegistryError(f"cannot read the {what}: {_describe(exc)}") from None
        if hasher.hexdigest() != match.group(2).lower():
            raise RegistryError(f"the {what} does not match its digest (got {algorithm}:{hasher.hexdigest()})")
        return size

    def _open_stream(self, path: str) -> httpx.Response:
        headers = {} if self._authorization is None else {"Authorization": self._authorization}
        request = self._http.build_request("GET", f"{self._schemes[0]}://{self._ref.registry}{path}", headers=headers)
        return self._http.send(request, stream=True, follow_redirects=True)

    def _choose_platform(self, index: dict[str, Any], os: str, architecture: str) -> str:
        entries = index.get("manifests")
        if not isinstance(entries, list):
            raise RegistryError(f"{self._ref}: malformed image index (no manifests list)")
        available: list[str] = []
        matches: list[dict[str, Any]] = []
        for entry in entries:
            platform = entry.get("platform") if isinstance(entry, dict) else None
            if not isinstance(platform, dict) or platform.get("architecture") in (None, "unknown"):
                continue  # attestations and other non-images carry no usable platform
            name = f"{platform.get('os')}/{platform.get('architecture')}"
            if platform.get("variant"):
                name += f"/{platform['variant']}"
            if name not in available:
                available.append(name)
            if platform.get("os") == os and platform.get("architecture") == architecture:
                matches.append(entry)
        if not matches:
            listed = ", ".join(available) or "no platforms"
            raise RegistryError(f"no image for {os}/{architecture} in {self._ref}; it has: {listed}")
        chosen = matches[0]
        if len(matches) > 1:
            preferred = _DEFAULT_VARIANTS.get(architecture, "")
            chosen = next((m for m in matches if m["platform"].get("variant", "") == preferred), chosen)
        digest = chosen.get("digest")
        if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
            raise RegistryError(f"{self._ref}: malformed image index (bad digest for {os}/{architecture})")
        return digest

    def _read_config(self, manifest: dict[str, Any], manifest_digest: str) -> ImageConfig:
        descriptor = manifest.get("config")
        digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
        if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
            raise RegistryError(f"{self._ref}: malformed manifest (no config digest)")
        assert isinstance(descriptor, dict)
        config_type = descriptor.get("mediaType")
        if config_type not in _CONFIG_TYPES:
            raise RegistryError(f"{self._ref} is not a container image (its config is {config_type!r})")
        reply = self._get(f"blobs/{digest}", accept=None, what="image config")
        _verify_digest(digest, reply.body, f"config of {self._ref}")
        try:
            document = json.loads(reply.body)
        except ValueError:
            raise RegistryError(f"the config of {self._ref} is not valid JSON") from None
        if not isinstance(document, dict):
            raise RegistryError(f"the config of {self._ref} is not a JSON object")
        container = document.get("config") or {}
        if not isinstance(container, dict):
            raise RegistryError(f"the config of {self._ref} has a malformed config section")
        ports = container.get("ExposedPorts") or {}
        if not isinstance(ports, dict):
            raise RegistryError(f"the config of {self._ref} has malformed ExposedPorts")
        return ImageConfig(
            manifest_digest=manifest_digest,
            entrypoint=self._strings(container, "Entrypoint"),
            cmd=self._strings(container, "Cmd"),
            workdir=self._string(container, "WorkingDir"),
            user=self._string(container, "User"),
            exposed_ports=[str(port) for port in ports],
            env=self._strings(container, "Env"),
        )

    def _strings(self, container: dict[str, Any], key: str) -> list[str]:
        value = container.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise RegistryError(f"the config of {self._ref} has a malformed {key} (not a list of strings)")
        return value

    def _string(self, container: dict[str, Any], key: str) -> str:
        value = container.get(key) or ""
        if not isinstance(value, str):
            raise RegistryError(f"the config of {self._ref} has a malformed {key} (not a string)")
        return value

    # -- HTTP -----------------------------------------------------------------------------------------------

    def _get(self, path: str, *, accept: str | None, what: str) -> _Reply:
        url_path = f"/v2/{self._ref.repository}/{path}"
        reply = self._send(url_path, accept)
        if reply.status == 401:
            challenge = _parse_challenge(reply.headers.get_list("www-authenticate"))
            if challenge is not None and self._authenticate(challenge):
                reply = self._send(url_path, accept)
            if reply.status == 401:
                detail = _error_text(reply)
                hint = " (no credentials were given)" if self._username is None else ""
                raise RegistryError(
                    f"not authorized to read {self._ref} from {self._ref.registry}{hint}: {detail}",
                    status=reply.status,
                    codes=_error_codes(reply),
                )
        if not 200 <= reply.status < 300:
            raise RegistryError(
                f"cannot read the {what} of {self._ref}: {_error_text(reply)}",
                status=reply.status,
                codes=_error_codes(reply),
            )
        return reply

    def _send(self, path: str, accept: str | None) -> _Reply:
        headers = {}
        if accept is not None:
            headers["Accept"] = accept
        if self._authorization is not None:
            headers["Authorization"] = self._authorization
        while True:
            scheme = self._schemes[0]
            try:
                reply = self._fetch("GET", f"{scheme}://{self._ref.registry}{path}", headers=headers)
            except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
                if len(self._schemes) > 1:
                    self._schemes.pop(0)
                    continue
                raise RegistryError(f"cannot reach registry {self._ref.registry}: {_describe(exc)}") from None
            except httpx.HTTPError as exc:
                raise RegistryError(f"cannot read from registry {self._ref.registry}: {_describe(exc)}") from None
            # The scheme that answered is the registry's: later requests of this fetch do not try the other.
            self._schemes = [scheme]
            return reply

    def _fetch(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        params: dict[str, str] | None = None,
        auth: httpx.Auth | None = None,
        limit: int = MAX_DOCUMENT_BYTES,
    ) -> _Reply:
        request = self._http.build_request(method, url, headers=headers, params=params)
        response = self._http.send(request, auth=auth, stream=True, follow_redirects=True)
        try:
            ok = 200 <= response.status_code < 300
            body = _read_bounded(response, limit if ok else _MAX_ERROR_BODY_BYTES, truncate=not ok)
        finally:
            response.close()
        return _Reply(
            status=response.status_code,
            content_type=response.headers.get("content-type", "").split(";")[0].strip().lower(),
            headers=response.headers,
            body=body,
        )

    def _authenticate(self, challenge: _Challenge) -> bool:
        """Answer a challenge once; False when there is nothing new to try, so the 401 stands."""
        key = (challenge.scheme, json.dumps(challenge.params, sort_keys=True))
        if key in self._answered_challenges:
            return False
        self._answered_challenges.add(key)
        if challenge.scheme == "basic":
            if self._username is None or self._password is None:
                return False
            credentials = f"{self._username}:{self._password}".encode()
            self._authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
            return True
        if challenge.scheme == "bearer":
            self._authorization = "Bearer " + self._token(challenge)
            return True
        return False

    def _token(self, challenge: _Challenge) -> str:
        realm = challenge.params.get("realm", "")
        try:
            realm_url = httpx.URL(realm) if realm else None
        except httpx.InvalidURL:
            realm_url = None
        if realm_url is None or realm_url.scheme not in ("http", "https") or not realm_url.host:
            raise RegistryError(f"registry {self._ref.registry} asked for a token from an unusable realm {realm!r}")
        params = {"scope": challenge.params.get("scope") or f"repository:{self._ref.repository}:pull"}
        if "service" in challenge.params:
            params["service"] = challenge.params["service"]
        auth = None
        if self._username is not None and self._password is not None:
            auth = httpx.BasicAuth(self._username, self._password)
        where = f"{realm_url.scheme}://{realm_url.netloc.decode('ascii')}{realm_url.path}"
        try:
            reply = self._fetch("GET", str(realm_url), headers={}, params=params, auth=auth, limit=_MAX_TOKEN_BYTES)
        except httpx.HTTPError as exc:
            raise RegistryError(f"cannot get a token from {where}: {_describe(exc)}") from None
        if not 200 <= reply.status < 300:
            raise RegistryError(
                f"the token server {where} refused a token for {self._ref}: {_error_text(reply)}",
                status=reply.status,
                codes=_error_codes(reply),
            )
        try:
            document = json.loads(reply.body)
        except ValueError:
            document = None
        token = (document.get("token") or document.get("access_token")) if isinstance(document, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"the token server {where} answered without a token")
        return token


def _read_bounded(response: httpx.Response, limit: int, *, truncate: bool) -> bytes:
    what = f"the response from {response.request.url.copy_with(query=None)}"
    declared = response.headers.get("content-length")
    if not truncate and declared is not None and declared.isdigit() and int(declared) > limit:
        raise RegistryError(f"refusing {what}: {declared} bytes is more than the {limit} allowed")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            if truncate:
                break
            raise RegistryError(f"refusing {what}: more than the {limit} bytes allowed")
    return b"".join(chunks)[:limit]


def _parse_manifest(reply: _Reply, image: str) -> tuple[str, dict[str, Any]]:
    try:
        document = json.loads(reply.body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise RegistryError(f"the manifest of {image} is not a JSON object")
    media_type = reply.content_type
    if media_type not in _INDEX_TYPES | _MANIFEST_TYPES | _SCHEMA1_TYPES:
        # Some registries serve manifests as application/json; the document then says what it is.
        body_type = document.get("mediaType")
        if isinstance(body_type, str) and body_type:
            media_type = body_type
        elif document.get("schemaVersion") == 1:
            media_type = next(iter(_SCHEMA1_TYPES))
        elif document.get("schemaVersion") == 2 and "manifests" in document:
            media_type = OCI_INDEX
        elif document.get("schemaVersion") == 2 and "config" in document:
            media_type = OCI_MANIFEST
    if media_type in _SCHEMA1_TYPES:
        raise RegistryError(f"{image} has a schema 1 manifest, which is no longer supported; push it again")
    if media_type not in _INDEX_TYPES | _MANIFEST_TYPES:
        raise RegistryError(f"{image} has a manifest of unsupported type {media_type or 'unknown'!r}")
    return media_type, document


def _sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _verify_digest(digest: str, data: bytes, what: str) -> None:
    match = _DIGEST_RE.fullmatch(digest)
    algorithm = match.group(1) if match else ""
    if algorithm not in _HASHES or match is None or len(match.group(2)) != _HASHES[algorithm]:
        raise RegistryError(f"cannot verify the {what}: unsupported digest {digest!r}")
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != match.group(2).lower():
        raise RegistryError(f"the {what} does not match its digest {digest} (got {algorithm}:{actual})")


def _parse_challenge(headers: Sequence[str]) -> _Challenge | None:
    """The first Bearer or Basic challenge of WWW-Authenticate; Bearer wins when both are offered."""
    found: list[_Challenge] = []
    for header in headers:
        scheme, _, rest = header.strip().partition(" ")
        params: dict[str, str] = {}
        for match in _CHALLENGE_PARAM_RE.finditer(rest):
            quoted, bare = match.group(2), match.group(3)
            params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        if scheme.lower() in ("bearer", "basic"):
            found.append(_Challenge(scheme.lower(), params))
    found.sort(key=lambda c: c.scheme != "bearer")
    return found[0] if found else None


def _errors(reply: _Reply) -> Iterator[tuple[str | None, str | None]]:
    """(code, message) pairs from the error bodies registries and token servers send."""
    try:
        document = json.loads(reply.body)
    except ValueError:
        return
    if not isinstance(document, dict):
        return
    errors = document.get("errors")
    if isinstance(errors, list):
        for error in errors:
            if isinstance(error, dict):
                code, message = error.get("code"), error.get("message")
                yield (code if isinstance(code, str) else None, message if isinstance(message, str) else None)
        return
    # Token servers vary: Docker Hub sends {"details": ...}, OAuth-style ones {"error": ..., "error_description"}.
    for key in ("details", "detail", "message", "error_description", "error"):
        value = document.get(key)
        if isinstance(value, str) and value:
            yield None, value
            return


def _error_codes(reply: _Reply) -> list[str]:
    return [code for code, _ in _errors(reply) if code]


def _error_text(reply: _Reply) -> str:
    parts = [": ".join(p for p in pair if p) for pair in _errors(reply)]
    parts = [p for p in parts if p]
    if parts:
        return "; ".join(parts)
    reason = httpx.codes.get_reason_phrase(reply.status)
    return f"HTTP {reply.status} {reason}".rstrip()


def _describe(exc: BaseException) -> str:
    """A short reason for a network failure, from the innermost error that says something useful."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for error in chain:
        if isinstance(error, PrivateAddressRefused):
            return str(error)
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed: {error.verify_message or error.reason}"
        if isinstance(error, ssl.SSLError):
            reason = f"TLS handshake failed: {error.reason or error}"
            if error.reason in _PLAIN_HTTP_REASONS:
                reason += " (the registry may serve plain http: list it as an insecure registry to allow that)"
            return reason
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, socket.gaierror):
            return "unknown host"
    text = str(exc).strip()
    if "[SSL" in text or "SSL:" in text:
        return f"TLS handshake failed: {text}"
    return text or type(exc).__name__
