"""``PATCH /v3/apps/:guid/environment_variables``."""

from __future__ import annotations

from typing import Any

from ladle.messages.base import Errors, unknown_fields
from ladle.messages.environment import env_key_error, env_value_error

__all__ = ["parse_env_update"]


def parse_env_update(body: dict[str, Any]) -> dict[str, str | None]:
    """The variables to set; a value of None removes the variable."""
    errors = Errors()
    errors.base(unknown_fields(body, ("var",)))
    var = body.get("var")
    if not isinstance(var, dict):
        errors.add("var", "must be an object")
        errors.raise_if_any()
        return {}
    for key, value in var.items():
        if message := env_key_error(key):
            errors.add("var", message)
        elif message := env_value_error(key, value):
            errors.base(message)
    errors.raise_if_any()
    return dict(var)
