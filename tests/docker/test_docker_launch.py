"""How a docker image's instance is started, from its config and an unpacked rootfs built here."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ladle.docker.registry import ImageConfig
from ladle.runner.docker_launch import DEFAULT_PATH, docker_launch
from ladle.runner.images import ImageUnavailable


def config(**fields: Any) -> ImageConfig:
    base = ImageConfig(
        manifest_digest="sha256:" + "0" * 64, entrypoint=[], cmd=[], workdir="", user="", exposed_ports=[], env=[]
    )
    return replace(base, **fields)


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n# a comment\nnginx:x:101:102:nginx:/var/cache/nginx:/sbin/nologin\n"
    )
    (tmp_path / "etc/group").write_text("root:x:0:\nnginx:x:102:\nstaff:x:50:\n")
    return tmp_path


def metadata(*ports: tuple[int, str]) -> str:
    return json.dumps({"ports": [{"Port": p, "Protocol": proto} for p, proto in ports]})


def test_exec_form_as_the_images_user(rootfs: Path) -> None:
    image = config(
        entrypoint=["/docker-entrypoint.sh"],
        cmd=["nginx", "-g", "daemon off;"],
        workdir="/srv",
        user="nginx",
        env=["PATH=/usr/sbin:/usr/bin", "NGINX_VERSION=1.25", "EMPTY=", "junk"],
    )
    launch = docker_launch(rootfs, image, metadata((53, "udp"), (80, "tcp"), (443, "tcp")), None)
    # Exec form keeps "daemon off;" one argument; the first TCP port is the instance's.
    assert launch.argv == ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]
    assert (launch.cwd, launch.uid, launch.gid, launch.home, launch.port) == ("/srv", 101, 102, "/var/cache/nginx", 80)
    cf = {"PORT": "80", "HOME": "/home/vcap/app", "PATH": "/usr/local/bin:/usr/bin:/bin", "USER": "vcap", "A": "cf"}
    env = launch.environment(cf, frozenset({"A"}))
    assert env == {
        "PATH": "/usr/sbin:/usr/bin",
        "HOME": "/var/cache/nginx",
        "NGINX_VERSION": "1.25",
        "EMPTY": "",
        "PORT": "80",
        "A": "cf",
    }
    # A variable the user set wins even where the buildpack environment's would not.
    assert launch.environment({"PATH": "/mine"}, frozenset({"PATH"}))["PATH"] == "/mine"


def test_command_given_on_the_process_goes_through_sh(rootfs: Path) -> None:
    image = config(entrypoint=["/bin/server"], cmd=["--port", "8080"])
    assert docker_launch(rootfs, image, "", "/bin/server --port 8080").argv == ["/bin/server", "--port", "8080"]
    assert docker_launch(rootfs, image, "", "/bin/server --verbose").argv == ["/bin/sh", "-c", "/bin/server --verbose"]
    launch = docker_launch(rootfs, image, "", None)
    # No user: root of the sandbox's namespace; no port: 8080; docker's default PATH.
    assert (launch.uid, launch.gid, launch.home, launch.port, launch.cwd) == (0, 0, "/root", 8080, "/")
    assert launch.environment({}, frozenset())["PATH"] == DEFAULT_PATH


@pytest.mark.parametrize(
    ("user", "ids"),
    [("1234", (1234, 0)), ("1234:77", (1234, 77)), ("nginx:staff", (101, 50)), ("0", (0, 0)), ("root:nginx", (0, 102))],
)
def test_user_forms(rootfs: Path, user: str, ids: tuple[int, int]) -> None:
    launch = docker_launch(rootfs, config(cmd=["x"], user=user), "", None)
    assert (launch.uid, launch.gid) == ids


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        ("nobody-here", "the image's user 'nobody-here' is not in its /etc/passwd"),
        ("nginx:wheel", "the image's group 'wheel' is not in its /etc/group"),
        ("99999999999", "has an id out of range"),
    ],
)
def test_unknown_users_are_refused(rootfs: Path, user: str, reason: str) -> None:
    with pytest.raises(ImageUnavailable, match=reason):
        docker_launch(rootfs, config(cmd=["x"], user=user), "", None)


def test_passwd_behind_a_link_is_not_read(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    host = tmp_path_factory.mktemp("host") / "passwd"
    host.write_text("hostuser:x:4242:4242::/home/hostuser:/bin/sh\n")
    (rootfs / "etc/passwd").unlink()
    (rootfs / "etc/passwd").symlink_to(host)
    with pytest.raises(ImageUnavailable, match="'hostuser' is not in its /etc/passwd"):
        docker_launch(rootfs, config(cmd=["x"], user="hostuser"), "", None)


def test_no_command_at_all(rootfs: Path) -> None:
    with pytest.raises(ImageUnavailable, match="the image has no entrypoint or cmd"):
        docker_launch(rootfs, config(), "", None)
