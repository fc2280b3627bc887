"""The token signing key: an RSA key generated on first start and kept in the data directory."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["SigningKey", "load_or_create_signing_key"]

KEY_FILE = "token-signing-key.pem"


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    kid: str

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def jwk(self) -> dict[str, str]:
        """The key as UAA's ``/token_keys`` lists it."""
        numbers = self.public_key.public_numbers()
        return {
            "kty": "RSA",
            "e": _b64uint(numbers.e),
            "use": "sig",
            "kid": self.kid,
            "alg": "RS256",
            "value": self.public_pem(),
            "n": _b64uint(numbers.n),
        }


def _b64uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def load_or_create_signing_key(data_dir: Path, path: Path | None = None) -> SigningKey:
    """The key at ``path`` (default: in the data directory), made on first use. API processes
    behind one load balancer must share it, or each refuses the others' tokens."""
    path = path or data_dir / KEY_FILE
    if path.exists():
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key")
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        # Two servers starting at once on one data dir: the first link wins, both then read it.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        return load_or_create_signing_key(data_dir, path)
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return SigningKey(private, kid="ladle-" + hashlib.sha256(der).hexdigest()[:16])
