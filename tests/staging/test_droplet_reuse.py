"""A restage that produces the same files as an earlier droplet of the app takes that droplet's
bits instead of packing them again; anything different is packed anew."""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ladle.staging.droplet import compress_file, pack_directory, tar_to_file
from tests.staging.helpers import droplet_members, ready_package, stage
from tests.support.buildpacks import git_repository, write_buildpack
from tests.support.cf import World

RELEASE = "cat <<YAML\n---\ndefault_process_types:\n  web: ./start.sh\nYAML\n"
REUSED = "Droplet unchanged: the same files as droplet"


def _lifecycle(tmp_path: Path, compile_script: str) -> dict[str, Any]:
    bp = write_buildpack(tmp_path / "bp", {"compile": compile_script, "release": RELEASE})
    return {"type": "buildpack", "data": {"buildpacks": [git_repository(bp)]}}


def _log(world: World, build: dict[str, Any]) -> str:
    return str(world.admin.get(f"/v3/builds/{build['guid']}/logs").text)


def _checksum(world: World, build: dict[str, Any]) -> dict[str, Any]:
    droplet = world.admin.get(f"/v3/droplets/{build['droplet']['guid']}").json()
    return dict(droplet["checksum"])


def test_a_restage_with_the_same_files_takes_the_earlier_droplets_bits(world: World, tmp_path: Path) -> None:
    lifecycle = _lifecycle(tmp_path, 'echo built > "$1/built.txt"\n')
    app = world.app()
    package = ready_package(world, app, {"app.py": "print('same')\n", "start.sh": "exec python app.py\n"})
    first = stage(world, package, lifecycle=lifecycle)
    second = stage(world, package, lifecycle=lifecycle)
    assert first["state"] == second["state"] == "STAGED"
    assert f"{REUSED} {first['droplet']['guid']}" in _log(world, second)
    assert REUSED not in _log(world, first)
    assert _checksum(world, first) == _checksum(world, second)

    # The bits are the second droplet's own: deleting the first leaves them whole.
    r = world.admin.delete(f"/v3/droplets/{first['droplet']['guid']}")
    assert r.status_code == 202
    assert world.admin.wait_for_job(r.headers["location"])["state"] == "COMPLETE"
    members = droplet_members(world, second["droplet"]["guid"])
    assert members["./app/built.txt"] == b"built\n"
    assert members["./app/app.py"] == b"print('same')\n"


def test_different_files_are_packed_anew(world: World, tmp_path: Path) -> None:
    # A buildpack whose output differs every time (a build stamp).
    lifecycle = _lifecycle(tmp_path, 'date +%s%N > "$1/stamp"\n')
    app = world.app()
    package = ready_package(world, app, {"start.sh": "exec true\n"})
    first = stage(world, package, lifecycle=lifecycle)
    second = stage(world, package, lifecycle=lifecycle)
    assert first["state"] == second["state"] == "STAGED"
    assert REUSED not in _log(world, second)
    assert _checksum(world, first) != _checksum(world, second)
    stamps = {droplet_members(world, b["droplet"]["guid"])["./app/stamp"] for b in (first, second)}
    assert len(stamps) == 2


def test_another_apps_identical_droplet_is_not_used(world: World, tmp_path: Path) -> None:
    lifecycle = _lifecycle(tmp_path, "true\n")
    files: dict[str, str | bytes] = {"start.sh": "exec true\n"}
    one, other = world.app(), world.app()
    stage(world, ready_package(world, one, files), lifecycle=lifecycle)
    build = stage(world, ready_package(world, other, files), lifecycle=lifecycle)
    assert build["state"] == "STAGED"
    assert REUSED not in _log(world, build)


def test_a_candidate_whose_bits_went_is_passed_over(world: World, tmp_path: Path) -> None:
    lifecycle = _lifecycle(tmp_path, "true\n")
    app = world.app()
    package = ready_package(world, app, {"start.sh": "exec true\n"})
    first = stage(world, package, lifecycle=lifecycle)
    # Its blob is gone (as if deleted between the look-up and the copy): the restage packs.
    world.server.deps.blobstores.droplets.delete(first["droplet"]["guid"])
    second = stage(world, package, lifecycle=lifecycle)
    assert second["state"] == "STAGED"
    assert REUSED not in _log(world, second)
    assert _checksum(world, second) == _checksum(world, first)  # packing is deterministic
    assert "./app/start.sh" in droplet_members(world, second["droplet"]["guid"])


def content_digest(root: Path) -> str:
    return tar_to_file(root, root.parent / f"{root.name}.tar")


def _tree(root: Path) -> Path:
    (root / "app" / "sub").mkdir(parents=True)
    (root / "app" / "a.txt").write_text("a\n")
    (root / "app" / "sub" / "b.bin").write_bytes(os.urandom(3000))
    (root / "app" / "link").symlink_to("a.txt")
    return root


@pytest.mark.parametrize(
    "change",
    ["content", "mode", "link target", "new empty directory", "hard link", "rename"],
)
def test_the_content_digest_changes_with_anything_the_droplet_holds(tmp_path: Path, change: str) -> None:
    root = _tree(tmp_path / "tree")
    before = content_digest(root)
    assert content_digest(root) == before  # the same tree, the same digest
    app = root / "app"
    if change == "content":
        (app / "a.txt").write_text("b\n")  # same size, other bytes
    elif change == "mode":
        (app / "a.txt").chmod(0o755)
    elif change == "link target":
        (app / "link").unlink()
        (app / "link").symlink_to("sub/b.bin")
    elif change == "new empty directory":
        (app / "empty").mkdir()
    elif change == "hard link":
        (app / "c.txt").write_text("a\n")
        before = content_digest(root)
        (app / "c.txt").unlink()
        os.link(app / "a.txt", app / "c.txt")  # same names and bytes, now one file twice
    elif change == "rename":
        (app / "a.txt").rename(app / "z.txt")
        (app / "link").unlink()
        (app / "link").symlink_to("z.txt")
    assert content_digest(root) != before


def test_packing_reports_the_digest_of_what_it_compressed(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    packed = pack_directory(root, tmp_path / "out.tgz")
    with open(tmp_path / "out.tgz", "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == packed.digest.sha256
    with gzip.open(tmp_path / "out.tgz", "rb") as raw:
        assert hashlib.sha256(raw.read()).hexdigest() == packed.content_sha256 == content_digest(root)
    with tarfile.open(tmp_path / "out.tgz") as tar:
        assert {"./app/a.txt", "./app/link", "./app/sub/b.bin"} <= set(tar.getnames())
    again = pack_directory(root, tmp_path / "again.tgz")
    assert again == packed  # deterministic, to the byte
    # A restage that found no match compresses the tar stream its look wrote: the same bytes.
    content = tar_to_file(root, tmp_path / "tree.tar")
    assert content == packed.content_sha256
    assert compress_file(tmp_path / "tree.tar", tmp_path / "from-file.tgz") == packed.digest
