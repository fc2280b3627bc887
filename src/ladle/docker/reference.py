"""Image references ("nginx", "registry.example.com:5000/team/app@sha256:...") normalised the way docker does.

The rules follow github.com/distribution/reference, so a name means here what it means to `docker pull`: the first
path component names a registry only when it looks like a host, and Docker Hub names get their implicit "library/".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DOCKER_HUB_REGISTRY", "ImageReference", "InvalidReference", "parse_reference"]

# The host Docker Hub's registry API answers on; docker.io itself only redirects browsers.
DOCKER_HUB_REGISTRY = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", DOCKER_HUB_REGISTRY})

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_RE = re.compile(_DOMAIN)
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_IMAGE_ID_RE = re.compile(r"[a-f0-9]{64}")
_MAX_NAME_LENGTH = 255


class InvalidReference(ValueError):
    """The string is not an image reference docker would accept."""


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """What goes after /manifests/: a digest pins the content, so it wins over a tag given alongside it."""
        if self.digest is not None:
            return self.digest
        assert self.tag is not None  # parse_reference defaults the tag when there is no digest
        return self.tag

    @property
    def is_docker_hub(self) -> bool:
        return self.registry == DOCKER_HUB_REGISTRY

    def display(self) -> str:
        """The form Cloud Foundry shows as an app's docker_image."""
        name = self.repository if self.is_docker_hub else f"{self.registry}/{self.repository}"
        if self.digest is not None:
            return f"{name}@{self.digest}"
        return f"{name}:{self.tag}"

    def __str__(self) -> str:
        return self.display()


def parse_reference(image: str) -> ImageReference:
    text = image.strip()
    if text.startswith("docker://"):
        # Old Cloud Foundry form: docker:///name for Docker Hub, docker://host/name otherwise.
        text = text[len("docker://") :].lstrip("/")
    if not text:
        raise InvalidReference("image reference is empty")

    name, digest = text, None
    if "@" in text:
        name, _, digest = text.partition("@")
        if not _DIGEST_RE.fullmatch(digest):
            raise InvalidReference(f"invalid digest {digest!r} in image reference {image!r}")

    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            raise InvalidReference(f"invalid tag {tag!r} in image reference {image!r}")
    if not name:
        raise InvalidReference(f"image reference {image!r} has no repository name")
    if len(name) > _MAX_NAME_LENGTH:
        raise InvalidReference(f"repository name must not be more than {_MAX_NAME_LENGTH} characters")

    registry, repository = _split_registry(name)
    if not _DOMAIN_RE.fullmatch(registry):
        raise InvalidReference(f"invalid registry host {registry!r} in image reference {image!r}")
    if repository != repository.lower() and _PATH_RE.fullmatch(repository.lower()):
        raise InvalidReference(f"repository name must be lowercase: {image!r}")
    if not _PATH_RE.fullmatch(repository):
        raise InvalidReference(f"invalid repository name {repository!r} in image reference {image!r}")
    if registry == DOCKER_HUB_REGISTRY and _IMAGE_ID_RE.fullmatch(name):
        raise InvalidReference(f"invalid repository name {name!r}: cannot specify 64-byte hexadecimal strings")

    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(registry=registry, repository=repository, tag=tag, digest=digest)


def _split_registry(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    # Like docker, a first component is a host only if it could not be a repository name: a dot, a port or
    # "localhost" (an uppercase one cannot be a repository either, so it is taken as a host too).
    if not sep or not (any(c in first for c in ".:") or first == "localhost" or first.lower() != first):
        first, rest = DOCKER_HUB_REGISTRY, name
    if first in _DOCKER_HUB_ALIASES:
        first = DOCKER_HUB_REGISTRY
        if "/" not in rest:
            rest = f"library/{rest}"
    return first, rest
