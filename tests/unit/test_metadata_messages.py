from __future__ import annotations

from typing import Any

import pytest

from ladle.errors import CFError
from ladle.messages.base import Errors
from ladle.messages.metadata import key_error, label_value_error, parse_metadata


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "key cannot be empty string"),
        ("a/b/c", "key has more than one '/'"),
        ("/b", "prefix '' must be in valid dns format"),
        ("not_dns/b", "prefix 'not_dns' must be in valid dns format"),
        ("cloudfoundry.org/b", "prefix 'cloudfoundry.org' is reserved"),
        ("example.com/", "key cannot be empty string"),
        ("a~b", "'a~b' contains invalid characters"),
        ("-ab", "'-ab' starts or ends with invalid characters"),
        ("a" * 64, "'aaaaaaaa...' is greater than 63 characters"),
        ("example.com/ok", None),
        ("a", None),
    ],
)
def test_key_rules(key: str, message: str | None) -> None:
    assert key_error(key) == message


def test_label_values() -> None:
    assert label_value_error(None) is None
    assert label_value_error("") is None
    assert label_value_error(5) is None
    assert label_value_error("a b") == "'a b' contains invalid characters"


def parse(metadata: Any) -> list[str]:
    errors = Errors()
    parse_metadata({"metadata": metadata}, errors)
    return errors.messages


def test_metadata_block_messages() -> None:
    assert parse("x") == ["Metadata must be an object"]
    assert parse({"other": 1, "extra": 2}) == ["Metadata has unexpected field(s): 'other' 'extra'"]
    assert parse({"labels": "x"}) == ["Metadata 'labels' is not an object"]
    assert parse({"labels": {"a~": "b c"}}) == [
        "Metadata label key error: 'a~' contains invalid characters",
        "Metadata label value error: 'b c' contains invalid characters",
    ]
    # Annotation keys are only checked when they carry a value.
    assert parse({"annotations": {"a~": None}}) == []
    assert parse({"annotations": {"a~": "v"}}) == ["Metadata annotation key error: 'a~' contains invalid characters"]
    assert parse({"annotations": {"k": "x" * 5001}}) == [
        "Metadata annotation value error: 'xxxxxxxx...' is greater than 5000 characters"
    ]


def test_errors_join_like_cloud_controller() -> None:
    errors = Errors()
    errors.add("staging_memory_in_mb", "must be greater than 0")
    errors.base("Unknown field(s): 'x'")
    with pytest.raises(CFError) as info:
        errors.raise_if_any()
    assert info.value.detail == "Staging memory in mb must be greater than 0, Unknown field(s): 'x'"
    assert info.value.status == 422
