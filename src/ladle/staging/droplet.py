"""Packing a staged droplet (and the build cache) into gzipped tarballs.

The tarball is deterministic: entries sorted by name, one fixed modification time, owner
vcap (2000), and a gzip header without a name or time. The same app and buildpacks give the
same bytes. GNU tar and gzip do the packing (pigz when installed: compressing is most of a
staging's time, pigz spreads it over the cores, and its output does not depend on how many).
The bytes are hashed on their way to a file that the caller then moves into the blob store, so
a failed pack never reaches the store.

Packing also hashes the tar stream before it is compressed: its *content digest*. Two trees
with the same content digest pack to droplets holding the same files (names, kinds, modes,
links and bytes), so a restage whose tree has the digest of an earlier droplet can take that
droplet's bits instead of compressing them again (``droplet_reuse.py``).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ladle.blobstore.base import Digest
from ladle.blobstore.digest import CHUNK, HashingWriter

__all__ = ["PackFailed", "Packed", "compress_file", "pack_directory", "tar_to_file"]

FIXED_MTIME = "@315532800"  # 1980-01-01T00:00:00Z
TAR_OPTIONS = (
    "--sort=name",
    f"--mtime={FIXED_MTIME}",
    "--owner=2000",
    "--group=2000",
    "--numeric-owner",
    "--format=gnu",
)
GZIP_OPTIONS = ("-n", "-6")


class PackFailed(Exception):
    pass


@dataclass(frozen=True)
class Packed:
    digest: Digest  # of the .tgz, as stored
    content_sha256: str  # of the tar stream inside it


def _tar(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["tar", "-C", str(root), *TAR_OPTIONS, "-cf", "-", "."], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _failed(tar_err: bytes, other_err: bytes, tar: int | None, other: str) -> PackFailed:
    detail = (tar_err or other_err or b"").decode(errors="replace").strip()
    return PackFailed(detail or f"tar exited {tar}, {other}")


def tar_to_file(root: Path, out: Path) -> str:
    """Write ``root``'s tar stream, uncompressed, to ``out``: its content digest. Much cheaper
    than packing (no compressing); ``compress_file`` then makes the same .tgz that
    ``pack_directory`` would, without reading the tree again."""
    tar = _tar(root)
    assert tar.stdout is not None
    content = hashlib.sha256()
    try:
        with open(out, "wb") as fh:
            while chunk := tar.stdout.read(CHUNK):
                content.update(chunk)
                fh.write(chunk)
    except BaseException:
        tar.kill()
        raise
    finally:
        tar_err = _finish(tar)
    if tar.returncode != 0:
        out.unlink(missing_ok=True)
        raise _failed(tar_err, b"", tar.returncode, "while writing the tar stream")
    return content.hexdigest()


def compress_file(tar_path: Path, out: Path) -> Digest:
    """The .tgz of a tar stream ``tar_to_file`` wrote: the bytes ``pack_directory`` writes."""
    compressor = _compressor()
    with open(tar_path, "rb") as source:
        gzip = subprocess.Popen(
            [compressor, *GZIP_OPTIONS], stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    assert gzip.stdout is not None
    try:
        digest = _write_hashed(gzip.stdout, out)
    except BaseException:
        gzip.kill()
        raise
    finally:
        gzip_err = _finish(gzip)
    if gzip.returncode != 0:
        out.unlink(missing_ok=True)
        raise _failed(b"", gzip_err, None, f"{compressor} exited {gzip.returncode}")
    return digest


def _write_hashed(source: IO[bytes], out: Path) -> Digest:
    with open(out, "wb") as fh:
        writer = HashingWriter(fh)
        while chunk := source.read(CHUNK):
            writer.write(chunk)
        return writer.finish()


def _compressor() -> str:
    return shutil.which("pigz") or "gzip"


def _relay(source: IO[bytes], sink: IO[bytes], content: hashlib._Hash, failures: list[BaseException]) -> None:
    """tar's stream into the compressor, hashed on its way (hashlib lets go of the GIL for
    chunks this size, so the hashing runs beside the reading of the compressed output)."""
    try:
        while chunk := source.read(CHUNK):
            content.update(chunk)
            sink.write(chunk)
    except BaseException as exc:  # the compressor died (a broken pipe): its own error says why
        failures.append(exc)
    finally:
        source.close()  # tar sees SIGPIPE if the compressor died
        try:
            sink.close()
        except OSError as exc:
            failures.append(exc)


def _finish(process: subprocess.Popen[bytes]) -> bytes:
    """Wait for a process whose output has been read (or who was killed): its stderr."""
    assert process.stderr is not None
    with process.stderr:
        err = process.stderr.read()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()
    return err


def pack_directory(root: Path, out: Path) -> Packed:
    """Write ``root``'s contents (as ``./...`` members) to ``out`` as a deterministic .tgz."""
    tar = _tar(root)
    compressor = _compressor()
    gzip = subprocess.Popen(
        [compressor, *GZIP_OPTIONS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert tar.stdout is not None and gzip.stdin is not None and gzip.stdout is not None
    content = hashlib.sha256()
    failures: list[BaseException] = []
    relay = threading.Thread(target=_relay, args=(tar.stdout, gzip.stdin, content, failures), daemon=True)
    relay.start()
    finished = False
    try:
        digest = _write_hashed(gzip.stdout, out)
        finished = True
    finally:
        if not finished:  # the output could not be written: stop both before waiting for them
            gzip.kill()
            tar.kill()
        relay.join()
        # Not communicate(): the relay has closed gzip's stdin, which communicate would flush.
        gzip_err = _finish(gzip)
        tar_err = _finish(tar)
    if tar.returncode != 0 or gzip.returncode != 0 or failures:
        out.unlink(missing_ok=True)
        raise _failed(tar_err, gzip_err, tar.returncode, f"{compressor} exited {gzip.returncode}")
    return Packed(digest, content.hexdigest())
