"""How secrets read when the caller may not see them."""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = ["Redaction", "redact", "redact_object"]


class Redaction(Enum):
    NONE = None
    SINGLE = "[PRIVATE DATA HIDDEN]"
    LIST = "[PRIVATE DATA HIDDEN IN LISTS]"


# Read once: an Enum's members and values are looked up through descriptors, and a list of
# thousands of resources asks several times per resource.
_SHOWN = Redaction.NONE
_TEXT = {redaction: redaction.value for redaction in Redaction}


def redact(value: Any, redaction: Redaction) -> Any:
    return value if redaction is _SHOWN else _TEXT[redaction]


def redact_object(value: Any, redaction: Redaction) -> Any:
    """Objects (like process types) are replaced by ``{"redacted_message": ...}``."""
    return value if redaction is _SHOWN else {"redacted_message": _TEXT[redaction]}
