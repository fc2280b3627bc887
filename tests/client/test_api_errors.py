"""How the client reads the answers it did not hope for: CF error envelopes, OAuth errors and
anything else, plus route URLs at an advertised router."""

from __future__ import annotations

import httpx

from ladle.client.api import ApiError, jwt_claims, route_url


def test_cf_envelope_detail_as_is() -> None:
    body = {
        "errors": [
            {"detail": "App with the name 'a' already exists.", "title": "CF-UnprocessableEntity", "code": 10008},
            {"detail": "Second problem", "title": "CF-Other", "code": 1},
        ]
    }
    error = ApiError.from_response(httpx.Response(422, json=body, headers={"X-Vcap-Request-Id": "r-1"}))
    assert (error.status, error.title, error.request_id) == (422, "CF-UnprocessableEntity", "r-1")
    assert error.detail == "App with the name 'a' already exists.\nSecond problem"


def test_oauth_and_unexpected_answers() -> None:
    oauth = ApiError.from_response(
        httpx.Response(401, json={"error": "unauthorized", "error_description": "Bad credentials"})
    )
    assert (oauth.status, oauth.detail) == (401, "Bad credentials")
    gateway = ApiError.from_response(httpx.Response(502, text="<html>bad gateway</html>"))
    assert gateway.detail == "unexpected response 502: <html>bad gateway</html>"


def test_route_urls_and_claims() -> None:
    assert route_url("http://127.0.0.1:8081", "a.apps.localhost") == "http://a.apps.localhost:8081"
    assert route_url("http://127.0.0.1:8081", "a.apps.localhost/api") == "http://a.apps.localhost:8081/api"
    assert route_url("", "a.example.com") == "https://a.example.com"
    assert jwt_claims("not-a-jwt") == {}
    assert jwt_claims("e30.eyJleHAiOiAxfQ.sig") == {"exp": 1}
