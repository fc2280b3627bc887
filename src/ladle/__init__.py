"""Ladle: a Cloud Foundry v3-compatible application platform API."""

from functools import cache

__all__ = ["CC_API_VERSION", "__description__", "__version__"]

# The package's version (pyproject.toml reads it from here).
__version__ = "0.1.0"

# The Cloud Controller v3 API version Ladle reports. The cf CLI warns below 3.99.0 and changes
# request shapes from 3.211.0, so stay inside that window.
CC_API_VERSION = "3.210.0"


@cache
def _summary() -> str:
    from importlib import metadata

    try:
        return metadata.metadata("ladle")["Summary"] or ""
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return ""


def __getattr__(name: str) -> str:
    # Looked up on first use (by the server's info documents): reading the installed metadata
    # would cost every client command tens of milliseconds of start-up.
    if name == "__description__":
        return _summary()
    raise AttributeError(f"module 'ladle' has no attribute {name!r}")
