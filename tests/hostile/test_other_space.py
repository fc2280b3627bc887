"""A user of another space aims every endpoint at a victim's resources: invisible is 404, and no
answer (lists included) carries a name or guid of the victim's."""

from __future__ import annotations

from tests.hostile.endpoints import Endpoint, Victim
from tests.support.cf import World
from tests.support.matchers import is_cf_error

NOT_FOUND_STATUSES = {404}
# A write may be refused for its body before the resource is looked up, as in Cloud Controller.
REFUSED_WRITE_STATUSES = {400, 404, 422}


def test_a_user_of_another_space_sees_nothing(world: World, all_endpoints: list[Endpoint], victim: Victim) -> None:
    org = world.org()
    outsider = world.as_role("space_developer", org, world.space(org))
    wrong = []
    for endpoint in all_endpoints:
        if endpoint.access == "public":
            continue
        url = victim.fill(endpoint)
        r = outsider.request(endpoint.method, url, json={} if endpoint.method not in {"GET", "DELETE"} else None)
        # v2's not-found errors repeat the guid the caller sent ("... could not be found: <guid>"),
        # as Cloud Controller's do: that tells the caller nothing it did not say.
        echoed = url if endpoint.template.startswith("/v2/") else ""
        leaked = [secret for secret in victim.secrets if secret in r.text and secret not in echoed]
        if leaked:
            wrong.append(f"{endpoint}: {r.status_code} leaks {leaked}: {r.text[:300]}")
        elif r.status_code >= 500 or (r.status_code >= 400 and not endpoint.uaa and not is_cf_error(r.json())):
            wrong.append(f"{endpoint}: {r.status_code} {r.text[:300]}")
        elif victim.scoped(endpoint):
            allowed = NOT_FOUND_STATUSES if endpoint.method == "GET" else REFUSED_WRITE_STATUSES
            if r.status_code not in allowed:
                wrong.append(f"{endpoint}: {r.status_code} {r.text[:300]}")
    assert wrong == []
    # Nothing of the victim's was changed or deleted along the way.
    for collection in ("organizations", "spaces", "apps", "packages", "droplets", "routes", "domains", "roles"):
        assert world.admin.get(f"/v3/{collection}/{victim.guids[collection]}").status_code == 200, collection
