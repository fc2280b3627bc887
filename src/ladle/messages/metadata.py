"""Labels and annotations: the key and value rules, and the ``metadata`` part of a request body."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ladle.messages.base import Errors, unknown_fields

__all__ = [
    "MetadataUpdate",
    "key_error",
    "label_value_error",
    "parse_metadata",
    "parse_metadata_update",
    "split_key",
]

_DNS = re.compile(
    r"\A(([a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])\.)+([a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])\Z",
    re.IGNORECASE,
)
_INVALID_CHARS = re.compile(r"[^A-Za-z0-9_\-.]")
_ALNUM_ENDS = re.compile(r"\A(?=[A-Za-z0-9]).*[A-Za-z0-9]\Z", re.DOTALL)
MAX_NAME = 63
MAX_PREFIX = 253
MAX_ANNOTATION_VALUE = 5000


def split_key(key: str) -> tuple[str | None, str]:
    """``example.com/tier`` -> (``example.com``, ``tier``); an unprefixed key has prefix None."""
    if "/" not in key:
        return None, key
    prefix, _, name = key.partition("/")
    return prefix, name


def _abbrev(text: str) -> str:
    return f"'{text[:8]}...'"


def key_error(key: Any) -> str | None:
    """The first rule a label or annotation key breaks, worded as Cloud Controller words it."""
    text = str(key)
    if text == "":
        return "key cannot be empty string"
    if text.count("/") > 1:
        return "key has more than one '/'"
    prefix, name = split_key(text)
    if prefix is not None:
        if not _DNS.match(prefix):
            return f"prefix '{prefix}' must be in valid dns format"
        if len(prefix) > MAX_PREFIX:
            return f"prefix {_abbrev(prefix)} is greater than {MAX_PREFIX} characters"
        if prefix.lower() == "cloudfoundry.org":
            return "prefix 'cloudfoundry.org' is reserved"
    if name == "":
        return "key cannot be empty string"
    return _name_error(name)


def _name_error(name: str) -> str | None:
    if _INVALID_CHARS.search(name):
        return f"'{name}' contains invalid characters"
    if not _ALNUM_ENDS.match(name):
        return f"'{name}' starts or ends with invalid characters"
    if len(name) > MAX_NAME:
        return f"{_abbrev(name)} is greater than {MAX_NAME} characters"
    return None


def label_value_error(value: Any) -> str | None:
    if value is None:
        return None
    text = _to_s(value)
    if text == "":
        return None
    return _name_error(text)


def _to_s(value: Any) -> str:
    """Ruby's ``to_s``, which Cloud Controller applies to a label value before checking it: a
    number or boolean becomes its text (and is stored so); an object or a list becomes Ruby's
    rendering of it, which always fails the character rule."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return _inspect(value)


def _inspect(value: Any) -> str:
    """Ruby 3.3's ``inspect`` of a parsed JSON value (``to_s`` of a Hash or Array is this)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_inspect(k)}=>{_inspect(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inspect(v) for v in value) + "]"
    return str(value)


@dataclass
class MetadataUpdate:
    """What a request asks to change; a value of None deletes the key."""

    labels: dict[str, str | None] = field(default_factory=dict)
    annotations: dict[str, str | None] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.labels and not self.annotations


def parse_metadata(body: dict[str, Any], errors: Errors) -> MetadataUpdate | None:
    """Validate ``body["metadata"]`` if the request has one; errors go into ``errors``."""
    if "metadata" not in body:
        return None
    metadata = body["metadata"]
    if not isinstance(metadata, dict):
        errors.add("metadata", "must be an object")
        return None
    extra = [k for k in metadata if k not in {"labels", "annotations"}]
    if extra:
        errors.add("metadata", "has unexpected field(s): " + " ".join(f"'{k}'" for k in extra))
    update = MetadataUpdate()
    labels = metadata.get("labels")
    if labels:
        if not isinstance(labels, dict):
            errors.add("metadata", "'labels' is not an object")
        else:
            for key, value in labels.items():
                if message := key_error(key):
                    errors.add("metadata", f"label key error: {message}")
                if message := label_value_error(value):
                    errors.add("metadata", f"label value error: {message}")
                update.labels[str(key)] = None if value is None else _to_s(value)
    annotations = metadata.get("annotations")
    if annotations:
        if not isinstance(annotations, dict):
            errors.add("metadata", "'annotations' is not an object")
        else:
            for key, value in annotations.items():
                text = None if value is None else (value if isinstance(value, str) else _to_s(value))
                if text and (message := key_error(key)):
                    errors.add("metadata", f"annotation key error: {message}")
                if text is not None and len(text) > MAX_ANNOTATION_VALUE:
                    errors.add(
                        "metadata",
                        f"annotation value error: {_abbrev(text)} is greater than {MAX_ANNOTATION_VALUE} characters",
                    )
                update.annotations[str(key)] = text
    return update


def parse_metadata_update(body: dict[str, Any]) -> MetadataUpdate | None:
    """A PATCH whose only key is ``metadata`` (tasks, deployments)."""
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, ("metadata",)))
    errors.raise_if_any()
    return metadata
