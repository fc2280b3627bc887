"""The ``label_selector`` query parameter: parsing and validation, as Cloud Controller does it.

Requirements are separated by commas outside parentheses and tried, in order, as
``key in (..)``, ``key notin (..)``, ``key=v``/``key==v``, ``key!=v``, ``key`` and ``!key``.
Nothing is trimmed, so ``a in (x, y)`` has the value `` y`` and fails validation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ladle.messages.metadata import key_error, label_value_error, split_key

__all__ = ["MAX_REQUIREMENTS", "Requirement", "parse_label_selector"]

MAX_REQUIREMENTS = 50
Operator = Literal["in", "notin", "equal", "not_equal", "exists", "not_exists"]

_SPLIT = re.compile(r"(?:\(.*?\)|[^,])+")
_KEY = r"[\w\-./]+"
_PATTERNS: tuple[tuple[Operator, re.Pattern[str]], ...] = (
    ("in", re.compile(r"\A(?P<key>.*?) in \((?P<values>.*)\)\Z", re.DOTALL)),
    ("notin", re.compile(r"\A(?P<key>.*?) notin \((?P<values>.*)\)\Z", re.DOTALL)),
    ("equal", re.compile(rf"\A(?P<key>{_KEY})(==?)(?P<values>.*)\Z", re.ASCII | re.DOTALL)),
    ("not_equal", re.compile(rf"\A(?P<key>{_KEY})(!=)(?P<values>.*)\Z", re.ASCII | re.DOTALL)),
    ("exists", re.compile(rf"\A(?P<key>{_KEY})(?P<values>)\Z", re.ASCII)),
    ("not_exists", re.compile(rf"\A!(?P<key>{_KEY})(?P<values>)\Z", re.ASCII)),
)


@dataclass(frozen=True)
class Requirement:
    operator: Operator
    key: str
    values: tuple[str, ...]

    @property
    def prefix(self) -> str:
        return split_key(self.key)[0] or ""

    @property
    def name(self) -> str:
        return split_key(self.key)[1]


def _split_values(text: str) -> tuple[str, ...]:
    # Ruby's String#split drops trailing empty strings but keeps inner ones.
    parts = text.split(",")
    while parts and parts[-1] == "":
        parts.pop()
    return tuple(parts)


def _parse_one(segment: str) -> Requirement | None:
    for operator, pattern in _PATTERNS:
        match = pattern.match(segment)
        if match:
            return Requirement(operator, match.group("key"), _split_values(match.group("values")))
    return None


def parse_label_selector(text: str) -> tuple[list[Requirement], list[str]]:
    """The requirements, and the messages for whatever is wrong with them (empty when valid)."""
    segments = _SPLIT.findall(text)
    if not segments:
        return [], ["Missing label_selector value"]
    if len(segments) > MAX_REQUIREMENTS:
        return [], [f"Too many label_selector requirements (maximum is {MAX_REQUIREMENTS})"]
    requirements: list[Requirement] = []
    errors: list[str] = []
    for segment in segments:
        requirement = _parse_one(segment)
        if requirement is None:
            errors.append("Invalid label_selector value")
            continue
        if message := key_error(requirement.key):
            errors.append(message)
        else:
            for value in requirement.values:
                if message := label_value_error(value):
                    errors.append(message)
                    break
        requirements.append(requirement)
    return requirements, errors
