"""Docker images unpacked once per node, by manifest digest, and shared read-only by their instances.

``ImageCache.get`` reads the image's manifest and config from its registry (a few KiB, every
start: a tag may have moved), and pulls its layers only when no entry for that manifest digest
exists yet. A pull goes into a scratch directory inside the cache (``.<digest>.<random>``),
which becomes the entry (``<digest>/rootfs`` and ``<digest>/image.json``) by one rename once every
layer is verified and applied; a failed pull removes its scratch directory, so there is never a
half-written entry, and nothing is written outside the cache directory.

Entries are counted while instances use them and mark the droplets that asked for them
(``<digest>/droplets/<guid>``); the runner's periodic sweep (:meth:`ImageCache.evict`) removes
those no current droplet and no instance uses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import shutil
import stat
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ladle.db.models import Droplet
from ladle.docker.layers import LayerRefused
from ladle.docker.pull import pull_layers
from ladle.docker.reference import InvalidReference, parse_reference
from ladle.docker.registry import ImageConfig, ImageManifest, ImageReader, RegistryClient, RegistryError
from ladle.private_data import share_with_sandbox

__all__ = ["CachedImage", "DockerSource", "ImageCache", "ImageUnavailable", "docker_source"]

log = logging.getLogger("ladle.runner")

IMAGE_FILE = "image.json"
DROPLETS = "droplets"
_GUID = re.compile(r"[A-Za-z0-9-]{1,64}")
# Where the sandbox mounts its own filesystems (or the instance's home): made in every rootfs
# that lacks them, since the rootfs is mounted read-only and nothing can be created in it later.
MOUNT_POINTS = ("dev", "proc", "tmp", "home", "home/vcap", "etc")


class ImageUnavailable(Exception):
    """The image could not be pulled or unpacked; the message is fit for the app's log."""


@dataclass(frozen=True)
class DockerSource:
    """Where a docker droplet's image comes from, with the credentials staging was given."""

    image: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def docker_source(droplet: Droplet | None) -> DockerSource | None:
    """A docker droplet's image and the credentials its package was staged with (None for others)."""
    if droplet is None or droplet.lifecycle_type != "docker" or not droplet.image:
        return None
    return DockerSource(droplet.image, droplet.docker_username, droplet.docker_password)


@dataclass(frozen=True)
class CachedImage:
    key: str  # the manifest digest's hex part
    digest: str
    rootfs: Path
    config: ImageConfig


def acquire_image(
    images: ImageCache | None, isolated: bool, source: DockerSource, droplet_guid: str, say: Callable[[str], None]
) -> CachedImage:
    """An instance's or task's image from the node's cache (held until ``images.release``); an
    image runs only in the sandbox, where its own root can be given. Raises ImageUnavailable."""
    if images is None or not isolated:
        raise ImageUnavailable("docker images run only in the sandbox: this runner has it turned off")
    return images.get(source, droplet_guid, say)


class ImageCache:
    def __init__(
        self,
        root: Path,
        *,
        insecure_registries: Sequence[str] = (),
        private_registries: Sequence[str] = (),
        max_size: int,
        owner: tuple[int, int] | None = None,
    ) -> None:
        """``owner`` (uid, gid) is given the unpacked files: the sandbox's uid when Ladle is root,
        so that inside an instance the image's files belong to its user, as in a container (the
        shared tree itself is only ever seen read-only or as an overlay's lower layer)."""
        self.root = root
        self.owner = owner
        self.client = RegistryClient(insecure_registries=insecure_registries, private_registries=private_registries)
        self.insecure_registries = tuple(insecure_registries)
        self.max_size = max_size
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._users: dict[str, int] = {}

    def recover(self) -> None:
        """Scratch directories of pulls a killed server left behind go."""
        for entry in self.root.iterdir():
            if entry.name.startswith(".") and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)

    def get(self, source: DockerSource, droplet_guid: str, say: Callable[[str], None]) -> CachedImage:
        """The image's unpacked root, pulled if this node has none for its manifest; the caller
        holds it until :meth:`release`. Raises :class:`ImageUnavailable`."""
        try:
            ref = parse_reference(source.image)
        except InvalidReference as exc:
            raise ImageUnavailable(f"invalid docker image reference [{source.image}]: {exc}") from None
        try:
            with self.client.reader(ref, username=source.username, password=source.password) as reader:
                manifest = reader.image()
                digest = manifest.config.manifest_digest
                key = digest.partition(":")[2]
                self._acquire(key)
                try:
                    cached = self._entry(key, ref.display(), reader, manifest, say)
                    _mark(self.root / key, droplet_guid)
                    return cached
                except BaseException:
                    self.release(key)
                    raise
        except RegistryError as exc:
            # A registry that does not answer at all does not stop a restart of what this cell
            # already ran for the droplet (one that answers "no" does: the rights may be gone).
            remembered = self._remembered(droplet_guid) if exc.status is None else None
            if remembered is None:
                raise ImageUnavailable(f"failed to pull {ref.display()}: {exc.message}") from None
            say(f"Registry of {ref.display()} not reachable ({exc.message}): starting from this cell's image cache")
            return remembered
        except LayerRefused as exc:
            raise ImageUnavailable(f"refused to unpack {ref.display()}: {exc}") from None

    def _entry(
        self, key: str, image: str, reader: ImageReader, manifest: ImageManifest, say: Callable[[str], None]
    ) -> CachedImage:
        entry = self.root / key
        config = manifest.config
        digest = config.manifest_digest
        cached = CachedImage(key, digest, entry / "rootfs", config)
        if (entry / IMAGE_FILE).is_file():
            say(f"Image {image} ({digest}) is in this cell's image cache (cache hit): not pulled again")
            return cached
        with open(self.root / f".{key}.lock", "w") as lock:
            # One instance pulls it; the others starting at the same time wait and reuse it.
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (entry / IMAGE_FILE).is_file():
                say(f"Image {image} ({digest}) is in this cell's image cache (cache hit): not pulled again")
                return cached
            say(f"Pulling image {image} ({digest})")
            scratch = self.root / f".{key}.{uuid.uuid4().hex}"
            try:
                (scratch / "rootfs").mkdir(parents=True)
                (scratch / "layers").mkdir()
                downloaded = pull_layers(
                    reader, manifest, scratch / "rootfs", scratch / "layers", max_size=self.max_size, say=say
                )
                shutil.rmtree(scratch / "layers")
                _make_mount_points(scratch / "rootfs", config.workdir)
                share_with_sandbox(scratch / "rootfs")
                if self.owner is not None:
                    _give(scratch / "rootfs", *self.owner)
                (scratch / IMAGE_FILE).write_text(json.dumps(dataclasses.asdict(config)))
                shutil.rmtree(entry, ignore_errors=True)
                os.rename(scratch, entry)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            say(f"Pulled image {image}: {downloaded} bytes downloaded")
            log.info("image pulled", extra={"image": image, "digest": digest, "bytes": downloaded})
        return cached

    def _remembered(self, droplet_guid: str) -> CachedImage | None:
        """The entry this node unpacked for the droplet before (even before a restart), held."""
        with self._lock:
            for entry in self.root.iterdir():
                if entry.name.startswith(".") or not (entry / DROPLETS / droplet_guid).is_file():
                    continue
                try:
                    config = ImageConfig(**json.loads((entry / IMAGE_FILE).read_text()))
                except (OSError, ValueError, TypeError):
                    return None
                self._users[entry.name] = self._users.get(entry.name, 0) + 1
                return CachedImage(entry.name, config.manifest_digest, entry / "rootfs", config)
        return None

    def _acquire(self, key: str) -> None:
        with self._lock:
            self._users[key] = self._users.get(key, 0) + 1

    def release(self, key: str) -> None:
        with self._lock:
            count = self._users.get(key, 0) - 1
            if count > 0:
                self._users[key] = count
            else:
                self._users.pop(key, None)

    def evict(self, current_droplets: set[str]) -> int:
        """Remove the entries that no current droplet and no instance uses; returns how many went.

        Which droplets an entry serves is kept on disk beside it (``droplets/<guid>``), so a
        restarted server keeps the images of its apps instead of pulling them again."""
        removed = 0
        with self._lock:
            for entry in self.root.iterdir():
                if entry.name.startswith(".") or entry.name in self._users:
                    continue
                marks = entry / DROPLETS
                served = set(os.listdir(marks)) if marks.is_dir() else set()
                for gone in served - current_droplets:
                    (marks / gone).unlink(missing_ok=True)
                if served & current_droplets:
                    continue
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
                log.info("image evicted", extra={"digest": f"sha256:{entry.name}"})
        return removed


def _give(root: Path, uid: int, gid: int) -> None:
    """chown a tree without following any link in it."""
    os.chown(root, uid, gid, follow_symlinks=False)
    for _, dirs, files, dir_fd in os.fwalk(root, follow_symlinks=False):
        for name in (*dirs, *files):
            os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)


def _mark(entry: Path, droplet_guid: str) -> None:
    if _GUID.fullmatch(droplet_guid):
        (entry / DROPLETS).mkdir(exist_ok=True)
        (entry / DROPLETS / droplet_guid).touch()


def _make_mount_points(rootfs: Path, workdir: str) -> None:
    """Directories the sandbox mounts over (and the image's ``WorkingDir``, which docker makes
    when missing), and the files its resolver configuration and hosts go on.

    A name the image holds as something else (a link, a file) is left alone: the jail then does
    without that mount, or resolves the link inside the image."""
    for relative in (*MOUNT_POINTS, workdir.strip("/")):
        _make_directories(rootfs, [part for part in relative.split("/") if part not in ("", ".")])
    if _is_directory(rootfs / "etc"):
        for name in ("resolv.conf", "hosts"):
            with contextlib.suppress(FileExistsError):
                os.close(os.open(rootfs / "etc" / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))


def _make_directories(rootfs: Path, parts: list[str]) -> None:
    here = rootfs
    for part in parts:
        if part == "..":
            return
        here = here / part
        try:
            info = os.lstat(here)
        except FileNotFoundError:
            os.mkdir(here, 0o755)
            continue
        if not stat.S_ISDIR(info.st_mode):
            return


def _is_directory(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
