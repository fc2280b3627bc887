from __future__ import annotations

import pytest

from ladle.messages.label_selector import Requirement, parse_label_selector


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("env", [Requirement("exists", "env", ())]),
        ("!env", [Requirement("not_exists", "env", ())]),
        ("env=prod", [Requirement("equal", "env", ("prod",))]),
        ("env==prod", [Requirement("equal", "env", ("prod",))]),
        ("env!=prod", [Requirement("not_equal", "env", ("prod",))]),
        ("env in (a,b)", [Requirement("in", "env", ("a", "b"))]),
        ("env notin (a,b)", [Requirement("notin", "env", ("a", "b"))]),
        (
            "example.com/tier=web,env",
            [Requirement("equal", "example.com/tier", ("web",)), Requirement("exists", "env", ())],
        ),
        ("env=", [Requirement("equal", "env", ())]),
        ("a=x,y", [Requirement("equal", "a", ("x",)), Requirement("exists", "y", ())]),
    ],
)
def test_parses(text: str, expected: list[Requirement]) -> None:
    requirements, errors = parse_label_selector(text)
    assert errors == []
    assert requirements == expected


def test_prefix_and_name() -> None:
    (req,), _ = parse_label_selector("example.com/tier=web")
    assert (req.prefix, req.name) == ("example.com", "tier")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Missing label_selector value"),
        ("foo=bar, ", "Invalid label_selector value"),
        ("foo inn (bar,baz)", "Invalid label_selector value"),
        ("foo == (bar,baz)", "Invalid label_selector value"),
        ("!", "Invalid label_selector value"),
        ("buncha nonsense", "Invalid label_selector value"),
        ("env in (a, b)", "' b' contains invalid characters"),
        ("-env=x", "'-env' starts or ends with invalid characters"),
        ("cloudfoundry.org/x=y", "prefix 'cloudfoundry.org' is reserved"),
        ("a/b/c=d", "key has more than one '/'"),
        (",".join(["a"] * 51), "Too many label_selector requirements (maximum is 50)"),
    ],
)
def test_errors(text: str, message: str) -> None:
    _, errors = parse_label_selector(text)
    assert errors == [message]
