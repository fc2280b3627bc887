"""Packing a staged droplet (and the build cache) into gzipped tarballs.

The tarball is deterministic: entries sorted by name, one fixed modification time, owner
vcap (2000), and a gzip header without a name or time. The same app and buildpacks give the
same bytes. GNU tar and gzip do the packing (pigz when installed: compressing is most of a
staging's time, pigz spreads it over the cores, and its output does not depend on how many).
The bytes are hashed on their way to a file that the caller then moves into the blob store, so
a failed pack never reaches the store.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ladle.blobstore.base import Digest
from ladle.blobstore.digest import HashingWriter

__all__ = ["PackFailed", "pack_directory"]

FIXED_MTIME = "@315532800"  # 1980-01-01T00:00:00Z


class PackFailed(Exception):
    pass


def pack_directory(root: Path, out: Path) -> Digest:
    """Write ``root``'s contents (as ``./...`` members) to ``out`` as a deterministic .tgz."""
    tar = subprocess.Popen(
        [
            "tar",
            "-C",
            str(root),
            "--sort=name",
            f"--mtime={FIXED_MTIME}",
            "--owner=2000",
            "--group=2000",
            "--numeric-owner",
            "--format=gnu",
            "-cf",
            "-",
            ".",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    compressor = shutil.which("pigz") or "gzip"
    gzip = subprocess.Popen([compressor, "-n", "-6"], stdin=tar.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert tar.stdout is not None and gzip.stdout is not None
    tar.stdout.close()  # gzip owns it now; tar sees SIGPIPE if gzip dies
    try:
        with open(out, "wb") as fh:
            writer = HashingWriter(fh)
            while chunk := gzip.stdout.read(1024 * 1024):
                writer.write(chunk)
            digest = writer.finish()
    finally:
        gzip_err = gzip.communicate()[1]
        tar_err = tar.communicate()[1]
    if tar.returncode != 0 or gzip.returncode != 0:
        out.unlink(missing_ok=True)
        detail = (tar_err or gzip_err or b"").decode(errors="replace").strip()
        raise PackFailed(detail or f"tar exited {tar.returncode}, gzip exited {gzip.returncode}")
    return digest
