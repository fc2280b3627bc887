"""Applying an image's layers to a directory, written for layers a hostile registry may serve.

Layers are tar archives (gzip-compressed or not) applied bottom first, with OCI's whiteouts: a
``.wh.<name>`` entry removes ``<name>`` of the layers below, and ``.wh..wh..opq`` in a directory
hides everything the layers below put in it. The rules that keep a layer inside its directory:

- a name that is absolute or has a ``..`` component is refused;
- the directories on the way to an entry are resolved inside the root: a symbolic link on the way
  is followed only if it is relative and stays inside the root (``lib -> usr/lib`` of merged-/usr
  images); an absolute one, or one that climbs out, refuses the entry, since following it on the
  host would write outside the image;
- the entry itself never follows a link: whatever is at its name is removed and replaced;
- a hard link must name a regular file already in the root, reached the same way;
- device nodes and FIFOs are refused (a sandbox has no use for them);
- the bytes of all regular files together (and 512 per entry) may not exceed the size bound.

Symbolic links themselves are kept as they are (absolute ones too, as in ``/bin/sh ->
/bin/busybox``): they are followed only inside the sandbox, whose root is this directory.
Permissions are kept but made readable by everyone and stripped of setuid, setgid and the
group's and others' write bits: the tree is shared, read-only, by every instance of the image.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SUPPORTED_LAYER_TYPES", "LayerRefused", "SizeBudget", "apply_layer", "check_layer_type"]

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
MAX_LINK_HOPS = 40
ENTRY_COST = 512
# Every directory can be listed and entered by every user (the instance's user is whoever the image
# says); nobody but Ladle writes the tree.
DIR_MODE = 0o755
_CHUNK = 1024 * 1024

SUPPORTED_LAYER_TYPES = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    }
)


class LayerRefused(Exception):
    """A layer cannot be applied; the message says which entry and why."""


@dataclass
class SizeBudget:
    """The bytes an image may unpack to, shared by all its layers."""

    limit: int
    used: int = 0

    def take(self, size: int, what: str) -> None:
        self.used += size
        if self.used > self.limit:
            raise LayerRefused(f"{what}: the image unpacks to more than the {self.limit} bytes allowed")


@dataclass
class _Layer:
    root: Path
    label: str
    budget: SizeBudget
    # Paths this layer wrote: an opaque whiteout hides only what the layers below put there.
    written: set[str] = field(default_factory=set)


def check_layer_type(media_type: str, label: str) -> None:
    if media_type and media_type not in SUPPORTED_LAYER_TYPES:
        raise LayerRefused(f"{label}: layers of type {media_type!r} are not supported (only tar and tar+gzip)")


def apply_layer(archive: Path, root: Path, *, budget: SizeBudget, label: str) -> None:
    """Apply the layer tarball ``archive`` (plain or gzip) on top of ``root``."""
    layer = _Layer(root, label, budget)
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for member in tar:
                _apply(layer, tar, member)
    except tarfile.TarError as exc:
        raise LayerRefused(f"{label} is not a valid tar archive: {exc}") from None
    except (EOFError, OSError, zlib.error) as exc:
        raise LayerRefused(f"{label} could not be unpacked: {exc}") from None


def _clean(layer: _Layer, name: str) -> list[str]:
    if name.startswith("/"):
        raise LayerRefused(f"{layer.label}: entry {name!r} has an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise LayerRefused(f"{layer.label}: entry {name!r} leads outside the image (a '..' component)")
    return parts


def _apply(layer: _Layer, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    # Every entry counts a header's worth too, so millions of empty ones cannot exhaust inodes.
    layer.budget.take(ENTRY_COST, f"{layer.label}: entry {member.name!r}")
    parts = _clean(layer, member.name)
    if not parts:
        return  # the root itself ("./")
    *parents, name = parts
    if name.startswith(WHITEOUT_PREFIX):
        directory = _directory(layer, parents, member.name, create=False)
        if directory is None:
            return  # nothing below to hide
        if name == OPAQUE_WHITEOUT:
            _hide_lower(layer, directory, "/".join(parents))
        elif not name.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):  # .wh..wh.* are aufs's own bookkeeping
            hidden = name[len(WHITEOUT_PREFIX) :]
            if hidden in ("", ".", ".."):
                raise LayerRefused(f"{layer.label}: entry {member.name!r} is a malformed whiteout")
            _remove(directory / hidden)
        return
    if member.ischr() or member.isblk() or member.isfifo():
        kind = "a FIFO" if member.isfifo() else "a device node"
        raise LayerRefused(f"{layer.label}: entry {member.name!r} is {kind}, which images may not hold")
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        raise LayerRefused(f"{layer.label}: entry {member.name!r} is of an unsupported type {member.type!r}")
    directory = _directory(layer, parents, member.name, create=True)
    assert directory is not None
    target = directory / name
    relative = "/".join(parts)
    layer.written.add(relative)
    if member.isdir():
        info = _lstat(target)
        if info is None or not stat.S_ISDIR(info.st_mode):
            _remove(target)
            os.mkdir(target, 0o755)
        os.chmod(target, DIR_MODE)
        return
    _remove(target)
    if member.issym():
        os.symlink(member.linkname, target)
    elif member.islnk():
        os.link(_link_source(layer, member), target, follow_symlinks=False)
    else:
        layer.budget.take(member.size, f"{layer.label}: entry {member.name!r}")
        _write(tar, member, target)


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    source = tar.extractfile(member)
    assert source is not None
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(source, out, _CHUNK)
        os.fchmod(out.fileno(), _file_mode(member.mode))


def _link_source(layer: _Layer, member: tarfile.TarInfo) -> Path:
    parts = _clean(layer, member.linkname)
    if not parts:
        raise LayerRefused(f"{layer.label}: hard link {member.name!r} names the image's root")
    directory = _directory(layer, parts[:-1], member.name, create=False)
    source = directory / parts[-1] if directory is not None else None
    info = _lstat(source) if source is not None else None
    if source is None or info is None or not stat.S_ISREG(info.st_mode):
        raise LayerRefused(
            f"{layer.label}: hard link {member.name!r} must name a regular file of the image, not {member.linkname!r}"
        )
    return source


def _directory(layer: _Layer, parts: list[str], entry: str, *, create: bool) -> Path | None:
    """The real directory ``parts`` leads to inside the root, following only links that stay inside.

    With ``create``, missing directories are made (as docker does for entries whose parents the
    archive does not list); without, None is returned for a missing one."""
    resolved: list[str] = []
    pending = list(parts)
    hops = 0
    while pending:
        part = pending.pop(0)
        here = layer.root.joinpath(*resolved, part)
        info = _lstat(here)
        if info is None:
            if not create:
                return None
            os.mkdir(here, 0o755)
            resolved.append(part)
        elif stat.S_ISDIR(info.st_mode):
            resolved.append(part)
        elif stat.S_ISLNK(info.st_mode):
            target = os.readlink(here)
            hops += 1
            where = "/" + "/".join([*resolved, part])
            if target.startswith("/"):
                raise LayerRefused(
                    f"{layer.label}: entry {entry!r} would be written through the absolute symbolic link "
                    f"{where} -> {target}, which points outside the image"
                )
            joined = posixpath.normpath(posixpath.join(*resolved, target) if resolved else target)
            if joined == ".." or joined.startswith("../"):
                raise LayerRefused(
                    f"{layer.label}: entry {entry!r} would be written through the symbolic link "
                    f"{where} -> {target}, which leads outside the image"
                )
            if hops > MAX_LINK_HOPS:
                raise LayerRefused(f"{layer.label}: entry {entry!r} is behind too many symbolic links")
            pending = [p for p in joined.split("/") if p not in ("", ".")] + pending
            resolved = []
        else:
            where = "/" + "/".join([*resolved, part])
            raise LayerRefused(f"{layer.label}: entry {entry!r} needs {where} to be a directory, and it is not")
    return layer.root.joinpath(*resolved)


def _hide_lower(layer: _Layer, directory: Path, relative: str) -> None:
    """An opaque directory: remove what lower layers put in it, keeping this layer's own entries."""
    for entry in os.scandir(directory):
        path = f"{relative}/{entry.name}" if relative else entry.name
        if path not in layer.written:
            _remove(Path(entry.path))
        elif entry.is_dir(follow_symlinks=False):
            _hide_lower(layer, Path(entry.path), path)


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _remove(path: Path) -> None:
    info = _lstat(path)
    if info is None:
        return
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(path)  # never follows links: a link inside is removed, not what it points to
    else:
        os.unlink(path)


def _file_mode(mode: int) -> int:
    mode &= 0o755
    return mode | 0o444 | (0o111 if mode & 0o100 else 0)
