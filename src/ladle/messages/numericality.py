"""Rails' ``numericality`` validation, as Cloud Controller's messages apply it to JSON values.

Rails accepts a number or a string that reads as one (``"3"`` scales to 3 instances), refuses
anything else with ``is not a number``, then ``must be an integer`` for ``only_integer``, then
the bounds, each with its own wording.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ladle.messages.base import Errors

__all__ = ["MAX_DB_BIGINT", "MAX_DB_INT", "integer"]

MAX_DB_INT = 2**31 - 1
MAX_DB_BIGINT = 2**63 - 1
_INTEGER = re.compile(r"\A[+-]?\d+\Z")


def _as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if not isinstance(value, str):
        return None
    if _INTEGER.match(value):
        return int(value)
    try:
        number = float(value.replace("_", ""))
    except ValueError:
        return None
    return None if math.isinf(number) or math.isnan(number) else number


def integer(
    errors: Errors,
    attribute: str,
    value: Any,
    *,
    greater_than: int | None = None,
    at_least: int | None = None,
    at_most: int | None = None,
) -> int | None:
    """Validate an optional integer (``None`` passes, as ``allow_nil``); returns it if valid."""
    if value is None:
        return None
    number = _as_number(value)
    if number is None:
        errors.add(attribute, "is not a number")
        return None
    if isinstance(number, float) or not _INTEGER.match(str(value)):
        errors.add(attribute, "must be an integer")
        return None
    valid = True
    if greater_than is not None and not number > greater_than:
        errors.add(attribute, f"must be greater than {greater_than}")
        valid = False
    if at_least is not None and not number >= at_least:
        errors.add(attribute, f"must be greater than or equal to {at_least}")
        valid = False
    if at_most is not None and not number <= at_most:
        errors.add(attribute, f"must be less than or equal to {at_most}")
        valid = False
    return number if valid else None
