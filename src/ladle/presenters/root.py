"""The documents served without a token: ``/``, ``/v3`` and ``/v3/info``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ladle import CC_API_VERSION, __description__, __version__
from ladle.urls import Urls, link

__all__ = ["PLATFORM_NAME", "present_global_root", "present_info", "present_v3_root"]

PLATFORM_NAME = "Ladle"


def present_global_root(urls: Urls, login_url: str) -> dict[str, Any]:
    base = urls.base
    return {
        "links": {
            "self": link(base),
            "cloud_controller_v3": {"href": f"{base}/v3", "meta": {"version": CC_API_VERSION}},
            "network_policy_v0": link(f"{base}/networking/v0/external"),
            "network_policy_v1": link(f"{base}/networking/v1/external"),
            "login": link(login_url),
            "uaa": link(login_url),
            "credhub": None,
            "routing": None,
            "logging": None,
            "log_cache": link(base),
            "log_stream": None,
            "app_ssh": None,
            # Ladle's own endpoints, for clients that look for them (``ladle push``); ``{guid}``
            # is a build's or a process's guid. Cloud Foundry clients ignore links they do not know.
            "ladle_build_log": link(f"{base}/v3/builds/{{guid}}/logs"),
            "ladle_build_cancel": link(f"{base}/v3/builds/{{guid}}/actions/cancel"),
            "ladle_process_stats_stream": link(f"{base}/v3/processes/{{guid}}/stats/stream"),
        }
    }


def present_v3_root(urls: Urls, collections: Iterable[str]) -> dict[str, Any]:
    links = {"self": link(urls.v3().rstrip("/"))}
    links.update({name: link(urls.v3(name)) for name in collections})
    return {"links": links}


def present_info(urls: Urls, router_url: str | None = None) -> dict[str, Any]:
    """What this platform is, from the installed package's metadata. Ladle limits no request
    rates, so it claims no limits. ``custom.router`` says where apps' traffic goes."""
    return {
        "build": f"ladle-{__version__}",
        "cli_version": {"minimum": "", "recommended": ""},
        "custom": {"router": router_url} if router_url else {},
        "description": __description__,
        "name": PLATFORM_NAME,
        "version": __version__,
        "osbapi_version": "2.15",
        "rate_limits": {"enabled": False, "general_limit": None, "reset_interval_in_minutes": None},
        "links": {"self": link(urls.v3("info")), "support": link("")},
    }
