"""``/v3/users``."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.users import create_user
from ladle.api.guards import require
from ladle.api.routing import RequestContext, cf_json, get, post
from ladle.db.metadata import load_metadata
from ladle.db.models import User
from ladle.db.roles_users import readable_user, users_page
from ladle.errors import CFError
from ladle.messages.lists import ListSpec, parse_list
from ladle.messages.user_create import USER_CREATE_FIELDS, parse_user_create
from ladle.presenters.pagination import present_page
from ladle.presenters.user import present_user

__all__ = ["routes"]

LIST = ListSpec(
    keys=("usernames", "partial_usernames", "origins"),
    array_keys=frozenset({"usernames", "partial_usernames", "origins"}),
)


def _present(ctx: RequestContext, user: User) -> dict[str, object]:
    return present_user(user, load_metadata(ctx.db, "user", [user.guid])[user.guid], ctx.urls)


def list_users(ctx: RequestContext) -> Response:
    params, problems = parse_list(ctx.query, LIST, ctx.deps.settings.max_total_results)
    if "origins" in params.arrays and not (params.has("usernames") or params.has("partial_usernames")):
        problems.append("Origins filter cannot be provided without usernames or partial_usernames filter.")
    if params.has("usernames") and params.has("partial_usernames"):
        problems.append("Usernames filter cannot be provided with both usernames and partial_usernames filter.")
    if problems:
        # The users list reports bad parameters as 422, unlike most lists.
        raise CFError("UnprocessableEntity", problems)
    page = users_page(ctx.db, ctx.perms, params)
    metadata = load_metadata(ctx.db, "user", [u.guid for u in page.rows])
    resources = [present_user(u, metadata[u.guid], ctx.urls) for u in page.rows]
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("users")))


def show_user(ctx: RequestContext) -> Response:
    user = readable_user(ctx.db, ctx.perms, ctx.param("guid"))
    if user is None:
        raise CFError("ResourceNotFound", "User not found")
    return cf_json(_present(ctx, user))


def create(ctx: RequestContext) -> Response:
    require(ctx.perms.is_admin)
    msg = parse_user_create(ctx.json())
    return cf_json(_present(ctx, create_user(ctx.db, ctx.deps.settings, msg)), status=201)


def routes() -> list[BaseRoute]:
    return [
        get("/v3/users", list_users, query=LIST),
        post("/v3/users", create, body=USER_CREATE_FIELDS),
        get("/v3/users/{guid}", show_user),
    ]
