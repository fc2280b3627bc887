"""RegistryClient against real docker registries on loopback: open, basic auth, token auth, and TLS."""

from __future__ import annotations

import hashlib
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ladle.docker.reference import parse_reference
from ladle.docker.registry import ImageConfig, RegistryClient, RegistryError
from tests.support.registry import (
    Media,
    Platform,
    RunningRegistry,
    blob_path,
    image_config,
    make_layer,
    push_image,
    push_index,
    run_registry,
)
from tests.support.services import free_port

LAYER = make_layer({"app/server.py": b"print('hello')\n", "etc/motd": b"hi\n"})
FULL = {
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "WorkingDir": "/srv",
    "User": "app",
    "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
    "Env": ["PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"],
}


def platform_config(os: str, arch: str) -> dict[str, Any]:
    """A config that says which platform it is, so tests can tell which one the client chose."""
    return image_config({"Cmd": [f"{os}-{arch}"]}, os=os, architecture=arch, layers=[LAYER])


@pytest.fixture(scope="module")
def open_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    with run_registry(tmp_path_factory.mktemp("registry-open")) as registry:
        yield registry


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    with run_registry(tmp_path_factory.mktemp("registry-basic"), auth="basic") as registry:
        push_image(registry, "team/app", "v1", config=image_config(FULL, layers=[LAYER]), layers=[LAYER])
        yield registry


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    with run_registry(tmp_path_factory.mktemp("registry-token"), auth="token") as registry:
        push_index(registry, "team/app", "v1", {("linux", "amd64"): image_config(FULL), ("linux", "arm64"): {}})
        yield registry


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    with run_registry(tmp_path_factory.mktemp("registry-tls"), tls=True) as registry:
        push_image(registry, "team/app", "v1", config=image_config(FULL, layers=[LAYER]), layers=[LAYER])
        yield registry


def client_for(registry: RunningRegistry, **kwargs: Any) -> RegistryClient:
    return RegistryClient(insecure_registries=[registry.host], timeout=10, **kwargs)


def fetch(registry: RunningRegistry, image: str, **kwargs: Any) -> ImageConfig:
    return client_for(registry).fetch_config(parse_reference(f"{registry.host}/{image}"), **kwargs)


def fetch_error(registry: RunningRegistry, image: str, **kwargs: Any) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        fetch(registry, image, **kwargs)
    return caught.value


def index_entry(registry: RunningRegistry, repository: str, tag: str, os: str, arch: str) -> str:
    """The digest an index lists for a platform, read straight from the registry."""
    accept = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json"
    response = httpx.get(f"{registry.url}/v2/{repository}/manifests/{tag}", headers={"Accept": accept})
    entries = response.json()["manifests"]
    return str(next(e["digest"] for e in entries if e["platform"] == {"os": os, "architecture": arch}))


# -- an open registry -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("media", ["oci", "docker"])
def test_reads_the_image_config(open_registry: RunningRegistry, media: Media) -> None:
    config = image_config(FULL, layers=[LAYER])
    digest = push_image(open_registry, f"team/{media}", "v1", config=config, layers=[LAYER], media=media)
    assert fetch(open_registry, f"team/{media}:v1") == ImageConfig(
        manifest_digest=digest,
        entrypoint=["/docker-entrypoint.sh"],
        cmd=["nginx", "-g", "daemon off;"],
        workdir="/srv",
        user="app",
        exposed_ports=["8080/tcp", "53/udp"],
        env=["PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"],
    )
    # Pinned by digest, the same manifest is read and checked against that digest.
    assert fetch(open_registry, f"team/{media}@{digest}").manifest_digest == digest


def test_missing_and_null_fields_are_empty(open_registry: RunningRegistry) -> None:
    nulls = image_config({"Entrypoint": None, "Cmd": None, "ExposedPorts": None, "Env": None, "User": ""})
    push_image(open_registry, "team/nulls", "v1", config=nulls)
    bare = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    push_image(open_registry, "team/bare", "v1", config=bare, media="docker")
    for image in ("team/nulls:v1", "team/bare:v1"):
        config = fetch(open_registry, image)
        assert (config.entrypoint, config.cmd, config.workdir, config.user, config.exposed_ports, config.env) == (
            [],
            [],
            "",
            "",
            [],
            [],
        )


@pytest.mark.parametrize("media", ["oci", "docker"])
def test_index_picks_the_platform(open_registry: RunningRegistry, media: Media) -> None:
    repository = f"team/multi-{media}"
    platforms: dict[Platform, dict[str, Any]] = {
        ("unknown", "unknown"): platform_config("unknown", "unknown"),
        ("linux", "arm64"): platform_config("linux", "arm64"),
        ("windows", "amd64"): platform_config("windows", "amd64"),
        ("linux", "amd64"): platform_config("linux", "amd64"),
    }
    index_digest = push_index(open_registry, repository, "latest", platforms, media=media)

    chosen = fetch(open_registry, repository)
    assert chosen.cmd == ["linux-amd64"]
    assert chosen.manifest_digest == index_entry(open_registry, repository, "latest", "linux", "amd64")
    assert chosen.manifest_digest != index_digest
    assert fetch(open_registry, f"{repository}@{index_digest}") == chosen
    assert fetch(open_registry, repository, architecture="arm64").cmd == ["linux-arm64"]
    assert fetch(open_registry, repository, os="windows").cmd == ["windows-amd64"]


def test_index_variants_decide_only_between_equal_platforms(open_registry: RunningRegistry) -> None:
    platforms: dict[Platform, dict[str, Any]] = {
        ("linux", "arm", "v6"): platform_config("linux", "arm-v6"),
        ("linux", "arm", "v7"): platform_config("linux", "arm-v7"),
        ("linux", "arm64", "v8"): platform_config("linux", "arm64-v8"),
        ("linux", "amd64", "v3"): platform_config("linux", "amd64-v3"),
    }
    push_index(open_registry, "team/variants", "latest", platforms)
    assert fetch(open_registry, "team/variants", architecture="arm").cmd == ["linux-arm-v7"]
    assert fetch(open_registry, "team/variants", architecture="arm64").cmd == ["linux-arm64-v8"]
    assert fetch(open_registry, "team/variants").cmd == ["linux-amd64-v3"]  # the only amd64: its variant is moot


def test_index_without_the_platform(open_registry: RunningRegistry) -> None:
    platforms: dict[Platform, dict[str, Any]] = {
        ("linux", "arm64"): platform_config("linux", "arm64"),
        ("unknown", "unknown"): platform_config("unknown", "unknown"),
        ("windows", "amd64"): platform_config("windows", "amd64"),
    }
    push_index(open_registry, "team/armonly", "latest", platforms)
    error = fetch_error(open_registry, "team/armonly")
    assert error.message == (
        f"no image for linux/amd64 in {open_registry.host}/team/armonly:latest; it has: linux/arm64, windows/amd64"
    )


def test_missing_tag(open_registry: RunningRegistry) -> None:
    push_image(open_registry, "team/tags", "v1", config=image_config(FULL))
    error = fetch_error(open_registry, "team/tags:v2")
    assert "MANIFEST_UNKNOWN: manifest unknown" in error.message
    assert f"{open_registry.host}/team/tags:v2" in error.message
    assert (error.status, error.codes) == (404, ("MANIFEST_UNKNOWN",))


def test_missing_repository(open_registry: RunningRegistry) -> None:
    error = fetch_error(open_registry, "nobody/nothing:v1")
    assert error.status == 404
    # distribution 2.8 answers MANIFEST_UNKNOWN here; newer ones NAME_UNKNOWN.
    assert error.codes in (("MANIFEST_UNKNOWN",), ("NAME_UNKNOWN",))
    assert "unknown" in error.message


def test_config_that_does_not_match_its_digest(open_registry: RunningRegistry) -> None:
    config = image_config({"Cmd": ["original"]})
    push_image(open_registry, "team/tampered", "v1", config=config)
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    stored = blob_path(open_registry, "sha256:" + hashlib.sha256(config_bytes).hexdigest())
    assert stored.read_bytes() == config_bytes
    stored.write_bytes(config_bytes.replace(b"original", b"tampered"))
    error = fetch_error(open_registry, "team/tampered:v1")
    assert "does not match its digest" in error.message


def test_oversized_config_is_refused(open_registry: RunningRegistry) -> None:
    config = image_config({"Cmd": ["huge"]})
    push_image(open_registry, "team/huge", "v1", config=config)
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    stored = blob_path(open_registry, "sha256:" + hashlib.sha256(config_bytes).hexdigest())
    stored.write_bytes(b" " * (5 * 1024 * 1024) + config_bytes)
    error = fetch_error(open_registry, "team/huge:v1")
    assert "refusing" in error.message and "4194304" in error.message


# -- transport ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("insecure", [True, False])
def test_connection_refused(insecure: bool) -> None:
    host = f"127.0.0.1:{free_port()}"
    client = RegistryClient(insecure_registries=[host] if insecure else [], any_address=True, timeout=5)
    with pytest.raises(RegistryError, match=re.escape(f"cannot reach registry {host}: connection refused")):
        client.fetch_config(parse_reference(f"{host}/team/app"))


def test_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        host = f"127.0.0.1:{silent.getsockname()[1]}"
        client = RegistryClient(insecure_registries=[host], timeout=0.3)
        with pytest.raises(RegistryError, match="timed out"):
            client.fetch_config(parse_reference(f"{host}/team/app"))


@pytest.mark.parametrize("listed", [[], ["127.0.0.1"], ["localhost:5000"]])
def test_plain_http_registry_must_be_listed_as_insecure(open_registry: RunningRegistry, listed: list[str]) -> None:
    push_image(open_registry, "team/secure", "v1", config=image_config(FULL))
    client = RegistryClient(insecure_registries=listed, any_address=True, timeout=5)
    with pytest.raises(RegistryError, match=r"TLS handshake failed.*insecure registry") as caught:
        client.fetch_config(parse_reference(f"{open_registry.host}/team/secure:v1"))
    assert caught.value.status is None


def test_tls_registry_with_untrusted_certificate(tls_registry: RunningRegistry) -> None:
    assert fetch(tls_registry, "team/app:v1").cmd == FULL["Cmd"]
    with pytest.raises(RegistryError, match="certificate verification failed"):
        RegistryClient(any_address=True, timeout=5).fetch_config(parse_reference(f"{tls_registry.host}/team/app:v1"))


# -- basic auth -----------------------------------------------------------------------------------------------


def test_basic_auth(basic_registry: RunningRegistry) -> None:
    config = fetch(basic_registry, "team/app:v1", username=basic_registry.username, password=basic_registry.password)
    assert config.user == "app"


def test_basic_auth_without_credentials(basic_registry: RunningRegistry) -> None:
    error = fetch_error(basic_registry, "team/app:v1")
    assert "UNAUTHORIZED: authentication required" in error.message
    assert "no credentials" in error.message
    assert (error.status, error.codes) == (401, ("UNAUTHORIZED",))


def test_basic_auth_with_wrong_credentials(basic_registry: RunningRegistry) -> None:
    error = fetch_error(basic_registry, "team/app:v1", username=basic_registry.username, password="s3cret-guess")
    assert "UNAUTHORIZED: authentication required" in error.message
    assert "s3cret-guess" not in error.message
    assert error.status == 401


# -- token auth -----------------------------------------------------------------------------------------------


def test_token_auth(token_registry: RunningRegistry) -> None:
    assert token_registry.token_server is not None
    calls = token_registry.token_server.requests
    before = len(calls)
    config = fetch(token_registry, "team/app:v1", username=token_registry.username, password=token_registry.password)
    assert config.cmd == FULL["Cmd"]
    # Index, platform manifest and config blob were read with one token, asked for as the challenge said.
    assert calls[before:] == [
        {"user": token_registry.username, "service": "ladle-test-registry", "scopes": ["repository:team/app:pull"]}
    ]


def test_token_auth_with_wrong_credentials(token_registry: RunningRegistry) -> None:
    error = fetch_error(token_registry, "team/app:v1", username="intruder", password="s3cret-guess")
    assert "incorrect username or password" in error.message
    assert "token server" in error.message
    assert "s3cret-guess" not in error.message
    assert error.status == 401


def test_token_auth_anonymous(token_registry: RunningRegistry) -> None:
    error = fetch_error(token_registry, "team/app:v1")
    assert "UNAUTHORIZED" in error.message
    assert (error.status, error.codes) == (401, ("UNAUTHORIZED",))


def test_token_auth_missing_image(token_registry: RunningRegistry) -> None:
    error = fetch_error(
        token_registry, "team/missing:v1", username=token_registry.username, password=token_registry.password
    )
    assert error.status == 404


# -- the server's own and private networks ---------------------------------------------------------------------


def test_unlisted_registry_on_loopback_is_not_reached(open_registry: RunningRegistry) -> None:
    # An image reference is user input: an address on the host's loopback (or a private network)
    # is reached only when the operator lists the registry.
    with pytest.raises(RegistryError, match=r"loopback, link-local or private address \(127\.0\.0\.1\)"):
        RegistryClient(timeout=5).fetch_config(parse_reference(f"{open_registry.host}/team/app:v1"))
    with pytest.raises(RegistryError, match=r"private address \(127\.0\.0\.1\)"):
        RegistryClient(timeout=5).fetch_config(parse_reference("localhost:5432/postgres/db"))


def test_registry_listed_as_private_is_reached(tls_registry: RunningRegistry) -> None:
    # Reached (the TLS check is what fails), whether listed with its port or by host alone.
    for listed in (tls_registry.host, tls_registry.host.split(":")[0]):
        client = RegistryClient(private_registries=[listed], timeout=5)
        with pytest.raises(RegistryError, match="certificate verification failed"):
            client.fetch_config(parse_reference(f"{tls_registry.host}/team/app:v1"))
