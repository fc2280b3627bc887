"""The error table and the code agree: every error raised by name has an entry, and every entry
is raised somewhere (an entry nothing raises is dead weight that drifts from CF's wording)."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import ladle
from ladle.errors import ERRORS

SOURCE = Path(ladle.__file__).parent
# Calls whose first argument is an error name.
RAISERS = {"CFError", "staging_error", "raise_if_any"}


@cache
def _modules() -> list[ast.Module]:
    return [
        ast.parse(path.read_text(), str(path))
        for path in sorted(SOURCE.rglob("*.py"))
        if path.name != "errors.py" and "migrations" not in path.parts
    ]


def _called_name(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def test_every_error_raised_by_name_is_in_the_table() -> None:
    raised = {
        node.args[0].value
        for module in _modules()
        for node in ast.walk(module)
        if isinstance(node, ast.Call)
        and _called_name(node) in RAISERS
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }
    assert raised, "the scan found no raised errors at all"
    assert sorted(raised - set(ERRORS)) == []


def test_every_entry_is_named_outside_the_table() -> None:
    # Some names reach CFError through a variable (the stager maps exit codes to names), so an
    # entry counts as used wherever its name appears as a string in the code.
    named = {
        node.value
        for module in _modules()
        for node in ast.walk(module)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert sorted(set(ERRORS) - named) == []
