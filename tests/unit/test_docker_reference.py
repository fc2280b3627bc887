"""Image references normalised as docker does, and shown as Cloud Foundry shows an app's docker_image."""

from __future__ import annotations

import pytest

from ladle.docker.reference import ImageReference, InvalidReference, parse_reference

HUB = "registry-1.docker.io"
DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("image", "registry", "repository", "tag", "digest"),
    [
        ("nginx", HUB, "library/nginx", "latest", None),
        ("nginx:1.25-alpine", HUB, "library/nginx", "1.25-alpine", None),
        ("docker.io/nginx", HUB, "library/nginx", "latest", None),
        ("index.docker.io/library/nginx:stable", HUB, "library/nginx", "stable", None),
        ("registry-1.docker.io/nginx", HUB, "library/nginx", "latest", None),
        ("bitnami/redis:7.2", HUB, "bitnami/redis", "7.2", None),
        ("docker.io/bitnami/redis", HUB, "bitnami/redis", "latest", None),
        # Without a dot, a port or "localhost" the first component is a Docker Hub namespace, not a host.
        ("myhost/app", HUB, "myhost/app", "latest", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/app:v2", "localhost:5000", "app", "v2", None),
        ("localhost:5000", HUB, "library/localhost", "5000", None),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app", "latest", None),
        ("[::1]:5000/app", "[::1]:5000", "app", "latest", None),
        ("ghcr.io/org/sub/app:v1.0.0", "ghcr.io", "org/sub/app", "v1.0.0", None),
        ("Registry.Example.com/app", "Registry.Example.com", "app", "latest", None),
        ("quay.io/a_b/c__d/e-f/g.h---i:Tag_1", "quay.io", "a_b/c__d/e-f/g.h---i", "Tag_1", None),
        (f"nginx@{DIGEST}", HUB, "library/nginx", None, DIGEST),
        (f"ghcr.io/org/app:v1@{DIGEST}", "ghcr.io", "org/app", "v1", DIGEST),
        # The old Cloud Foundry spelling, with and without a host.
        ("docker:///cloudfoundry/diego-docker-app", HUB, "cloudfoundry/diego-docker-app", "latest", None),
        ("docker://quay.io/org/app:v1", "quay.io", "org/app", "v1", None),
        ("  nginx  ", HUB, "library/nginx", "latest", None),
    ],
)
def test_parse(image: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    assert parse_reference(image) == ImageReference(registry, repository, tag, digest)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("", "empty"),
        ("docker://", "empty"),
        ("Nginx", "must be lowercase"),
        ("quay.io/Org/app", "must be lowercase"),
        ("nginx:", "invalid tag"),
        ("nginx:-bad", "invalid tag"),
        ("nginx:" + "t" * 129, "invalid tag"),
        ("nginx@sha256:short", "invalid digest"),
        ("nginx@", "invalid digest"),
        (":latest", "no repository"),
        ("quay.io/", "invalid repository"),
        ("quay.io//app", "invalid repository"),
        ("app-/x", "invalid repository"),
        ("team/_app", "invalid repository"),
        ("team/app name", "invalid tag|invalid repository"),
        ("bad_host.io:port/app", "invalid registry"),
        ("-bad.io/app", "invalid registry"),
        ("a" * 64, "64-byte hexadecimal"),
        ("quay.io/" + "a/" * 130 + "a", "255 characters"),
    ],
)
def test_invalid(image: str, message: str) -> None:
    with pytest.raises(InvalidReference, match=message):
        parse_reference(image)


def test_invalid_reference_is_a_value_error() -> None:
    assert issubclass(InvalidReference, ValueError)


@pytest.mark.parametrize(
    ("image", "reference", "display"),
    [
        ("nginx", "latest", "library/nginx:latest"),
        ("docker.io/bitnami/redis:7", "7", "bitnami/redis:7"),
        ("docker:///cloudfoundry/diego-docker-app", "latest", "cloudfoundry/diego-docker-app:latest"),
        ("localhost:5000/app", "latest", "localhost:5000/app:latest"),
        ("ghcr.io/org/app:v1", "v1", "ghcr.io/org/app:v1"),
        (f"nginx@{DIGEST}", DIGEST, f"library/nginx@{DIGEST}"),
        (f"ghcr.io/org/app:v1@{DIGEST}", DIGEST, f"ghcr.io/org/app@{DIGEST}"),
    ],
)
def test_reference_and_display(image: str, reference: str, display: str) -> None:
    ref = parse_reference(image)
    assert ref.reference == reference
    assert ref.display() == display
    # What is shown parses back to the same image.
    assert parse_reference(display) == ImageReference(
        ref.registry, ref.repository, ref.tag if not ref.digest else None, ref.digest
    )
