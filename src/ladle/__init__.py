"""Ladle: a Cloud Foundry v3-compatible application platform API."""

from importlib import metadata

try:
    __version__ = metadata.version("ladle")
    __description__ = metadata.metadata("ladle")["Summary"] or ""
except metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__, __description__ = "0+unknown", ""

# The Cloud Controller v3 API version Ladle reports. The cf CLI warns below 3.99.0 and changes
# request shapes from 3.211.0, so stay inside that window.
CC_API_VERSION = "3.210.0"
