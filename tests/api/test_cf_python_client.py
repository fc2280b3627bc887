"""The real ``cloudfoundry-client`` from PyPI, in its own venv, against a running server."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ADMIN_PASSWORD, DATABASES, RunningServer, run_server
from tests.support.venvs import client_venv

FLOW = Path(__file__).resolve().parent.parent / "clients" / "cf_python_client_flow.py"


@pytest.fixture(scope="module")
def cf_python() -> Path:
    return client_venv("cloudfoundry-client-1.40.4", "cloudfoundry-client==1.40.4")


@pytest.fixture(scope="module", params=DATABASES)
def short_token_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    # Access tokens live three seconds here, so the client meets an expired one for real.
    with run_server(request.param, tmp_path_factory.mktemp("cfpc"), "ladle_test_cfpc", access_token_ttl=3) as running:
        yield running


def test_cloudfoundry_client_end_to_end(cf_python: Path, short_token_server: RunningServer) -> None:
    result = subprocess.run(
        [str(cf_python), str(FLOW), short_token_server.url, "admin", ADMIN_PASSWORD],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["org_name"].startswith("cfpc-org-")
    assert report["space_org"] is True
    assert report["org_renamed"] == report["org_name"] + "-renamed"
    assert report["space_renamed"] == "cfpc-space-2"
    assert report["orgs_listed"] is True
    assert report["created_states"] == ["STOPPED"] * 3
    assert report["listed_names"] == ["one", "two", "three"]
    assert report["refreshes_after_expiry"] >= 1
    assert report["len"] == 3
    assert report["first"] == "two"
    assert report["updated"] == ["uno", {"tier": "web"}]
    assert report["included_space_name"] == "cfpc-space"
    assert report["env_app_name"] == "two"
    assert report["web_process_type"] == "web"
    assert report["space_names_by_filter"] == ["cfpc-space"]
    assert report["orgs_with_include"] is True
    assert report["package_state"] == "AWAITING_UPLOAD"
    assert report["upload_response_state"] == "PROCESSING_UPLOAD"
    assert report["after_upload"] == "READY"
    assert report["listed"] is True and report["app_packages"] is True
    assert (report["copy_state"], report["copy_final"], report["same_checksum"]) == ("COPYING", "READY", True)
    assert report["droplet_created"] == ["AWAITING_UPLOAD", {"web": "./start.sh"}]
    assert report["droplet_upload_state"] == "PROCESSING_UPLOAD"
    assert report["droplet_final"] == "STAGED" and report["droplet_sha256_matches"] is True
    assert report["droplet_copy"] == ["COPYING", "STAGED"]
    assert report["droplet_labels"] == {"release": "r1"}
    assert report["app_droplets"] is True
    assert report["droplet_delete"] == ["droplet.delete", "COMPLETE"]
    assert report["after_droplet_delete"] == []
    assert report["delete_job"] == ["app.delete", "COMPLETE"]
    assert report["after_delete"] == ["two", "uno"]
