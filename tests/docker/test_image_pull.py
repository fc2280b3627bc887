"""Pulling and unpacking images from a real registry on loopback into the runner's image cache,
with layers built here: ordinary ones, whiteouts, and hostile ones that must be refused."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ladle.docker.layers import LayerRefused, SizeBudget, apply_layer
from ladle.runner.images import DockerSource, ImageCache, ImageUnavailable
from tests.support.registry import RunningRegistry, blob_path, image_config, push_image, run_registry

Entry = tuple[str, bytes, bytes, str, int]


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", *, link: str = "", mode: int = 0o644) -> Entry:
    return (name, kind, data, link, mode)


def layer(*entries: Entry) -> bytes:
    """A gzipped tar with exactly these entries, in this order (types tarfile.add would never make included)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data, link, mode in entries:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode, info.size = kind, link, mode, len(data)
            if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                info.devmajor, info.devminor = 1, 3
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return gzip.compress(raw.getvalue(), mtime=0)


def apply(tmp_path: Path, root: Path, blob: bytes, limit: int = 1 << 30) -> None:
    archive = tmp_path / f"layer-{os.urandom(4).hex()}.tgz"
    archive.write_bytes(blob)
    apply_layer(archive, root, budget=SizeBudget(limit), label="layer 1")


def tree(root: Path) -> dict[str, str]:
    """Every path under root: 'dir', 'file:<content>' or 'link:<target>'."""
    out: dict[str, str] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = f"link:{os.readlink(path)}"
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = f"file:{path.read_bytes().decode()}"
    return out


# --- applying layers ------------------------------------------------------------------------------


def test_layers_apply_in_order_with_whiteouts_and_links(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    apply(
        tmp_path,
        root,
        layer(
            entry("./", tarfile.DIRTYPE, mode=0o755),
            entry("usr/lib/", tarfile.DIRTYPE),
            entry("lib", tarfile.SYMTYPE, link="usr/lib"),
            entry("bin/sh", tarfile.SYMTYPE, link="/bin/busybox"),
            entry("etc/secret", data=b"s", mode=0o4600),
            entry("etc/gone", data=b"g"),
            entry("opt/old/a", data=b"a"),
            entry("opt/keep", data=b"k"),
        ),
    )
    apply(
        tmp_path,
        root,
        layer(
            entry("etc/.wh.gone"),
            entry("opt/new", data=b"n"),
            entry("opt/.wh..wh..opq"),
            entry("lib/libx.so", data=b"x"),  # through a relative link that stays inside
            entry("etc/hard", tarfile.LNKTYPE, link="etc/secret"),
        ),
    )
    assert tree(root) == {
        "usr": "dir",
        "usr/lib": "dir",
        "usr/lib/libx.so": "file:x",
        "lib": "link:usr/lib",
        "bin": "dir",
        "bin/sh": "link:/bin/busybox",
        "etc": "dir",
        "etc/secret": "file:s",
        "etc/hard": "file:s",
        "opt": "dir",
        "opt/new": "file:n",
    }
    # Readable by everyone, no setuid; the hard link is the same file.
    assert (root / "etc/secret").stat().st_mode & 0o7777 == 0o644
    assert os.stat(root / "etc/hard").st_ino == os.stat(root / "etc/secret").st_ino


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (layer(entry("../outside", data=b"x")), "leads outside the image (a '..' component)"),
        (layer(entry("a/../../outside", data=b"x")), "leads outside the image"),
        (layer(entry("/etc/outside", data=b"x")), "has an absolute path"),
        (
            layer(entry("escape", tarfile.SYMTYPE, link="/OUT"), entry("escape/file", data=b"x")),
            "would be written through the absolute symbolic link /escape -> /OUT, which points outside the image",
        ),
        (
            layer(entry("up", tarfile.SYMTYPE, link="../.."), entry("up/file", data=b"x")),
            "would be written through the symbolic link /up -> ../.., which leads outside the image",
        ),
        (layer(entry("dev/mem", tarfile.CHRTYPE)), "is a device node, which images may not hold"),
        (layer(entry("dev/sda", tarfile.BLKTYPE)), "is a device node"),
        (layer(entry("pipe", tarfile.FIFOTYPE)), "is a FIFO"),
        (layer(entry("hard", tarfile.LNKTYPE, link="../../etc/passwd")), "leads outside the image"),
        (layer(entry("hard", tarfile.LNKTYPE, link="nothing")), "must name a regular file of the image"),
        (layer(entry("big", data=b"x" * 6000)), "unpacks to more than the 5000 bytes allowed"),
        (layer(*(entry(f"e{i}", tarfile.DIRTYPE) for i in range(10))), "unpacks to more than the 5000 bytes allowed"),
        (b"not a tar at all", "is not a valid tar archive"),
    ],
)
def test_hostile_layers_are_refused(tmp_path: Path, blob: bytes, reason: str) -> None:
    outside = tmp_path / "OUT"
    outside.mkdir()
    root = tmp_path / "a" / "b" / "root"
    root.mkdir(parents=True)
    with pytest.raises(LayerRefused) as refused:
        apply(tmp_path, root, blob, limit=5000)
    assert reason in str(refused.value)
    assert str(refused.value).startswith("layer 1")
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("layer-")) == ["OUT", "a"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]


def test_a_link_in_the_way_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    root = tmp_path / "root"
    root.mkdir()
    apply(tmp_path, root, layer(entry("file", tarfile.SYMTYPE, link=str(victim))))
    apply(tmp_path, root, layer(entry("file", data=b"new")))
    assert victim.read_text() == "untouched"
    assert (root / "file").read_text() == "new" and not (root / "file").is_symlink()


# --- pulling into the cache ------------------------------------------------------------------------

BASE = layer(entry("bin/", tarfile.DIRTYPE), entry("bin/hello", data=b"hi", mode=0o755))


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningRegistry, RunningRegistry]]:
    with (
        run_registry(tmp_path_factory.mktemp("open")) as open_registry,
        run_registry(tmp_path_factory.mktemp("token"), auth="token") as private,
    ):
        yield open_registry, private


def _cache(tmp_path: Path, *registries: RunningRegistry, max_size: int = 1 << 30) -> ImageCache:
    return ImageCache(tmp_path / "images", insecure_registries=[r.host for r in registries], max_size=max_size)


OK_CONFIG = {"Env": ["A=1"], "WorkingDir": "/srv/app"}


def test_pull_then_cache_hit(tmp_path: Path, registries: tuple[RunningRegistry, RunningRegistry]) -> None:
    registry = registries[0]
    digest = push_image(
        registry,
        "pull/ok",
        "v1",
        config=image_config(OK_CONFIG, layers=[BASE]),
        layers=[BASE],
    )
    cache = _cache(tmp_path, registry)
    said: list[str] = []
    image = cache.get(DockerSource(f"{registry.host}/pull/ok:v1"), "droplet-1", said.append)
    assert image.digest == digest and image.config.env == ["A=1"]
    assert (image.rootfs / "bin/hello").read_text() == "hi"
    # What the sandbox mounts over exists; nothing of the pull is left beside the entry.
    assert {"dev", "proc", "tmp", "home", "etc"} <= {p.name for p in image.rootfs.iterdir()}
    assert (image.rootfs / "etc/resolv.conf").read_text() == (image.rootfs / "etc/hosts").read_text() == ""
    assert (image.rootfs / "srv/app").is_dir()  # the WorkingDir, made as docker makes it
    assert [p.name for p in (tmp_path / "images").iterdir() if not p.name.endswith(".lock")] == [image.key]
    assert said[0] == f"Pulling image {registry.host}/pull/ok:v1 ({digest})"
    assert not any("cache hit" in line for line in said)

    said.clear()
    again = cache.get(DockerSource(f"{registry.host}/pull/ok:v1"), "droplet-2", said.append)
    assert again.rootfs == image.rootfs
    assert said == [
        f"Image {registry.host}/pull/ok:v1 ({digest}) is in this cell's image cache (cache hit): not pulled again"
    ]

    # Used (by instances, or by current droplets) it stays; unused, the sweep removes it.
    assert cache.evict({"droplet-1", "droplet-2"}) == 0
    cache.release(image.key)
    cache.release(again.key)
    # What an entry serves is kept on disk: a restarted server (a new cache) keeps it as well.
    restarted = _cache(tmp_path, registry)
    assert restarted.evict({"droplet-2"}) == 0
    assert image.rootfs.is_dir()
    assert restarted.evict(set()) == 1
    assert not image.rootfs.exists()


def test_token_registry_pull_needs_the_credentials(
    tmp_path: Path, registries: tuple[RunningRegistry, RunningRegistry]
) -> None:
    private = registries[1]
    push_image(private, "secret/img", "1", config=image_config({}, layers=[BASE]), layers=[BASE])
    cache = _cache(tmp_path, private)
    ref = f"{private.host}/secret/img:1"
    with pytest.raises(ImageUnavailable) as refused:
        cache.get(DockerSource(ref, private.username, "wrong-password"), "d", lambda _: None)
    assert "failed to pull" in str(refused.value) and "wrong-password" not in str(refused.value)
    image = cache.get(DockerSource(ref, private.username, private.password), "d", lambda _: None)
    assert (image.rootfs / "bin/hello").read_text() == "hi"


def test_wrong_digest_and_hostile_layers_leave_nothing(
    tmp_path: Path, registries: tuple[RunningRegistry, RunningRegistry]
) -> None:
    registry = registries[0]
    honest = layer(entry("srv/index.html", data=b"honest"))
    push_image(registry, "pull/tampered", "v1", config=image_config({}, layers=[honest]), layers=[honest])
    # The registry's stored bytes change after the push: the digest no longer matches.
    stored = blob_path(registry, "sha256:" + hashlib.sha256(honest).hexdigest())
    stored.write_bytes(layer(entry("srv/index.html", data=b"EVIL!!")))
    hostile = layer(entry("escape", tarfile.SYMTYPE, link=str(tmp_path / "OUT")), entry("escape/pwned", data=b"x"))
    push_image(registry, "pull/hostile", "v1", config=image_config({}, layers=[BASE, hostile]), layers=[BASE, hostile])
    (tmp_path / "OUT").mkdir()
    cache = _cache(tmp_path, registry)
    said: list[str] = []
    with pytest.raises(ImageUnavailable) as tampered:
        cache.get(DockerSource(f"{registry.host}/pull/tampered:v1"), "d1", said.append)
    assert "does not match its digest" in str(tampered.value)
    with pytest.raises(ImageUnavailable) as refused:
        cache.get(DockerSource(f"{registry.host}/pull/hostile:v1"), "d2", said.append)
    assert str(refused.value).startswith(f"refused to unpack {registry.host}/pull/hostile:v1: layer 2 (sha256:")
    assert "absolute symbolic link /escape" in str(refused.value)
    assert list((tmp_path / "OUT").iterdir()) == []
    assert all(p.name.endswith(".lock") for p in (tmp_path / "images").iterdir())
    assert cache.evict(set()) == 0


def test_image_size_bound(tmp_path: Path, registries: tuple[RunningRegistry, RunningRegistry]) -> None:
    registry = registries[0]
    bomb = layer(entry("zeros", data=b"\0" * 200_000))  # compresses to a few hundred bytes
    push_image(registry, "pull/bomb", "v1", config=image_config({}, layers=[bomb]), layers=[bomb])
    cache = _cache(tmp_path, registry, max_size=100_000)
    with pytest.raises(ImageUnavailable) as refused:
        cache.get(DockerSource(f"{registry.host}/pull/bomb:v1"), "d", lambda _: None)
    assert "unpacks to more than the 100000 bytes allowed" in str(refused.value)
    assert all(p.name.endswith(".lock") for p in (tmp_path / "images").iterdir())


def test_unreachable_registry_restarts_from_the_cache(tmp_path: Path) -> None:
    with run_registry(tmp_path / "registry") as registry:
        push_image(registry, "pull/gone", "v1", config=image_config({}, layers=[BASE]), layers=[BASE])
        cache = _cache(tmp_path, registry)
        ref = f"{registry.host}/pull/gone:v1"
        first = cache.get(DockerSource(ref), "droplet-x", lambda _: None)
    # The registry is gone: what this cell ran for the droplet starts again (even after a restart
    # of the server); nothing else does.
    cache = _cache(tmp_path, registry)
    said: list[str] = []
    again = cache.get(DockerSource(ref), "droplet-x", said.append)
    assert again.rootfs == first.rootfs and again.config == first.config
    assert said[0].startswith(f"Registry of {ref} not reachable (cannot reach registry {registry.host}")
    with pytest.raises(ImageUnavailable, match=f"failed to pull {ref}: cannot reach registry"):
        cache.get(DockerSource(ref), "another-droplet", lambda _: None)
