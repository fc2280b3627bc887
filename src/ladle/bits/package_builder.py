"""Turning an upload into a package zip: check the archive, drop symbolic links, add the files
the client matched against the resource pool, and feed new files back to the pool."""

from __future__ import annotations

import hashlib
import posixpath
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ladle.bits.archive import Archive, ArchiveLimits, Entry, InvalidArchive, PackageTooLarge, inspect_zip
from ladle.bits.archive import iter_entry_data as entry_data
from ladle.bits.resource_pool import ChecksumMismatch, ResourcePool
from ladle.bits.zipwriter import ZipWriter
from ladle.blobstore.base import Digest
from ladle.blobstore.digest import HashingWriter
from ladle.messages.package_upload import Fingerprint

__all__ = ["BuiltPackage", "MatchedFile", "build_package", "feed_pool", "matched_files"]

DEFAULT_MODE = 0o744
CHECKSUM_MISMATCH = (
    "One or more cached resources did not match the given checksum. "
    "They have been deleted; please retry package upload."
)


@dataclass(frozen=True)
class MatchedFile:
    path: str
    sha1: str
    size: int
    mode: int


@dataclass(frozen=True)
class BuiltPackage:
    path: Path
    digest: Digest
    # True when the upload itself is the package (nothing had to change).
    is_upload: bool
    archive: Archive | None


def _mode(raw: object) -> int:
    if raw is None:
        return DEFAULT_MODE
    try:
        mode = int(str(raw), 8)
    except ValueError:
        mode = -1
    if mode < 0 or (mode & 0o600) != 0o600:
        raise InvalidArchive(
            f"The resource file mode is invalid: File mode '{raw}' is invalid. Minimum file mode is '0600'"
        )
    return mode


def matched_files(fingerprints: list[Fingerprint]) -> list[MatchedFile]:
    """Check each fingerprint the way Cloud Controller does before anything is read from the pool."""
    files: list[MatchedFile] = []
    for fp in fingerprints:
        mode = _mode(fp.mode)
        name = fp.fn if isinstance(fp.fn, str) else ""
        normalised = posixpath.normpath(name) if name else ""
        if not name or name.startswith("/") or normalised == ".." or normalised.startswith("../"):
            raise InvalidArchive(f"The resource file path is invalid: File path '{fp.fn}' is not safe.")
        sha1, size = fp.sha1, fp.size
        if not isinstance(sha1, str) or len(sha1) != 40 or not isinstance(size, int) or size < 0:
            raise InvalidArchive("The app upload is invalid: invalid :resources")
        files.append(MatchedFile(normalised, sha1, size, mode))
    return files


def build_package(
    upload: Path | None,
    upload_digest: Digest | None,
    fingerprints: list[Fingerprint],
    *,
    pool: ResourcePool,
    limits: ArchiveLimits,
    scratch: Path,
) -> BuiltPackage:
    """The zip to store for this upload; raises InvalidArchive with the text for ``data.error``."""
    matched = matched_files(fingerprints)
    archive = inspect_zip(upload, limits) if upload is not None else None
    if archive is not None and not matched and not archive.needs_rebuild:
        assert upload is not None and upload_digest is not None
        return BuiltPackage(upload, upload_digest, True, archive)

    replaced = {m.path for m in matched}
    kept = [e for e in (archive.entries if archive else []) if e.kind != "symlink" and e.path not in replaced]
    total = sum(e.size for e in kept if e.kind == "file") + sum(m.size for m in matched)
    if total > limits.max_size:
        raise PackageTooLarge(f"The app package is invalid: Package may not be larger than {limits.max_size} bytes")

    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / f"{uuid.uuid4().hex}.zip"
    now = datetime.now(UTC).timetuple()[:6]
    try:
        with open(out, "wb") as fh:
            writer = HashingWriter(fh)
            zip_out = ZipWriter(writer)
            if archive is not None and upload is not None:
                with open(upload, "rb") as source:
                    for entry in kept:
                        zip_out.copy_entry(source, entry.info, entry.data_offset, _entry_name(entry))
            _add_matched(zip_out, matched, pool, now)
            zip_out.close()
            digest = writer.finish()
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return BuiltPackage(out, digest, False, archive)


def _entry_name(entry: Entry) -> str:
    return entry.path + "/" if entry.kind == "dir" else entry.path


def _add_matched(zip_out: ZipWriter, matched: list[MatchedFile], pool: ResourcePool, now: tuple[int, ...]) -> None:
    mismatched = False
    for item in matched:
        try:
            if mismatched:
                # Keep checking the rest, so every bad entry leaves the pool in one go.
                for _ in pool.verified_chunks(item.sha1, item.size):
                    pass
            else:
                zip_out.add_stream(
                    item.path,
                    pool.verified_chunks(item.sha1, item.size),
                    mode=item.mode,
                    date_time=(now[0], now[1], now[2], now[3], now[4], now[5]),
                )
        except ChecksumMismatch:
            mismatched = True
    if mismatched:
        raise InvalidArchive(CHECKSUM_MISMATCH)


def feed_pool(package_zip: Path, pool: ResourcePool) -> int:
    """Add the package's files that the pool may cache and does not have yet; returns how many."""
    added = 0
    with zipfile.ZipFile(package_zip) as zf:
        for info in zf.infolist():
            mode = (info.external_attr >> 16) & 0o777 if info.create_system == 3 else 0o644
            kind = (info.external_attr >> 16) & 0o170000 if info.create_system == 3 else 0
            if info.is_dir() or kind not in (0, 0o100000) or not pool.cacheable(info.file_size, mode or 0o644):
                continue
            entry = Entry(info, info.filename, "file", mode, 0)
            sha1 = _sha1_of(zf, entry)
            if not pool.has(sha1):
                pool.add(sha1, entry_data(zf, entry))
                added += 1
    return added


def _sha1_of(zf: zipfile.ZipFile, entry: Entry) -> str:
    digest = hashlib.sha1()
    for chunk in entry_data(zf, entry):
        digest.update(chunk)
    return digest.hexdigest()
