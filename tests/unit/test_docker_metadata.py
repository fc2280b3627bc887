"""Cloud Foundry's encodings of image metadata: execution_metadata and the web process type."""

from __future__ import annotations

import json

import pytest

from ladle.docker.metadata import execution_metadata, process_types
from ladle.docker.registry import ImageConfig


def image(
    *,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    workdir: str = "",
    user: str = "",
    ports: list[str] | None = None,
) -> ImageConfig:
    return ImageConfig(
        manifest_digest="sha256:" + "0" * 64,
        entrypoint=entrypoint or [],
        cmd=cmd or [],
        workdir=workdir,
        user=user,
        exposed_ports=ports or [],
        env=["PATH=/usr/bin"],
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (image(), "{}"),
        # Key order and compact separators as the Go lifecycle marshals them; env never appears.
        (
            image(
                entrypoint=["/docker-entrypoint.sh"],
                cmd=["nginx", "-g", "daemon off;"],
                workdir="/srv",
                user="nginx",
                ports=["80/tcp"],
            ),
            '{"cmd":["nginx","-g","daemon off;"],"entrypoint":["/docker-entrypoint.sh"],"workdir":"/srv",'
            '"ports":[{"Port":80,"Protocol":"tcp"}],"user":"nginx"}',
        ),
        (image(cmd=["./app"]), '{"cmd":["./app"]}'),
        (image(user="1000:1000"), '{"user":"1000:1000"}'),
        (image(workdir="/app", entrypoint=["run"]), '{"entrypoint":["run"],"workdir":"/app"}'),
        # By port number (not text: 8080 after 443), tcp before other protocols; no protocol means tcp.
        (
            image(ports=["8080/tcp", "53/udp", "443", "53/tcp", "53/sctp", "0/tcp", "65535/udp"]),
            '{"ports":[{"Port":0,"Protocol":"tcp"},{"Port":53,"Protocol":"tcp"},{"Port":53,"Protocol":"sctp"},'
            '{"Port":53,"Protocol":"udp"},{"Port":443,"Protocol":"tcp"},{"Port":8080,"Protocol":"tcp"},'
            '{"Port":65535,"Protocol":"udp"}]}',
        ),
    ],
)
def test_execution_metadata(config: ImageConfig, expected: str) -> None:
    encoded = execution_metadata(config)
    assert encoded == expected
    assert isinstance(json.loads(encoded), dict)


@pytest.mark.parametrize("port", ["65536/tcp", "-1/tcp", "+80/tcp", "http/tcp", "8000-8010/tcp", "/tcp", " 80/tcp"])
def test_execution_metadata_rejects_invalid_ports(port: str) -> None:
    with pytest.raises(ValueError, match="invalid exposed port"):
        execution_metadata(image(ports=["80/tcp", port]))


@pytest.mark.parametrize(
    ("entrypoint", "cmd", "web"),
    [
        ([], [], ""),
        (["/bin/app"], [], "/bin/app"),
        ([], ["python", "-m", "http.server"], "python -m http.server"),
        (["/docker-entrypoint.sh"], ["nginx", "-g", "daemon off;"], "/docker-entrypoint.sh nginx -g daemon off;"),
        (["sh", "-c"], ["exec app"], "sh -c exec app"),
    ],
)
def test_process_types(entrypoint: list[str], cmd: list[str], web: str) -> None:
    assert process_types(image(entrypoint=entrypoint, cmd=cmd)) == {"web": web}
