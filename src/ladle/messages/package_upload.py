"""``POST /v3/packages/:guid/upload``: which fields a multipart upload may carry, and the
``resources`` list (v3 resource-match entries or v2 fingerprints) turned into fingerprints."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, quote_list

__all__ = ["Fingerprint", "PackageUpload", "parse_package_upload"]

UPLOAD_FIELDS = ("bits_path", "bits_name", "upload_start_time", "resources")


@dataclass(frozen=True)
class Fingerprint:
    """A file the client did not send because the resource pool already holds it."""

    fn: Any
    sha1: Any
    size: Any
    mode: Any

    def to_json(self) -> dict[str, Any]:
        return {"fn": self.fn, "sha1": self.sha1, "size": self.size, "mode": self.mode}


@dataclass(frozen=True)
class PackageUpload:
    has_bits: bool
    fingerprints: list[Fingerprint]


def _fingerprint(entry: Any) -> Fingerprint:
    if isinstance(entry, dict) and "checksum" in entry and "size_in_bytes" in entry:
        checksum = entry["checksum"]
        sha1 = checksum.get("value") if isinstance(checksum, dict) else None
        return Fingerprint(entry.get("path"), sha1, entry["size_in_bytes"], entry.get("mode"))
    if isinstance(entry, dict):
        return Fingerprint(entry.get("fn"), entry.get("sha1"), entry.get("size"), entry.get("mode"))
    return Fingerprint(None, None, None, None)


def parse_package_upload(fields: dict[str, str], file_fields: set[str]) -> PackageUpload:
    errors = Errors()
    fingerprints: list[Fingerprint] = []
    raw = fields.get("resources")
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            errors.base("Resources must be valid JSON.")
            errors.raise_if_any()
        entries = parsed if isinstance(parsed, list) else []
        fingerprints = [_fingerprint(entry) for entry in entries]
    extra = [name for name in [*fields, *file_fields] if name not in (*UPLOAD_FIELDS, "bits")]
    if extra:
        errors.base(f"Unknown field(s): {quote_list(extra)}")
    has_bits = "bits" in file_fields
    if not has_bits and not fingerprints:
        errors.base("Upload must include either resources or bits")
    if fields.get("bits_path"):
        # Ladle receives files itself; it never reads a path a client names on the server.
        errors.add("bits_path", "is invalid")
    errors.raise_if_any()
    return PackageUpload(has_bits, fingerprints)
