"""Real buildpacks for tests: directories of bash scripts, zipped or committed to a git repository."""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["git_repository", "write_buildpack", "zip_directory"]

HEADER = "#!/bin/bash\nset -euo pipefail\n"


def write_buildpack(
    root: Path, scripts: Mapping[str, str], files: Mapping[str, str] | None = None, *, raw: bool = False
) -> Path:
    """A buildpack at ``root``: ``scripts`` go to ``bin/`` (executable), ``files`` anywhere else."""
    (root / "bin").mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        path = root / "bin" / name
        path.write_text(body if raw else HEADER + body)
        path.chmod(0o755)
    for relative, content in (files or {}).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def zip_directory(root: Path, *, prefix: str = "") -> bytes:
    """Zip a directory keeping file modes (so bin/ scripts stay executable)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo.from_file(path, prefix + str(path.relative_to(root)))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    return out.getvalue()


def git_repository(root: Path, branch: str = "main") -> str:
    """Commit ``root`` (already holding files) to a git repository on ``branch``; returns a file:// URL."""

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q", "-b", branch)
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "buildpack")
    return f"file://{root}"
