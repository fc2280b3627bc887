"""An app directory as the cf CLI sees it: the files to push (``.cfignore`` and CF's default
ignores applied), their fingerprints for resource matching, and a zip of the ones to upload."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pathspec

__all__ = ["DEFAULT_IGNORES", "AppFile", "scan", "write_zip"]

# What the cf CLI never uploads, whatever .cfignore says (gitignore syntax).
DEFAULT_IGNORES = (".cfignore", "/manifest.yml", ".gitignore", ".git", ".hg", ".svn", "_darcs", ".DS_Store")
CHUNK = 1 << 20


@dataclass(frozen=True)
class AppFile:
    path: str  # relative, with forward slashes
    source: Path
    size: int
    mode: int
    sha1: str

    def resource(self) -> dict[str, Any]:
        """The entry ``POST /v3/resource_matches`` and the upload's ``resources`` field take."""
        return {
            "path": self.path,
            "mode": format(self.mode, "o"),
            "checksum": {"value": self.sha1},
            "size_in_bytes": self.size,
        }


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec:
    lines = list(DEFAULT_IGNORES)
    cfignore = root / ".cfignore"
    if cfignore.is_file():
        lines.extend(cfignore.read_text().splitlines())
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _sha1(path: Path) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def scan(root: Path) -> list[AppFile]:
    """The regular files under ``root`` that would be pushed, in path order."""
    spec = _ignore_spec(root)
    found: list[AppFile] = []
    for directory, subdirs, names in os.walk(root):
        relative_dir = Path(directory).relative_to(root)
        # Pruning ignored directories keeps a .git or node_modules of any size from being walked.
        subdirs[:] = sorted(d for d in subdirs if not spec.match_file(f"{(relative_dir / d).as_posix()}/"))
        for name in sorted(names):
            relative = (relative_dir / name).as_posix()
            if spec.match_file(relative):
                continue
            source = Path(directory) / name
            info = source.lstat()
            # Regular files only: a symlink could carry a file from outside the app (a key in
            # the user's home) into the package.
            if not stat.S_ISREG(info.st_mode):
                continue
            found.append(AppFile(relative, source, info.st_size, stat.S_IMODE(info.st_mode), _sha1(source)))
    return found


def write_zip(files: Iterable[AppFile], directory: str | None = None) -> Path:
    """A zip of ``files`` in a temporary file (the caller deletes it); modes kept."""
    fd, name = tempfile.mkstemp(prefix="ladle-push-", suffix=".zip", dir=directory)
    os.close(fd)
    with zipfile.ZipFile(name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in files:
            info = zipfile.ZipInfo.from_file(item.source, item.path)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | item.mode) << 16
            with item.source.open("rb") as src, archive.open(info, "w") as dst:
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
    return Path(name)
