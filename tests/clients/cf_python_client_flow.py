"""Runs inside a venv that holds the real ``cloudfoundry-client`` (it pins its own dependencies).

Usage: python cf_python_client_flow.py BASE_URL USERNAME PASSWORD
Prints one JSON document describing what the client saw; the test asserts on it.
"""

import base64
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from cloudfoundry_client.client import CloudFoundryClient

# The tests' waiting helper is plain Python, so this venv can use it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.waiting import wait_until


def token_exp(token: str) -> int:
    payload = token.split(".")[1]
    return int(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


def final_state(get: Any, guid: str, finals: set[str]) -> str:
    """The resource's state once it is one of ``finals``."""

    def check() -> str | None:
        state = str(get(guid)["state"])
        return state if state in finals else None

    return wait_until(check, timeout=60, interval=0.1, message=guid)


def wait_ready(client: CloudFoundryClient, guid: str) -> str:
    return final_state(client.v3.packages.get, guid, {"READY", "FAILED"})


def package_flow(client: CloudFoundryClient, app_guid: str, other_app_guid: str) -> dict[str, Any]:
    from cloudfoundry_client.v3.packages import PackageType

    out: dict[str, Any] = {}
    package = client.v3.packages.create(app_guid, PackageType.BITS)
    out["package_state"] = package["state"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "app.zip")
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("index.py", "print('hello from cloudfoundry-client')\n")
        uploaded = client.v3.packages._upload_bits(package["guid"], path)
        out["upload_response_state"] = uploaded["state"]
    out["after_upload"] = wait_ready(client, package["guid"])
    out["listed"] = [p["guid"] for p in client.v3.packages.list(app_guids=app_guid)] == [package["guid"]]
    out["app_packages"] = [p["guid"] for p in client.v3.apps.list_packages(app_guid)] == [package["guid"]]
    copy = client.v3.packages.copy(package["guid"], other_app_guid)
    out["copy_state"] = copy["state"]
    out["copy_final"] = wait_ready(client, copy["guid"])
    out["same_checksum"] = (
        client.v3.packages.get(copy["guid"])["data"]["checksum"]
        == client.v3.packages.get(package["guid"])["data"]["checksum"]
    )
    return out


def wait_droplet(client: CloudFoundryClient, guid: str) -> str:
    return final_state(client.v3.droplets.get, guid, {"STAGED", "FAILED"})


def droplet_flow(client: CloudFoundryClient, app_guid: str, other_app_guid: str) -> dict[str, Any]:
    import hashlib
    import io
    import tarfile

    out: dict[str, Any] = {}
    droplets = client.v3.droplets
    droplet = droplets.create(app_guid, process_types={"web": "./start.sh"})
    out["droplet_created"] = [droplet["state"], dict(droplet["process_types"])]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "droplet.tgz")
        with tarfile.open(path, "w:gz") as tar:
            data = b"#!/bin/sh\necho hi\n"
            info = tarfile.TarInfo("./app/start.sh")
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
        with open(path, "rb") as fh:
            tgz = fh.read()
        uploaded = droplets._upload_bits(droplet["guid"], path)
    out["droplet_upload_state"] = uploaded["state"]
    out["droplet_final"] = wait_droplet(client, droplet["guid"])
    out["droplet_sha256_matches"] = (
        droplets.get(droplet["guid"])["checksum"]["value"] == hashlib.sha256(tgz).hexdigest()
    )
    copy = droplets.copy(droplet["guid"], other_app_guid)
    out["droplet_copy"] = [copy["state"], wait_droplet(client, copy["guid"])]
    updated = droplets.update(copy["guid"], meta_labels={"release": "r1"})
    out["droplet_labels"] = dict(updated["metadata"]["labels"])
    out["app_droplets"] = [d["guid"] for d in client.v3.apps.list_droplets(other_app_guid)] == [copy["guid"]]
    job_guid = droplets.remove(copy["guid"])
    job = client.v3.jobs.wait_for_job_completion(job_guid, step=0.2)
    out["droplet_delete"] = [job["operation"], job["state"]]
    out["after_droplet_delete"] = [d["guid"] for d in client.v3.apps.list_droplets(other_app_guid)]
    return out


def main() -> None:
    base, username, password = sys.argv[1:4]
    report: dict[str, Any] = {}
    client = CloudFoundryClient(base, verify=False)
    client.init_with_user_credentials(username, password)

    refreshes: list[str] = []
    original = client._grant_refresh_token_request

    def counting(refresh_token: str) -> dict[str, Any]:
        refreshes.append(refresh_token)
        grant: dict[str, Any] = original(refresh_token)
        return grant

    client._grant_refresh_token_request = counting

    org = client.v3.organizations.create(f"cfpc-org-{int(time.time() * 1000)}", suspended=False)
    space = client.v3.spaces.create("cfpc-space", org["guid"])
    report["org_name"] = client.v3.organizations.get(org["guid"])["name"]
    report["org_renamed"] = client.v3.organizations.update(org["guid"], org["name"] + "-renamed")["name"]
    report["space_renamed"] = client.v3.spaces.update(space["guid"], "cfpc-space-2")["name"]
    client.v3.spaces.update(space["guid"], "cfpc-space")
    report["orgs_listed"] = org["guid"] in [o["guid"] for o in client.v3.organizations.list(per_page=1)]
    report["space_org"] = (
        client.v3.spaces.get(space["guid"])["relationships"]["organization"]["data"]["guid"] == org["guid"]
    )

    apps = client.v3.apps
    created = []
    for name in ("one", "two", "three"):
        app = apps._create({"name": name, "relationships": {"space": {"data": {"guid": space["guid"]}}}})
        created.append(app["guid"])
    report["created_states"] = [apps.get(g)["state"] for g in created]

    # Force the access token to expire, then keep working: the client must refresh and retry.
    expires = token_exp(client._access_token)
    wait_until(lambda: time.time() > expires + 1.5, timeout=30, interval=0.1, message="the token never expired")
    listed = [a["name"] for a in apps.list(space_guids=space["guid"], per_page=1)]
    report["listed_names"] = listed
    report["refreshes_after_expiry"] = len(refreshes)
    report["len"] = apps.len(space_guids=space["guid"])
    report["first"] = apps.get_first(space_guids=space["guid"], order_by="-name")["name"]

    updated = apps._update(created[0], {"name": "uno", "metadata": {"labels": {"tier": "web"}}})
    report["updated"] = [updated["name"], dict(updated["metadata"]["labels"])]

    fetched = apps.get(created[1], include="space.organization")
    report["included_space_name"] = fetched.space()["name"]
    report["env_app_name"] = apps.get_env(created[1])["application_env_json"]["VCAP_APPLICATION"]["name"]
    report["web_process_type"] = client.v3.processes.get(created[1])["type"]
    report["space_names_by_filter"] = [s["name"] for s in client.v3.spaces.list(names=["cfpc-space", "nope"])]
    report["orgs_with_include"] = (
        client.v3.spaces.get(space["guid"], include="organization").organization()["guid"] == org["guid"]
    )

    report.update(package_flow(client, created[1], created[0]))
    report.update(droplet_flow(client, created[1], created[0]))

    job_guid = apps.remove(created[2])
    job = client.v3.jobs.wait_for_job_completion(job_guid, step=0.2)
    report["delete_job"] = [job["operation"], job["state"]]
    report["after_delete"] = sorted(a["name"] for a in apps.list(space_guids=space["guid"]))
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
