"""Requests through the router while something changes under them: what failed, and who served."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

__all__ = ["TrafficRecord"]


@dataclass
class TrafficRecord:
    """One request at a time with ``send``; a failure is any answer but 200 or no answer at all.
    The test app answers with its environment, so a 200 says which instance served it."""

    failures: list[str] = field(default_factory=list)
    served: set[str] = field(default_factory=set)

    def send(self, http: httpx.Client, path: str = "/") -> None:
        try:
            response = http.get(path)
        except httpx.HTTPError as exc:
            self.failures.append(repr(exc))
            return
        if response.status_code != 200:
            self.failures.append(f"{response.status_code} {response.text[:200]}")
        else:
            self.served.add(str(response.json()["CF_INSTANCE_GUID"]))
