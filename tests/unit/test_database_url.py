"""``DATABASE_URL`` from bound credentials, as Cloud Controller's DatabaseUriGenerator makes it."""

from __future__ import annotations

from typing import Any

import pytest

from ladle.runner.environment import database_url


def _services(*uris: Any) -> dict[str, Any]:
    return {"user-provided": [{"credentials": {"uri": u}} for u in uris]}


@pytest.mark.parametrize(
    ("uris", "expected"),
    [
        (("mysql://u:p@h/db",), "mysql2://u:p@h/db"),
        (("postgresql://h/db?sslmode=require",), "postgres://h/db?sslmode=require"),
        (("redis://h", "postgres://h/first", "mysql://h/second"), "postgres://h/first"),
        (("redis://h", 5, None), None),
        ((), None),
    ],
)
def test_first_sql_database_uri_with_rails_scheme(uris: tuple[Any, ...], expected: str | None) -> None:
    assert database_url(_services(*uris)) == expected
