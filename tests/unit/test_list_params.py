from __future__ import annotations

from datetime import datetime

from ladle.messages.lists import ListSpec, TimeCondition, parse_list
from ladle.messages.query import QueryString

APPS = ListSpec(
    keys=("names", "space_guids", "include"),
    array_keys=frozenset({"names", "space_guids"}),
    order_by=("created_at", "updated_at", "name"),
    include=("space", "org"),
)


def parse(query: str) -> tuple[object, list[str]]:
    return parse_list(QueryString(query), APPS)


def test_defaults() -> None:
    params, errors = parse("")
    assert errors == []
    assert (params.page, params.per_page, params.order_by) == (1, 50, None)  # type: ignore[attr-defined]


def test_arrays_are_split_after_decoding() -> None:
    params, errors = parse_list(QueryString("names=one%2Ctwo,%20three&space_guids="), APPS)
    assert errors == []
    assert params.arrays["names"] == ["one", "two", "three"]
    assert params.arrays["space_guids"] == [""]
    # A literal comma arrives double-encoded.
    params, _ = parse_list(QueryString("names=a%252Cb"), APPS)
    assert params.arrays["names"] == ["a,b"]


def test_pagination_messages() -> None:
    assert parse("per_page=0")[1] == ["Per page must be a positive integer"]
    assert parse("per_page=5001")[1] == ["Per page must be between 1 and 5000"]
    assert parse("page=")[1] == ["Page must be a positive integer"]
    assert parse("page=abc")[1] == ["Page must be a positive integer"]
    params, errors = parse("page=2abc")
    assert errors == [] and params.page == 2  # type: ignore[attr-defined]
    assert parse_list(QueryString("page=3&per_page=10"), APPS, max_total_results=20)[1] == [
        "Maximum result (page * per_page) must be less than 20"
    ]


def test_unknown_parameters_list_valid_ones_in_order() -> None:
    assert parse("foo=1&bar=2&foo=3")[1] == [
        "Unknown query parameter(s): 'foo', 'bar'. Valid parameters are: 'page', 'per_page', 'order_by', "
        "'created_ats', 'updated_ats', 'guids', 'names', 'space_guids', 'include', 'label_selector'"
    ]


def test_order_by() -> None:
    params, errors = parse("order_by=-name")
    assert errors == []
    assert (params.order_by, params.descending, params.order_echo) == ("name", True, "-name")  # type: ignore[attr-defined]
    params, _ = parse("order_by=name")
    assert params.order_echo == "+name"  # type: ignore[attr-defined]
    assert parse("order_by=size")[1] == ["Order by can only be: 'created_at', 'updated_at', 'name'"]
    params, errors = parse("order_by=")
    assert errors == [] and params.order_by is None  # type: ignore[attr-defined]


def test_timestamps() -> None:
    params, errors = parse("created_ats=2020-01-01T00:00:00Z,2021-01-01T00:00:00Z&updated_ats[gt]=2020-05-05T10:00:00Z")
    assert errors == []
    plain = params.timestamps["created_ats"][0]  # type: ignore[attr-defined]
    assert [c.operator for c in plain] == ["in_second", "in_second"]
    assert params.timestamps["updated_ats"] == [[TimeCondition("gt", datetime(2020, 5, 5, 10))]]  # type: ignore[attr-defined]
    assert parse("created_ats=2020-01-01")[1] == [
        "Created ats has an invalid timestamp format. Timestamps should be formatted as 'YYYY-MM-DDThh:mm:ssZ'"
    ]
    assert parse("created_ats[foo]=x")[1] == [
        "Created ats Invalid relational operator: 'foo'",
        "Created ats has an invalid timestamp format. Timestamps should be formatted as 'YYYY-MM-DDThh:mm:ssZ'",
    ]
    assert parse("updated_ats[lt]=2020-01-01T00:00:00Z,2020-01-02T00:00:00Z")[1] == [
        "Updated ats only accepts one value when using a relational operator"
    ]


def test_time_conditions_cover_whole_seconds() -> None:
    t = datetime(2020, 1, 1, 0, 0, 0)
    later = datetime(2020, 1, 1, 0, 0, 1)
    assert TimeCondition("lte", t).holds(t) and not TimeCondition("lte", t).holds(later)
    assert TimeCondition("gt", t).holds(later) and not TimeCondition("gt", t).holds(t)
    assert TimeCondition("in_second", t).holds(t) and not TimeCondition("in_second", t).holds(later)


def test_include() -> None:
    params, errors = parse("include=space,org")
    assert errors == [] and params.include == ["space", "org"]  # type: ignore[attr-defined]
    assert parse("include=spaceship")[1] == [
        "Invalid included resource: 'spaceship'. Valid included resources are: 'space', 'org'"
    ]
    assert parse("include=space,space")[1] == ["Duplicate included resource: 'space'"]
