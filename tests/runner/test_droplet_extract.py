"""Unpacking droplets for instances: links to the stack's absolute paths are kept (they resolve
inside the jail), nothing is ever written outside the destination."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from ladle.runner.droplets import extract_droplet


def _droplet(path: Path, members: list[tuple[str, str, str]]) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for kind, name, arg in members:
            info = tarfile.TarInfo(name)
            if kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, arg
                tar.addfile(info)
            else:
                data = arg.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())
    return path


def test_links_to_the_stack_are_kept(tmp_path: Path) -> None:
    archive = _droplet(
        tmp_path / "ok.tgz", [("link", "./deps/0/bin/python", "/usr/bin/python3"), ("file", "./app/main.py", "x")]
    )
    extract_droplet(archive, tmp_path / "out")
    assert os.readlink(tmp_path / "out/deps/0/bin/python") == "/usr/bin/python3"
    assert (tmp_path / "out/app/main.py").read_text() == "x"


@pytest.mark.parametrize(
    "members",
    [
        [("link", "./escape", str(Path("/tmp"))), ("file", "./escape/planted", "x")],
        [("file", "../planted", "x")],
    ],
    ids=["through-a-link", "dot-dot"],
)
def test_nothing_is_written_outside(tmp_path: Path, members: list[tuple[str, str, str]]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    fixed = [(k, n, str(outside) if a == "/tmp" else a) for k, n, a in members]
    archive = _droplet(tmp_path / "bad.tgz", fixed)
    dest = tmp_path / "out"
    with pytest.raises(tarfile.TarError):
        extract_droplet(archive, dest)
    assert not (outside / "planted").exists()
    assert not (tmp_path / "planted").exists()


def test_absolute_names_land_inside(tmp_path: Path) -> None:
    archive = _droplet(tmp_path / "abs.tgz", [("file", "/planted-absolute", "x")])
    extract_droplet(archive, tmp_path / "out")
    assert (tmp_path / "out/planted-absolute").read_text() == "x"
    assert not Path("/planted-absolute").exists()
