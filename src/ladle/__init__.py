"""Ladle: a Cloud Foundry v3-compatible application platform API."""

__version__ = "0.1.0"

# The Cloud Controller v3 API version Ladle reports. The cf CLI warns below 3.99.0 and changes
# request shapes from 3.211.0, so stay inside that window.
CC_API_VERSION = "3.210.0"
