"""Rules for user-provided environment variable names."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["env_key_error", "env_value_error"]

_VCAP = re.compile(r"\AVCAP_", re.IGNORECASE)
_VMC = re.compile(r"\AVMC", re.IGNORECASE)
_PORT = re.compile(r"\APORT\Z", re.IGNORECASE)


def env_key_error(key: Any) -> str | None:
    """The first rule a variable name breaks, or None."""
    if not isinstance(key, str):
        return "key must be a string"
    if len(key) < 1:
        return "key must be a minimum length of 1"
    if _VCAP.match(key):
        return "cannot start with VCAP_"
    if _VMC.match(key):
        return "cannot start with VMC_"
    if _PORT.match(key):
        return "cannot set PORT"
    return None


def env_value_error(key: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return None
    rendered = json.dumps(value, separators=(",", ":"))
    return f"Non-string value in environment variable for key '{key}', value '{rendered}'"
