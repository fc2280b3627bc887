"""Staging a docker app: nothing is built, the image's own metadata becomes the droplet.

As Cloud Foundry's docker builder does, the image is looked up in its registry (tag, then the
linux/amd64 manifest of an index, then the image config) and its entrypoint, command, working
directory, user and exposed ports are recorded; the image itself is never pulled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ladle.docker.metadata import execution_metadata, process_types
from ladle.docker.reference import InvalidReference, parse_reference
from ladle.docker.registry import RegistryClient, RegistryError

__all__ = ["DockerStagingError", "DockerStagingResult", "inspect_image"]


class DockerStagingError(Exception):
    pass


@dataclass(frozen=True)
class DockerStagingResult:
    image: str
    process_types: dict[str, str]
    execution_metadata: str


def inspect_image(
    image: str,
    *,
    username: str | None,
    password: str | None,
    insecure_registries: Sequence[str],
    private_registries: Sequence[str],
    say: Callable[[str], None],
) -> DockerStagingResult:
    try:
        ref = parse_reference(image)
    except InvalidReference as exc:
        raise DockerStagingError(f"invalid docker image reference [{image}]: {exc}") from None
    say(f"Staging docker image {ref.display()}")
    client = RegistryClient(insecure_registries=insecure_registries, private_registries=private_registries)
    try:
        config = client.fetch_config(ref, username=username, password=password)
    except RegistryError as exc:
        # The builder's wording, with what the registry itself said at the end.
        raise DockerStagingError(
            f"failed to fetch metadata from [{ref.repository}] with tag [{ref.reference}] and insecure registries "
            f"[{', '.join(insecure_registries)}] due to {exc.message}"
        ) from None
    try:
        metadata = execution_metadata(config)
    except ValueError as exc:
        raise DockerStagingError(f"the image's exposed ports are invalid: {exc}") from None
    say(f"Image digest {config.manifest_digest}")
    return DockerStagingResult(ref.display(), process_types(config), metadata)
