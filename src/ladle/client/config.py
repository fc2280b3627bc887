"""Where the client keeps its target and tokens: one JSON file, mode 0600, in the user's config dir.

``LADLE_CLIENT_CONFIG`` names the directory instead (tests, several identities side by side);
otherwise it is ``ladle`` under the platform's user config directory (``$XDG_CONFIG_HOME`` on Linux).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

__all__ = ["CONFIG_ENV", "ClientConfig", "ConfigStore"]

CONFIG_ENV = "LADLE_CLIENT_CONFIG"
FILE_NAME = "config.json"


@dataclass
class ClientConfig:
    """The target API, what its root document said, the tokens and the targeted org and space."""

    api: str = ""
    login: str = ""  # the token server (root ``links.login``)
    log_cache: str = ""  # root ``links.log_cache``, empty when the API has none
    # Ladle-only endpoints the root document advertised (name -> href template with ``{guid}``).
    extensions: dict[str, str] = field(default_factory=dict)
    # Where apps' routes answer when ``/v3/info`` says (Ladle's ``custom.router``); else https.
    router: str = ""
    access_token: str = ""
    refresh_token: str = ""
    username: str = ""
    org_guid: str = ""
    org_name: str = ""
    space_guid: str = ""
    space_name: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClientConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class ConfigStore:
    """Reads and writes the config file; every write leaves it 0600 in a 0700 directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / FILE_NAME

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> ConfigStore:
        chosen = environ.get(CONFIG_ENV)
        return cls(Path(chosen) if chosen else Path(platformdirs.user_config_dir("ladle")))

    def load(self) -> ClientConfig:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return ClientConfig()
        return ClientConfig.from_json(data if isinstance(data, dict) else {})

    def save(self, config: ClientConfig) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written under a temporary name created 0600 and renamed: the tokens are never readable
        # by others, not even for a moment, and a crash never leaves half a file.
        fd, temporary = tempfile.mkstemp(prefix=".config-", dir=self.directory)
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(asdict(config), out, indent=2)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
