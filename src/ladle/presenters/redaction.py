"""How secrets read when the caller may not see them."""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = ["Redaction", "redact", "redact_object"]


class Redaction(Enum):
    NONE = None
    SINGLE = "[PRIVATE DATA HIDDEN]"
    LIST = "[PRIVATE DATA HIDDEN IN LISTS]"


def redact(value: Any, redaction: Redaction) -> Any:
    return value if redaction is Redaction.NONE else redaction.value


def redact_object(value: Any, redaction: Redaction) -> Any:
    """Objects (like process types) are replaced by ``{"redacted_message": ...}``."""
    return value if redaction is Redaction.NONE else {"redacted_message": redaction.value}
