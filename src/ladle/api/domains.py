"""``/v3/domains`` and ``/v3/organizations/:guid/domains``."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.domains import create_domain
from ladle.api.guards import require
from ladle.api.listing import parse_list_or_raise
from ladle.api.routing import RequestContext, cf_json, get, post
from ladle.db.lookup import by_guid
from ladle.db.metadata import load_metadata
from ladle.db.models import Domain, Organization
from ladle.db.routes import default_domain, domains_page
from ladle.errors import CFError
from ladle.messages.domain import DOMAIN_CREATE_FIELDS, parse_domain_create
from ladle.messages.lists import ListSpec
from ladle.presenters.domain import present_domain
from ladle.presenters.pagination import present_page

__all__ = ["routes"]

LIST = ListSpec(keys=("names", "organization_guids"), array_keys=frozenset({"names", "organization_guids"}))
ORG_LIST = ListSpec(keys=("names",), array_keys=frozenset({"names"}))
NOT_FOUND = CFError("ResourceNotFound", "Domain not found")


def _present(ctx: RequestContext, domain: Domain) -> Response:
    return cf_json(present_domain(domain, load_metadata(ctx.db, "domain", [domain.guid])[domain.guid], ctx.urls))


def _list(ctx: RequestContext, spec: ListSpec, path: str, org_guid: str | None) -> Response:
    params = parse_list_or_raise(ctx, spec)
    page = domains_page(ctx.db, ctx.perms, params, org_guid)
    metadata = load_metadata(ctx.db, "domain", [d.guid for d in page.rows])
    resources = [present_domain(d, metadata[d.guid], ctx.urls) for d in page.rows]
    return cf_json(present_page(resources, page.total, params, path))


def list_domains(ctx: RequestContext) -> Response:
    return _list(ctx, LIST, ctx.urls.v3("domains"), None)


def _readable_org(ctx: RequestContext) -> Organization:
    org = by_guid(ctx.db, Organization, ctx.param("guid"))
    if org is None or not ctx.perms.can_read_org(org.guid):
        raise CFError("ResourceNotFound", "Organization not found")
    return org


def list_org_domains(ctx: RequestContext) -> Response:
    org = _readable_org(ctx)
    return _list(ctx, ORG_LIST, ctx.urls.v3("organizations", org.guid, "domains"), org.guid)


def show_default(ctx: RequestContext) -> Response:
    org = _readable_org(ctx)
    domain = default_domain(ctx.db, org.guid)
    if domain is None:
        raise NOT_FOUND
    return _present(ctx, domain)


def show_domain(ctx: RequestContext) -> Response:
    domain = by_guid(ctx.db, Domain, ctx.param("guid"))
    if domain is None:
        raise NOT_FOUND
    if domain.organization_guid is not None and not ctx.perms.can_read_org(domain.organization_guid):
        raise NOT_FOUND
    return _present(ctx, domain)


def create(ctx: RequestContext) -> Response:
    change = parse_domain_create(ctx.json())
    if change.organization_guid is None:
        require(ctx.perms.is_admin)
    else:
        org = by_guid(ctx.db, Organization, change.organization_guid)
        if org is None or not ctx.perms.can_read_org(org.guid):
            raise CFError(
                "UnprocessableEntity",
                f"Organization with guid '{change.organization_guid}' does not exist or you do not have access to it.",
            )
        require(ctx.perms.can_write_org(org.guid))
    domain = create_domain(ctx.db, ctx.deps.settings, change)
    response = _present(ctx, domain)
    response.status_code = 201
    return response


def routes() -> list[BaseRoute]:
    return [
        get("/v3/domains", list_domains),
        post("/v3/domains", create, body=DOMAIN_CREATE_FIELDS),
        get("/v3/domains/{guid}", show_domain),
        get("/v3/organizations/{guid}/domains", list_org_domains),
        get("/v3/organizations/{guid}/domains/default", show_default),
    ]
