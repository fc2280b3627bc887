"""An httpx client for a Cloud Foundry v3 API: bearer tokens refreshed before they expire, CF
errors raised with the server's ``detail`` as is, list pages followed, every request counted."""

from __future__ import annotations

import base64
import json
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote_plus
from urllib.request import getproxies

import httpx

from ladle import __version__
from ladle.client.config import ClientConfig, ConfigStore

__all__ = [
    "ApiError",
    "CloudController",
    "NotLoggedIn",
    "fetch_root",
    "fetch_router",
    "jwt_claims",
    "new_http",
    "password_grant",
    "route_url",
]

# The cf CLI's OAuth client: public, empty secret.
OAUTH_CLIENT = ("cf", "")
# Refresh a token that expires within this many seconds (the cf CLI's margin).
REFRESH_MARGIN = 60
TIMEOUT = httpx.Timeout(30.0, read=300.0)
RETRIES = 2
RETRY_STATUSES = frozenset({500, 502, 503, 504})


def _user_agent() -> str:
    return f"ladle-client/{__version__}"


class ApiError(Exception):
    """A CF error answer (``{"errors": [{"code", "title", "detail"}]}``) or an OAuth error."""

    def __init__(self, status: int, errors: list[dict[str, Any]], request_id: str = "") -> None:
        self.status = status
        self.errors = errors
        self.request_id = request_id
        super().__init__(self.detail)

    @property
    def detail(self) -> str:
        return "\n".join(str(e.get("detail") or e.get("title") or "") for e in self.errors)

    @property
    def title(self) -> str:
        return str(self.errors[0].get("title", "")) if self.errors else ""

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        request_id = response.headers.get("x-vcap-request-id", "")
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            return cls(response.status_code, [e for e in body["errors"] if isinstance(e, dict)], request_id)
        if isinstance(body, dict) and "error" in body:  # OAuth: {"error", "error_description"}
            detail = body.get("error_description") or body["error"]
            return cls(response.status_code, [{"title": body["error"], "detail": detail}], request_id)
        text = response.text.strip() or response.reason_phrase
        detail = f"unexpected response {response.status_code}: {text[:500]}"
        return cls(response.status_code, [{"title": "UnexpectedResponse", "detail": detail}], request_id)


class NotLoggedIn(Exception):
    """No API or no token in the config: ``ladle login`` first."""


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified: the client only reads its own token's expiry and user."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def fetch_root(http: httpx.Client, api: str) -> dict[str, Any]:
    """``GET /`` of an API: its links (login, log cache, Ladle's own endpoints)."""
    response = http.get(f"{api}/")
    if response.status_code != 200:
        raise ApiError.from_response(response)
    body = response.json()
    links = body.get("links") if isinstance(body, dict) else None
    if not isinstance(links, dict):
        raise ApiError(0, [{"title": "NotCloudFoundry", "detail": f"{api} is not a Cloud Foundry API"}])
    return links


def fetch_router(http: httpx.Client, api: str) -> str:
    """The router's base URL from ``GET /v3/info`` (``custom.router``), or "" when not given."""
    response = http.get(f"{api}/v3/info")
    body = response.json() if response.status_code == 200 else {}
    custom = body.get("custom") if isinstance(body, dict) else None
    router = custom.get("router") if isinstance(custom, dict) else None
    return router.rstrip("/") if isinstance(router, str) else ""


def route_url(router: str, route: str) -> str:
    """A route (``host.domain/path``) as a URL: at the advertised router's scheme and port."""
    if not router:
        return f"https://{route}"
    parsed = httpx.URL(router)
    port = f":{parsed.port}" if parsed.port else ""
    host, _, path = route.partition("/")
    return f"{parsed.scheme}://{host}{port}{'/' + path if path else ''}"


def password_grant(http: httpx.Client, login: str, username: str, password: str) -> dict[str, Any]:
    response = http.post(
        f"{login}/oauth/token",
        data={"grant_type": "password", "username": username, "password": password},
        auth=OAUTH_CLIENT,
    )
    if response.status_code != 200:
        raise ApiError.from_response(response)
    body: dict[str, Any] = response.json()
    return body


class _TlsOnFirstUse(httpx.BaseTransport):
    """The https transport, made when the first https request comes: loading the CA bundle takes
    about 20 ms, which a command talking to an API over plain http never needs."""

    def __init__(self) -> None:
        self._inner: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = httpx.HTTPTransport()
        return self._inner.handle_request(request)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


def _plain_http_transport() -> httpx.HTTPTransport:
    # Only http:// requests reach it; its TLS context verifies and trusts no one, so were an
    # https request ever sent here it would fail closed, never go unverified.
    return httpx.HTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))


def new_http(**kwargs: Any) -> httpx.Client:
    if not getproxies():
        # With proxies in the environment httpx's own transports (which honour them) are kept.
        kwargs.update(transport=_plain_http_transport(), mounts={"https://": _TlsOnFirstUse()})
    return httpx.Client(
        timeout=TIMEOUT,
        headers={"User-Agent": _user_agent(), "Accept": "application/json"},
        follow_redirects=False,
        **kwargs,
    )


class CloudController:
    """The API of the config's target, as the logged-in user. ``requests`` counts what was sent."""

    def __init__(
        self, config: ClientConfig, store: ConfigStore | None = None, warn: Callable[[str], None] | None = None
    ) -> None:
        if not config.api or not config.access_token:
            raise NotLoggedIn("Not logged in. Use 'ladle login API_URL' to log in.")
        self.config = config
        self.store = store
        self.warn = warn  # shown the server's X-Cf-Warnings
        self.warned: set[str] = set()
        self.requests = 0
        self.http = new_http(event_hooks={"request": [self._count]})

    def _count(self, _request: httpx.Request) -> None:
        self.requests += 1

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> CloudController:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- tokens -----------------------------------------------------------------------------

    @property
    def user_guid(self) -> str:
        return str(jwt_claims(self.config.access_token).get("user_id", ""))

    def _token_fresh(self) -> bool:
        expiry = jwt_claims(self.config.access_token).get("exp")
        return isinstance(expiry, int | float) and expiry - REFRESH_MARGIN > time.time()

    def refresh(self) -> None:
        if not self.config.refresh_token:
            raise NotLoggedIn("The session has expired. Use 'ladle login' to log in again.")
        response = self.http.post(
            f"{self.config.login}/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": self.config.refresh_token},
            auth=OAUTH_CLIENT,
        )
        if response.status_code != 200:
            raise NotLoggedIn("The session has expired. Use 'ladle login' to log in again.")
        body = response.json()
        self.config.access_token = str(body["access_token"])
        self.config.refresh_token = str(body.get("refresh_token") or self.config.refresh_token)
        if self.store is not None:
            self.store.save(self.config)

    def _auth(self) -> dict[str, str]:
        if not self._token_fresh():
            self.refresh()
        return {"Authorization": f"bearer {self.config.access_token}"}

    # --- requests ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.config.api}{path}"

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """As the cf CLI: a request that changes nothing is tried again (twice) after a
        connection failure or a 502/503/504; a POST never is."""
        attempts = RETRIES + 1 if method in ("GET", "PUT", "PATCH", "DELETE") else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.TransportError:
                if last:
                    raise
                continue
            if response.status_code not in RETRY_STATUSES or last:
                return response
        raise AssertionError("unreachable")

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a 4xx/5xx becomes :class:`ApiError`. A rejected token is refreshed once."""
        headers = {**kwargs.pop("headers", {}), **self._auth()}
        response = self._request(method, self.url(path), headers=headers, **kwargs)
        if response.status_code == 401 and self.config.refresh_token:
            self.refresh()
            headers.update(self._auth())
            response = self._request(method, self.url(path), headers=headers, **kwargs)
        self._warnings(response)
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        return response

    def _warnings(self, response: httpx.Response) -> None:
        header = response.headers.get("x-cf-warnings")
        if header and self.warn is not None:
            for warning in header.split(","):
                text = unquote_plus(warning.strip())
                if text not in self.warned:  # a poll repeats its warnings: say each once
                    self.warned.add(text)
                    self.warn(text)

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        headers = {**kwargs.pop("headers", {}), **self._auth()}
        with self.http.stream(method, self.url(path), headers=headers, **kwargs) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiError.from_response(response)
            yield response

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.send(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return {}
        return response.json()

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        # The cf CLI sends a JSON content type even without a body; so do we.
        if body is None:
            return self.call("POST", path, headers={"Content-Type": "application/json"})
        return self.call("POST", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.call("PATCH", path, json=body)

    def delete(self, path: str) -> httpx.Response:
        return self.send("DELETE", path)

    def list(self, path: str, params: Mapping[str, str | int] | None = None) -> list[dict[str, Any]]:
        """Every resource of a list, following ``pagination.next.href``."""
        out: list[dict[str, Any]] = []
        page = self.get(path, params)
        while True:
            out.extend(page.get("resources", []))
            following = (page.get("pagination") or {}).get("next")
            if not following or not following.get("href"):
                return out
            page = self.get(following["href"])

    def one(self, path: str, params: Mapping[str, str | int]) -> dict[str, Any] | None:
        found = self.get(path, params).get("resources", [])
        return found[0] if found else None

    def extension(self, name: str, guid: str) -> str | None:
        """The URL of a Ladle-only endpoint for ``guid``, when the API advertised it."""
        template = self.config.extensions.get(name)
        return template.replace("{guid}", guid) if template else None
