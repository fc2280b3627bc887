"""Droplets unpacked once per node and shared, read-only, by every instance and task that runs them."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tarfile
import uuid
from pathlib import Path

from ladle.blobstore import BlobNotFound, Blobstore
from ladle.private_data import share_with_sandbox
from ladle.sandbox import Mount

__all__ = ["DropletCache", "DropletMissing", "droplet_mounts", "extract_droplet"]

log = logging.getLogger("ladle.runner")

COMPLETE = ".ladle-complete"


class DropletMissing(Exception):
    """The droplet's bits are not in the blob store."""


class DropletCache:
    def __init__(self, root: Path, store: Blobstore) -> None:
        self.root = root
        self.store = store
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, droplet_guid: str) -> Path:
        return self.root / droplet_guid

    def get(self, droplet_guid: str) -> Path:
        """The droplet's unpacked root (``app/``, ``deps/``, ``profile.d/``, ``staging_info.yml``)."""
        target = self.path(droplet_guid)
        if (target / COMPLETE).exists():
            return target
        with open(self.root / f".{droplet_guid}.lock", "w") as lock:
            # One instance unpacks it; the others starting at the same time wait and reuse it.
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (target / COMPLETE).exists():
                return target
            scratch = self.root / f".{droplet_guid}.{uuid.uuid4().hex}"
            archive = scratch.with_suffix(".tgz")
            try:
                try:
                    with self.store.open(droplet_guid) as blob, open(archive, "wb") as out:
                        shutil.copyfileobj(blob, out, 1024 * 1024)
                except BlobNotFound:
                    raise DropletMissing(droplet_guid) from None
                extract_droplet(archive, scratch)
                for empty in ("app", "tmp", "logs"):
                    (scratch / empty).mkdir(exist_ok=True)
                share_with_sandbox(scratch)
                (scratch / COMPLETE).touch()
                shutil.rmtree(target, ignore_errors=True)
                os.replace(scratch, target)
                log.info("droplet unpacked", extra={"droplet": droplet_guid})
            finally:
                archive.unlink(missing_ok=True)
                shutil.rmtree(scratch, ignore_errors=True)
        return target

    def evict(self, keep: set[str]) -> int:
        """Remove unpacked droplets nothing runs any more; returns how many went."""
        removed = 0
        for entry in self.root.iterdir():
            if entry.name.startswith(".") or entry.name in keep:
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
        return removed


def extract_droplet(archive: Path, dest: Path) -> None:
    """Unpack a droplet as an instance will see it.

    A droplet may hold symbolic links to absolute paths (``deps/0/bin/python`` to the stack's
    ``/usr/bin/python3``): they are kept, since they are only ever followed inside the jail.
    Everything else follows the ``data`` rules (no absolute or escaping names, no devices, hard
    links inside), and no member may be written through a link the archive made, so a hostile
    droplet cannot reach outside ``dest``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    links: list[str] = []

    def keep_links(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        name = member.name.removeprefix("./")
        if any(name == link or name.startswith(link + "/") for link in links):
            raise tarfile.OutsideDestinationError(member, os.path.join(path, name))
        if member.issym():
            links.append(name)
            return tarfile.tar_filter(member, path)
        return tarfile.data_filter(member, path)

    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(dest, filter=keep_links)


def droplet_mounts(root: Path, state_dir: Path, home_inside: str = "/home/vcap") -> list[Mount]:
    """How an instance or a task sees its droplet: ``app``, ``deps`` and ``profile.d`` read-only
    under ``/home/vcap``; it writes only to ``tmp`` and ``logs`` of its own (made here, in
    ``state_dir/home``, which the jail shows as ``/home/vcap``)."""
    for writable in ("tmp", "logs"):
        (state_dir / "home" / writable).mkdir(parents=True, exist_ok=True)
    parts = ["app", *(p for p in ("deps", "profile.d") if (root / p).is_dir())]
    return [Mount(root / part, f"{home_inside}/{part}", writable=False) for part in parts]
