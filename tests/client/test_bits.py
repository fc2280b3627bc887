"""What ``ladle push`` sends from a directory: .cfignore (gitignore syntax) plus CF's defaults,
fingerprints as resource_matches takes them, and a zip that keeps modes."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from ladle.client.bits import scan, write_zip


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_ignores_and_fingerprints(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "app.py": "print('hi')\n",
            "manifest.yml": "applications: []\n",
            "sub/manifest.yml": "only the top one is ignored\n",
            ".git/HEAD": "ref\n",
            ".gitignore": "x\n",
            ".cfignore": "*.log\n!keep.log\nnode_modules/\n/tmp\n",
            "debug.log": "no\n",
            "keep.log": "yes\n",
            "node_modules/a/index.js": "no\n",
            "tmp/scratch": "no\n",
            "lib/tmp/kept": "yes\n",
            ".DS_Store": "no\n",
            "empty": "",
        },
    )
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    (tmp_path / "run.sh").chmod(0o755)
    (tmp_path / "link").symlink_to(tmp_path / "app.py")  # links are not pushed
    files = {f.path: f for f in scan(tmp_path)}
    assert sorted(files) == ["app.py", "empty", "keep.log", "lib/tmp/kept", "run.sh", "sub/manifest.yml"]
    assert files["app.py"].resource() == {
        "path": "app.py",
        "mode": "644",
        "checksum": {"value": hashlib.sha1(b"print('hi')\n").hexdigest()},
        "size_in_bytes": 12,
    }
    assert files["run.sh"].resource()["mode"] == "755"

    archive = write_zip([files["run.sh"], files["lib/tmp/kept"]], directory=str(tmp_path))
    try:
        with zipfile.ZipFile(archive) as zf:
            assert zf.namelist() == ["run.sh", "lib/tmp/kept"]
            assert (zf.getinfo("run.sh").external_attr >> 16) & 0o777 == 0o755
            assert zf.read("lib/tmp/kept") == b"yes\n"
    finally:
        archive.unlink()
