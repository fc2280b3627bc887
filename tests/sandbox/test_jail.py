"""The sandbox on its own, as the runner of app instances will use it: long-running processes, a
published port, the host's loopback out of reach, everything killed at the end."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ladle.private_data import make_private
from ladle.sandbox import IsolationUnavailable, Jail, Limits, Mount, Network, SandboxConfig
from ladle.sandbox.visibility import replaceable_path

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
LIMITS = Limits(memory_mb=256, disk_mb=64)


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "index.html").write_text("hello from inside\n")
    return app


@pytest.fixture
def jail(tmp_path: Path, app_dir: Path) -> Iterator[Jail]:
    jail = Jail(
        SandboxConfig(),
        name=f"test-{os.urandom(3).hex()}",
        state_dir=tmp_path / "state",
        mounts=[Mount(app_dir, "/home/vcap/app", writable=True)],
        limits=LIMITS,
        publish=[8080],
    )
    jail.hand_over(app_dir)
    try:
        yield jail
    finally:
        jail.close()


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=2) as answer:
        body: bytes = answer.read()
        return body


def wait_until_served(url: str, timeout: float = 20) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            assert time.monotonic() < deadline, f"nothing answered at {url}"
            time.sleep(0.05)


def test_instance_listening_inside_is_reached_through_its_published_port(jail: Jail, app_dir: Path) -> None:
    assert jail.network == Network.ISOLATED, jail.notes
    server = jail.spawn(
        ["python3", "-m", "http.server", "8080"],
        env=ENV,
        cwd=app_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        die_with_parent=False,
    )
    url = f"http://127.0.0.1:{jail.published[8080]}/index.html"
    assert wait_until_served(url) == b"hello from inside\n"
    assert server.poll() is None
    jail.kill_all()
    assert server.poll() is not None
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        get(url)


def test_instance_cannot_reach_the_hosts_loopback(jail: Jail, app_dir: Path) -> None:
    # A service only the host's loopback offers (as PostgreSQL, Redis and Ladle do).
    with socket.socket() as service:
        service.bind(("127.0.0.1", 0))
        service.listen(8)
        port = service.getsockname()[1]
        accepted: list[object] = []
        threading.Thread(target=lambda: accepted.append(service.accept()), daemon=True).start()
        probe = (
            "import socket, sys\n"
            "for host in ('127.0.0.1', '10.0.2.2'):\n"
            "    try:\n"
            f"        socket.create_connection((host, {port}), timeout=3)\n"
            "        print(host, 'connected')\n"
            "    except OSError as exc:\n"
            "        print(host, 'refused', type(exc).__name__)\n"
        )
        result = jail.call(["python3", "-c", probe], env=ENV, cwd=app_dir, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert [line.split()[:2] for line in lines] == [["127.0.0.1", "refused"], ["10.0.2.2", "refused"]]
    assert accepted == []


def test_processes_run_as_vcap_on_an_unprivileged_host_uid(jail: Jail, app_dir: Path) -> None:
    result = jail.call(["sh", "-c", "id -u; id -g; touch written"], env=ENV, cwd=app_dir, timeout=30)
    assert result.stdout.decode().split() == ["2000", "2000"]
    owner = (app_dir / "written").stat()
    assert (owner.st_uid, owner.st_gid) == (jail.identity.uid, jail.identity.gid)
    assert jail.identity.uid not in (0, os.getuid())


def test_without_bubblewrap_user_code_is_refused(
    tmp_path: Path, app_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))
    with pytest.raises(IsolationUnavailable, match="LADLE_STAGING_ISOLATION=false"):
        Jail(SandboxConfig(), name="nobwrap", state_dir=tmp_path / "s", mounts=[], limits=LIMITS)
    # Only the operator's explicit choice runs it unisolated.
    plain = Jail(SandboxConfig(isolate=False), name="plain", state_dir=tmp_path / "p", mounts=[], limits=LIMITS)
    try:
        monkeypatch.setenv("PATH", ENV["PATH"])
        result = plain.call(["id", "-u"], env=ENV, cwd=app_dir, timeout=30)
        assert result.stdout.decode().strip() == str(os.getuid())
    finally:
        plain.close()


def test_an_existing_loose_data_directory_is_tightened(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    (data / "blobs" / "ab").mkdir(parents=True)
    (data / "blobs" / "ab" / "blob").write_text("bits")
    (data / "ladle.db").write_text("db")
    (data / "cache" / "buildpacks" / "sha").mkdir(parents=True)
    (data / "cache" / "buildpacks" / "sha" / "detect").write_text("#!/bin/sh\n")
    for path in (data, data / "blobs", data / "blobs" / "ab", data / "cache", data / "cache" / "buildpacks"):
        path.chmod(0o755)
    (data / "ladle.db").chmod(0o644)
    (data / "blobs" / "ab" / "blob").chmod(0o644)
    (data / "cache" / "buildpacks" / "sha" / "detect").chmod(0o755)
    assert make_private(data) == 6
    assert "data directory was readable by other users" in caplog.text
    modes = {str(p.relative_to(data)): p.stat().st_mode & 0o777 for p in [data, *data.rglob("*")]}
    assert modes == {
        ".": 0o700,
        "blobs": 0o700,
        "blobs/ab": 0o700,
        "blobs/ab/blob": 0o600,
        "ladle.db": 0o600,
        "cache": 0o700,
        # Read by the sandbox's uid through its own mounts; unreachable for anyone else.
        "cache/buildpacks": 0o755,
        "cache/buildpacks/sha": modes["cache/buildpacks/sha"],
        "cache/buildpacks/sha/detect": 0o755,
    }
    assert make_private(data) == 0
    fresh = tmp_path / "fresh"
    make_private(fresh)
    assert fresh.stat().st_mode & 0o777 == 0o700


def test_an_etc_file_that_is_a_link_is_replaced_where_it_points(tmp_path: Path) -> None:
    # systemd-resolved hosts: /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf. A mount
    # over the link lands on its target, which the sandbox must then provide.
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "resolv.conf").symlink_to("../run/systemd/resolve/stub-resolv.conf")
    (etc / "hosts").write_text("127.0.0.1 localhost\n")
    assert replaceable_path(str(etc / "resolv.conf")) == str(tmp_path / "run/systemd/resolve/stub-resolv.conf")
    assert replaceable_path(str(etc / "hosts")) == str(etc / "hosts")
