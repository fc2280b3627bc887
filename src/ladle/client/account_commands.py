"""``login``, ``logout``, ``target``, ``create-org``, ``create-space``."""

from __future__ import annotations

from typing import Any

import click

from ladle.client.api import CloudController, fetch_root, fetch_router, jwt_claims, new_http, password_grant
from ladle.client.config import ClientConfig
from ladle.client.operations import EXIT_NOT_TARGETED, ClientFailure
from ladle.client.session import Session, pass_session

__all__ = ["register"]


def _href(links: dict[str, Any], name: str) -> str:
    value = links.get(name)
    return str(value["href"]) if isinstance(value, dict) and value.get("href") else ""


def _choose_org(cc: CloudController, name: str | None) -> dict[str, Any] | None:
    if name:
        org = cc.one("/v3/organizations", {"names": name, "page": 1, "per_page": 1})
        if org is None:
            raise ClientFailure(f"Organization '{name}' not found.", EXIT_NOT_TARGETED)
        return org
    orgs = cc.list("/v3/organizations", {"order_by": "name"})
    return orgs[0] if len(orgs) == 1 else None  # as the cf CLI: targeted only when there is one


def _choose_space(cc: CloudController, org_guid: str, name: str | None) -> dict[str, Any] | None:
    if name:
        space = cc.one("/v3/spaces", {"names": name, "organization_guids": org_guid, "page": 1, "per_page": 1})
        if space is None:
            raise ClientFailure(f"Space '{name}' not found.", EXIT_NOT_TARGETED)
        return space
    spaces = cc.list("/v3/spaces", {"organization_guids": org_guid, "order_by": "name"})
    return spaces[0] if len(spaces) == 1 else None


def _retarget(session: Session, org_name: str | None, space_name: str | None) -> None:
    cc, config = session.cc, session.config
    if org_name or not config.org_guid:
        org = _choose_org(cc, org_name)
        if org is not None and org["guid"] != config.org_guid:
            config.org_guid, config.org_name = org["guid"], org["name"]
            config.space_guid = config.space_name = ""
    if config.org_guid and (space_name or not config.space_guid):
        space = _choose_space(cc, config.org_guid, space_name)
        if space is not None:
            config.space_guid, config.space_name = space["guid"], space["name"]
    session.store.save(config)


def _show_target(session: Session) -> None:
    config = session.config
    data = {
        "api": config.api,
        "user": config.username,
        "org": config.org_name or None,
        "space": config.space_name or None,
    }
    if session.out.as_json:
        session.out.document(data)
        return
    session.out.fields(
        [
            ("API endpoint", config.api),
            ("user", config.username),
            ("org", config.org_name or "No org targeted, use 'ladle target -o ORG'"),
            ("space", config.space_name or "No space targeted, use 'ladle target -s SPACE'"),
        ]
    )


@click.command()
@click.argument("api", required=False)
@click.option("-u", "--username", help="User name (asked for when omitted).")
@click.option("-p", "--password", help="Password (asked for when omitted).")
@click.option("-o", "--org", help="Org to target.")
@click.option("-s", "--space", help="Space to target.")
@pass_session
def login(
    session: Session, *, api: str | None, username: str | None, password: str | None, org: str | None, space: str | None
) -> None:
    """Log in to API (the one used last when omitted) with a password."""
    api = api or session.config.api or click.prompt("API endpoint", err=True)
    if "://" not in api:
        api = f"https://{api}"
    api = api.rstrip("/")
    with new_http() as http:
        links = fetch_root(http, api)
        token_server = _href(links, "login") or _href(links, "uaa") or api
        username = username or click.prompt("Username", err=True)
        password = password if password is not None else click.prompt("Password", hide_input=True, err=True)
        tokens = password_grant(http, token_server, str(username), str(password))
        router = fetch_router(http, api)
    previous = session.config
    same = previous.api == api and previous.username == username
    session.config = ClientConfig(
        api=api,
        login=token_server,
        log_cache=_href(links, "log_cache"),
        extensions={name: _href(links, name) for name in links if name.startswith("ladle_") and _href(links, name)},
        router=router,
        access_token=str(tokens["access_token"]),
        refresh_token=str(tokens.get("refresh_token") or ""),
        username=str(username),
        # Logging in again as the same user keeps the target.
        org_guid=previous.org_guid if same else "",
        org_name=previous.org_name if same else "",
        space_guid=previous.space_guid if same else "",
        space_name=previous.space_name if same else "",
    )
    session.store.save(session.config)
    session.out.say(f"Authenticated as {username}.", style="green")
    _retarget(session, org, space)
    _show_target(session)


@click.command()
@pass_session
def logout(session: Session) -> None:
    """Log out: forget the tokens (and revoke the access token where the server allows it)."""
    config = session.config
    claims = jwt_claims(config.access_token)
    if claims.get("revocable") and claims.get("jti") and config.login:
        with new_http() as http:
            # As the cf CLI: a failed revocation does not stop the logout.
            http.delete(
                f"{config.login}/oauth/token/revoke/{claims['jti']}",
                headers={"Authorization": f"bearer {config.access_token}"},
            )
    config.access_token = config.refresh_token = ""
    session.store.save(config)
    if session.out.as_json:
        session.out.document({"logged_out": True})
    else:
        session.out.say("Logged out.")


@click.command()
@click.option("-o", "--org", help="Org to target.")
@click.option("-s", "--space", help="Space to target.")
@pass_session
def target(session: Session, org: str | None, space: str | None) -> None:
    """Show the target, or target an org and a space."""
    if org or space:
        _retarget(session, org, space)
    _show_target(session)


@click.command("create-org")
@click.argument("name")
@pass_session
def create_org(session: Session, name: str) -> None:
    """Create an org."""
    org = session.cc.post("/v3/organizations", {"name": name})
    if session.out.as_json:
        session.out.document(org)
    else:
        session.out.say(f"Created org {name}. Use 'ladle target -o {name}' to target it.")


@click.command("create-space")
@click.argument("name")
@click.option("-o", "--org", help="Org of the space (the targeted one when omitted).")
@pass_session
def create_space(session: Session, name: str, org: str | None) -> None:
    """Create a space."""
    cc = session.cc
    if org:
        found = _choose_org(cc, org)
        assert found is not None
        org_guid = found["guid"]
    elif session.config.org_guid:
        org_guid = session.config.org_guid
    else:
        raise ClientFailure("No org targeted. Use 'ladle target -o ORG' or -o ORG.", EXIT_NOT_TARGETED)
    space = cc.post("/v3/spaces", {"name": name, "relationships": {"organization": {"data": {"guid": org_guid}}}})
    if session.out.as_json:
        session.out.document(space)
    else:
        session.out.say(f"Created space {name}. Use 'ladle target -s {name}' to target it.")


def register(group: click.Group) -> None:
    for command in (login, logout, target, create_org, create_space):
        group.add_command(command)
