"""Unpacking archives Ladle has checked into a staging directory."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

from ladle.bits.archive import ArchiveLimits, InvalidArchive, inspect_zip, iter_entry_data

__all__ = ["extract_tgz", "extract_zip"]


def extract_zip(path: Path, dest: Path, limits: ArchiveLimits, *, verify_data: bool = False) -> None:
    """Check names and links again, then unpack with unzip (which keeps file modes)."""
    archive = inspect_zip(path, limits, verify_data=verify_data)
    dest.mkdir(parents=True, exist_ok=True)
    if shutil.which("unzip"):
        result = subprocess.run(
            ["unzip", "-qq", "-o", str(path), "-d", str(dest)], capture_output=True, text=True, check=False
        )
        # unzip exits 1 for warnings it recovered from; anything above is a failure.
        if result.returncode > 1:
            raise InvalidArchive(f"The app upload is invalid: Invalid zip archive. {result.stderr.strip()}")
        return
    with zipfile.ZipFile(path) as zf:
        for entry in archive.entries:
            target = dest / entry.path
            if entry.kind == "dir":
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if entry.kind == "symlink":
                target.symlink_to(b"".join(iter_entry_data(zf, entry)).decode())
                continue
            with open(target, "wb") as out:
                for chunk in iter_entry_data(zf, entry):
                    out.write(chunk)
            target.chmod((entry.mode or 0o644) | 0o600)


def extract_tgz(path: Path, dest: Path) -> None:
    """Unpack a gzipped tarball refusing absolute paths, ``..``, escaping links and devices."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "r:gz") as tar:
        tar.extractall(dest, filter="data")
