"""Label and annotation values of any JSON type, as Cloud Controller treats them.

Cloud Controller turns a label value into text with Ruby's ``to_s`` before checking it
(``MetadataValidatorHelper``) and stores that text, so ``{"k": 5}`` is the label ``"5"``;
an object or a list becomes Ruby's rendering of it and fails the character rule with 422.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cf import World, unique


def _create(world: World, space: dict[str, Any], labels: dict[str, Any]) -> Any:
    body = {
        "name": unique("app"),
        "relationships": {"space": {"data": {"guid": space["guid"]}}},
        "metadata": {"labels": labels},
    }
    return world.admin.post("/v3/apps", json=body)


@pytest.mark.parametrize(("value", "stored"), [(5, "5"), (True, "true"), (1.5, "1.5"), ("v", "v")])
def test_scalar_label_values_are_stored_as_text(world: World, space: dict[str, Any], value: Any, stored: str) -> None:
    r = _create(world, space, {"k": value})
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["labels"] == {"k": stored}
    found = world.admin.get("/v3/apps", params={"label_selector": f"k={stored}", "space_guids": space["guid"]})
    assert [a["guid"] for a in found.json()["resources"]] == [r.json()["guid"]]


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ({"a": 1}, "Metadata label value error: '{\"a\"=>1}' contains invalid characters"),
        ([1, "x"], "Metadata label value error: '[1, \"x\"]' contains invalid characters"),
        ("a b", "Metadata label value error: 'a b' contains invalid characters"),
    ],
)
def test_object_and_list_label_values_are_refused(world: World, space: dict[str, Any], value: Any, detail: str) -> None:
    r = _create(world, space, {"k": value})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["detail"] == detail
    listed = world.admin.get("/v3/apps", params={"space_guids": space["guid"]}).json()
    assert listed["pagination"]["total_results"] == 0
