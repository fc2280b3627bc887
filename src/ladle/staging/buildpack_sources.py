"""Getting buildpacks onto disk: admin buildpacks from the blob store, others from a URL.

A URL ending in ``.zip`` is downloaded (``http``, ``https`` or ``file``) and unpacked; any other
URL is cloned with git (``--depth 1``, ``#branch`` picks a branch). Admin buildpacks are unpacked
once per content hash and shared by every staging that uses them.

A URL is user input, so it is fetched the way user code would fetch it: by git or curl inside a
sandbox (``Downloader``), under the same egress rules, never by the server process, which can
reach the host's loopback and private networks. ``file://`` URLs read the server's own disk and
are accepted from admins only (checked when the build is created), so those are read directly.
Everything unpacked is made readable by everyone: the sandbox's user owns none of it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from ladle.bits.archive import ArchiveLimits, InvalidArchive
from ladle.bits.extract import extract_zip
from ladle.blobstore.base import BlobNotFound, Blobstore
from ladle.private_data import share_with_sandbox
from ladle.sandbox import Jail, Limits, Mount, SandboxConfig
from ladle.staging.xxhash import key_hash
from ladle.urls import mask_credentials as _masked

__all__ = ["BuildpackFetchError", "BuildpackSource", "Downloader", "fetch_buildpack"]

DOWNLOAD_TIMEOUT = 600
BUILDPACK_LIMITS = ArchiveLimits(max_size=4 * 1024 * 1024 * 1024)
GIT_PROTOCOLS = ("file", "http", "https", "git", "ssh")
# Where the download sandbox sees the staging's download directory (the builder's name for it).
DOWNLOADS_INSIDE = "/tmp/buildpackdownloads"
DOWNLOAD_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "true",
    "SSH_ASKPASS": "true",
}


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


class Downloader:
    """Fetches URLs into ``work_dir`` from inside a sandbox, made on first use and shared by the
    staging's buildpacks. Call :meth:`close` when done."""

    def __init__(self, config: SandboxConfig, work_dir: Path, state_dir: Path, limits: Limits) -> None:
        self.config = config
        self.work_dir = work_dir
        self.state_dir = state_dir
        self.limits = limits
        self._jail: Jail | None = None

    def jail(self) -> Jail:
        if self._jail is None:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            self._jail = Jail(
                self.config,
                name=f"{self.config.staging_prefix}{self.state_dir.parent.name}-fetch",
                state_dir=self.state_dir,
                mounts=[Mount(self.work_dir, DOWNLOADS_INSIDE, writable=True)],
                limits=self.limits,
            )
            self._jail.hand_over(self.work_dir)
        return self._jail

    def run(self, argv: list[str | Path], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        jail = self.jail()
        return jail.call(argv, env=DOWNLOAD_ENV, cwd=self.work_dir, timeout=DOWNLOAD_TIMEOUT, stdin=stdin)

    @property
    def notes(self) -> list[str]:
        return self._jail.notes if self._jail is not None else []

    def close(self) -> None:
        if self._jail is not None:
            self._jail.close()
            self._jail = None


def fetch_buildpack(
    source: BuildpackSource,
    *,
    work_dir: Path,
    shared_dir: Path,
    store: Blobstore,
    downloader: Downloader,
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
        _download_zip(source.url, target, work_dir, downloader, say)
    else:
        _clone(source.url, target, downloader, say)
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
            share_with_sandbox(temporary)
            os.replace(temporary, target)
        except BlobNotFound:
            raise BuildpackFetchError(f"the bits of buildpack {source.name} are missing") from None
        except InvalidArchive as exc:
            raise BuildpackFetchError(f"buildpack {source.name} is not a valid zip: {exc}") from None
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    return target


def _curl_config(url: str) -> bytes:
    """curl's --config input naming ``url`` (so credentials in it never show in a process list)."""
    if any(c in url for c in "\r\n"):
        raise BuildpackFetchError("a buildpack URL may not contain line breaks")
    quoted = url.replace("\\", "\\\\").replace('"', '\\"')
    return f'url = "{quoted}"\n'.encode()


def _download(url: str, archive: Path, downloader: Downloader) -> None:
    """Fetch ``url`` to ``archive`` from inside the download sandbox."""
    limit = str(BUILDPACK_LIMITS.max_size)
    if shutil.which("curl"):
        argv: list[str | Path] = ["curl", "--fail", "--silent", "--show-error", "--location", "--max-filesize", limit]
        argv += ["--proto", "=http,https", "--proto-redir", "=http,https", "--config", "-", "--output", archive]
        result = downloader.run(argv, stdin=_curl_config(url))
    else:
        script = (
            "import shutil, sys, urllib.request\n"
            "url = sys.stdin.readline().strip()\n"
            "with urllib.request.urlopen(url, timeout=600) as r, open(sys.argv[1], 'wb') as f:\n"
            "    shutil.copyfileobj(r, f)\n"
        )
        result = downloader.run(["python3", "-c", script, archive], stdin=url.encode() + b"\n")
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        detail = lines[-1] if lines else "failed"
        raise BuildpackFetchError(f"Failed to download buildpack `{_masked(url)}`: {detail}")
    # The sandbox wrote it: take it only if it is a plain file (not a link to some secret).
    info = os.lstat(archive)
    if not stat.S_ISREG(info.st_mode):
        raise BuildpackFetchError(f"Failed to download buildpack `{_masked(url)}`: not a file")


def _download_zip(url: str, target: Path, work_dir: Path, downloader: Downloader, say: Callable[[str], None]) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    archive = work_dir / f"{target.name}.zip"
    parts = urlsplit(url)
    try:
        if parts.scheme == "file":
            shutil.copyfile(unquote(parts.path), archive)
        elif parts.scheme in ("http", "https"):
            _download(url, archive, downloader)
        else:
            raise BuildpackFetchError(f"unsupported buildpack URL scheme: {parts.scheme}")
        say(f"Downloaded buildpack `{_masked(url)}` ({_human(archive.stat().st_size)})")
        extract_zip(archive, target, BUILDPACK_LIMITS)
        share_with_sandbox(target)
    except OSError as exc:
        raise BuildpackFetchError(f"Failed to download buildpack `{_masked(url)}`: {exc}") from None
    except InvalidArchive as exc:
        raise BuildpackFetchError(f"Failed to unpack buildpack `{_masked(url)}`: {exc}") from None
    finally:
        with contextlib.suppress(OSError):
            archive.unlink(missing_ok=True)


def _clone(url: str, target: Path, downloader: Downloader, say: Callable[[str], None]) -> None:
    parts = urlsplit(url)
    if parts.scheme and parts.scheme not in GIT_PROTOCOLS:
        raise BuildpackFetchError(f"unsupported buildpack URL scheme: {parts.scheme}")
    repository = urlunsplit(parts._replace(fragment=""))
    branch = parts.fragment
    # file:// (admins only) reads the server's disk, which the sandbox cannot see: cloned here.
    local = parts.scheme == "file"
    protocols = GIT_PROTOCOLS if local else tuple(p for p in GIT_PROTOCOLS if p != "file")
    allow = ["-c", "protocol.allow=never"]
    allow += [arg for proto in protocols for arg in ("-c", f"protocol.{proto}.allow=always")]

    def git(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
        if local:
            env = {**os.environ, **DOWNLOAD_ENV}
            command = ["git", *allow, *map(str, args)]
            return subprocess.run(command, capture_output=True, env=env, timeout=DOWNLOAD_TIMEOUT, check=False)
        return downloader.run(["git", *allow, *args])

    shallow: list[str | Path] = ["clone", "--depth", "1", "--recursive"]
    if branch:
        shallow += ["-b", branch]
    attempts: list[list[str | Path]] = [[*shallow, repository, target], ["clone", "--recursive", repository, target]]
    errors = ""
    for index, command in enumerate(attempts):
        shutil.rmtree(target, ignore_errors=True)
        result = git(*command)
        if result.returncode == 0:
            if index == 1 and branch:
                result = git("-C", target, "checkout", branch)
                if result.returncode != 0:
                    errors = result.stderr.decode(errors="replace")
                    break
            if local:
                share_with_sandbox(target)  # cloned by the server, under its private umask
            return
        errors = result.stderr.decode(errors="replace")
    shutil.rmtree(target, ignore_errors=True)
    say(f"Failed to clone git repository at {_masked(url)}")
    raise BuildpackFetchError(f"Failed to clone git repository at {_masked(url)}: {errors.strip()}")
