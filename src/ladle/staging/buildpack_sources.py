"""Getting buildpacks onto disk: admin buildpacks from the blob store, others from a URL.

A URL ending in ``.zip`` is downloaded (``http``, ``https`` or ``file``) and unpacked; any other
URL is cloned with git (``--depth 1``, ``#branch`` picks a branch). Admin buildpacks are unpacked
once per content hash and shared by every staging that uses them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from ladle.bits.archive import ArchiveLimits, InvalidArchive
from ladle.bits.extract import extract_zip
from ladle.blobstore.base import BlobNotFound, Blobstore
from ladle.staging.xxhash import key_hash
from ladle.urls import mask_credentials as _masked

__all__ = ["BuildpackFetchError", "BuildpackSource", "fetch_buildpack"]

DOWNLOAD_TIMEOUT = 600
BUILDPACK_LIMITS = ArchiveLimits(max_size=4 * 1024 * 1024 * 1024)
GIT_PROTOCOLS = ("file", "http", "https", "git", "ssh")


class BuildpackFetchError(Exception):
    pass


@dataclass(frozen=True)
class BuildpackSource:
    key: str
    # What receipts call it: the admin buildpack's name, or the (masked) URL.
    name: str
    url: str | None = None
    blob_key: str | None = None
    sha256: str | None = None


def _human(size: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if size < 1024 or unit == "G":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size //= 1024
    return f"{size}"


def fetch_buildpack(
    source: BuildpackSource,
    *,
    work_dir: Path,
    shared_dir: Path,
    store: Blobstore,
    say: Callable[[str], None],
) -> Path:
    """A directory holding the buildpack (its ``bin/`` directly or in one top-level folder)."""
    if source.blob_key is not None:
        return _admin(source, shared_dir, store)
    assert source.url is not None
    target = work_dir / key_hash(source.key)
    if target.exists():
        return target
    parts = urlsplit(source.url)
    if parts.path.endswith(".zip"):
        _download_zip(source.url, target, work_dir, say)
    else:
        _clone(source.url, target, say)
    return target


def _admin(source: BuildpackSource, shared_dir: Path, store: Blobstore) -> Path:
    assert source.blob_key is not None
    target = shared_dir / (source.sha256 or key_hash(source.blob_key))
    if target.is_dir():
        return target
    shared_dir.mkdir(parents=True, exist_ok=True)
    with open(shared_dir / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one staging unpacks it, the others wait and reuse it
        if target.is_dir():
            return target
        temporary = shared_dir / f".{target.name}.{uuid.uuid4().hex}"
        try:
            with store.open_local(source.blob_key) as local:
                extract_zip(local, temporary, BUILDPACK_LIMITS)
            os.replace(temporary, target)
        except BlobNotFound:
            raise BuildpackFetchError(f"the bits of buildpack {source.name} are missing") from None
        except InvalidArchive as exc:
            raise BuildpackFetchError(f"buildpack {source.name} is not a valid zip: {exc}") from None
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    return target


def _download_zip(url: str, target: Path, work_dir: Path, say: Callable[[str], None]) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    archive = work_dir / f"{target.name}.zip"
    parts = urlsplit(url)
    try:
        if parts.scheme == "file":
            shutil.copyfile(unquote(parts.path), archive)
        elif parts.scheme in ("http", "https"):
            with httpx.stream("GET", url, timeout=DOWNLOAD_TIMEOUT, follow_redirects=True) as response:
                response.raise_for_status()
                with open(archive, "wb") as out:
                    for chunk in response.iter_bytes(1024 * 1024):
                        out.write(chunk)
        else:
            raise BuildpackFetchError(f"unsupported buildpack URL scheme: {parts.scheme}")
        say(f"Downloaded buildpack `{_masked(url)}` ({_human(archive.stat().st_size)})")
        extract_zip(archive, target, BUILDPACK_LIMITS)
    except (OSError, httpx.HTTPError) as exc:
        raise BuildpackFetchError(f"Failed to download buildpack `{_masked(url)}`: {exc}") from None
    except InvalidArchive as exc:
        raise BuildpackFetchError(f"Failed to unpack buildpack `{_masked(url)}`: {exc}") from None
    finally:
        archive.unlink(missing_ok=True)


def _clone(url: str, target: Path, say: Callable[[str], None]) -> None:
    parts = urlsplit(url)
    if parts.scheme and parts.scheme not in GIT_PROTOCOLS:
        raise BuildpackFetchError(f"unsupported buildpack URL scheme: {parts.scheme}")
    repository = urlunsplit(parts._replace(fragment=""))
    branch = parts.fragment
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    allow = ["-c", "protocol.allow=never"] + [
        arg for proto in GIT_PROTOCOLS for arg in ("-c", f"protocol.{proto}.allow=always")
    ]
    shallow = ["git", *allow, "clone", "--depth", "1", "--recursive"]
    if branch:
        shallow += ["-b", branch]
    attempts = [[*shallow, repository, str(target)], ["git", *allow, "clone", "--recursive", repository, str(target)]]
    errors = ""
    for index, command in enumerate(attempts):
        shutil.rmtree(target, ignore_errors=True)
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=DOWNLOAD_TIMEOUT, check=False)
        if result.returncode == 0:
            if index == 1 and branch:
                checkout = ["git", "-C", str(target), "checkout", branch]
                result = subprocess.run(checkout, capture_output=True, text=True, env=env, check=False)
                if result.returncode != 0:
                    errors = result.stderr
                    break
            return
        errors = result.stderr
    shutil.rmtree(target, ignore_errors=True)
    say(f"Failed to clone git repository at {_masked(url)}")
    raise BuildpackFetchError(f"Failed to clone git repository at {_masked(url)}: {errors.strip()}")
