"""Pulling an image's layers into a directory: each downloaded, checked against its digest, then applied.

A layer's bytes are written to ``scratch`` while they are hashed and applied only once the digest
matched, so nothing a registry altered is ever unpacked. The download and the unpacked tree are
each bounded by ``max_size`` (compressed bytes fetched, and bytes unpacked), so neither a huge
blob nor a gzip bomb can fill the disk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ladle.docker.layers import LayerRefused, SizeBudget, apply_layer, check_layer_type
from ladle.docker.registry import ImageManifest, ImageReader

__all__ = ["pull_layers"]


def pull_layers(
    reader: ImageReader,
    image: ImageManifest,
    rootfs: Path,
    scratch: Path,
    *,
    max_size: int,
    say: Callable[[str], None],
) -> int:
    """Apply every layer of ``image`` to ``rootfs`` (bottom first); returns the bytes downloaded.

    Raises ``RegistryError`` (download, digest) or ``LayerRefused`` (content); the caller removes
    ``rootfs`` and ``scratch`` then, as neither holds anything usable."""
    declared = sum(layer.size for layer in image.layers)
    if declared > max_size:
        raise LayerRefused(f"the image's layers are {declared} bytes, more than the {max_size} allowed")
    budget = SizeBudget(max_size)
    downloaded = 0
    for number, layer in enumerate(image.layers, 1):
        label = f"layer {number} ({layer.digest})"
        check_layer_type(layer.media_type, label)
        blob = scratch / f"layer-{number}"
        with open(blob, "wb") as out:
            downloaded += reader.download_blob(layer.digest, out, limit=max_size - downloaded)
        apply_layer(blob, rootfs, budget=budget, label=label)
        blob.unlink()
        say(f"Layer {number}/{len(image.layers)} {layer.digest} verified and unpacked")
    return downloaded
