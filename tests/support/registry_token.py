"""A real docker token server (distribution's token auth) on a loopback port, run on a thread of the test process.

It plays Docker Hub's auth.docker.io: HTTP basic credentials in, a signed JWT out, whose "access" claim grants
what the registry checks. Anonymous callers get a token that grants nothing, as a private repository would.
The JWT is built by hand (ES256, raw r||s signature) so the test support needs nothing beyond `cryptography`.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

__all__ = ["RunningTokenServer", "TokenIssuer", "libtrust_key_id", "run_token_server"]

SERVICE = "ladle-test-registry"
ISSUER = "ladle-test-token-issuer"
TOKEN_LIFETIME = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def libtrust_key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The key id distribution looks up a token's "kid" by: libtrust's fingerprint of the DER public key."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


class TokenIssuer:
    """Signs tokens with a fresh P-256 key whose self-signed certificate the registry trusts (rootcertbundle)."""

    def __init__(self, service: str = SERVICE, issuer: str = ISSUER) -> None:
        self.service = service
        self.issuer = issuer
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self._key, hashes.SHA256())
        )
        self.key_id = libtrust_key_id(self._key.public_key())

    def write_root_bundle(self, path: Path) -> Path:
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def issue(self, subject: str, access: list[dict[str, Any]]) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "kid": self.key_id}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + TOKEN_LIFETIME,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        signing_input = ".".join(_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
        r, s = decode_dss_signature(self._key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def granted_access(scopes: list[str]) -> list[dict[str, Any]]:
    """Every pull/push asked for on a repository: the test user owns them all."""
    access: list[dict[str, Any]] = []
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind != "repository" or not name:
            continue
        allowed = [a for a in actions.split(",") if a in ("pull", "push")]
        if allowed:
            access.append({"type": "repository", "name": name, "actions": allowed})
    return access


@dataclass
class RunningTokenServer:
    url: str  # the realm: http://127.0.0.1:<port>/token
    issuer: TokenIssuer
    username: str
    password: str
    requests: list[dict[str, Any]]  # what each call asked for, for tests that check the challenge flow


@contextmanager
def run_token_server(issuer: TokenIssuer, username: str, password: str) -> Iterator[RunningTokenServer]:
    requests: list[dict[str, Any]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/token":
                self._reply(404, {"details": "not found"})
                return
            query = parse_qs(url.query)
            scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
            credentials = self._credentials()
            with lock:
                requests.append(
                    {
                        "user": credentials[0] if credentials else None,
                        "service": query.get("service", [None])[0],
                        "scopes": scopes,
                    }
                )
            if credentials is not None and not (
                secrets.compare_digest(credentials[0], username) and secrets.compare_digest(credentials[1], password)
            ):
                self._reply(401, {"details": "incorrect username or password"})
                return
            if query.get("service", [issuer.service])[0] != issuer.service:
                self._reply(400, {"details": "unknown service"})
                return
            access = granted_access(scopes) if credentials else []
            token = issuer.issue(credentials[0] if credentials else "", access)
            self._reply(200, {"token": token, "access_token": token, "expires_in": TOKEN_LIFETIME})

        def _credentials(self) -> tuple[str, str] | None:
            header = self.headers.get("Authorization", "")
            if not header.lower().startswith("basic "):
                return None
            try:
                name, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
            except ValueError:
                return ("", "")  # garbage counts as wrong credentials, not as none
            return name, secret

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="registry-token-server", daemon=True
    )
    thread.start()
    try:
        port = server.server_address[1]
        yield RunningTokenServer(f"http://127.0.0.1:{port}/token", issuer, username, password, requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
