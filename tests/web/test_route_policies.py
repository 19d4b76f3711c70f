"""T-44: every route declares exactly one access policy, through the dependency that enforces it;
a route added without one fails here before it can ship."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

from parlour.app import ROUTERS
from parlour.web.deps import route_policies

KNOWN = re.compile(
    r"public|signed_in|signing_in|api_key:[a-z_:]+|member:[a-z]+:[a-z]+(:step_up)?"
    r"|platform:[a-z]+:[a-z]+|metrics_token|upload_ticket|signed_link"
)


def every_route() -> list[APIRoute]:
    """create_app mounts exactly these routers (and the chat sockets, which authenticate by
    their first frame: T-21)."""
    return [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def test_every_route_declares_exactly_one_known_policy() -> None:
    """T-44."""
    routes = every_route()
    assert len(routes) > 20
    declared = {f"{sorted(r.methods)} {r.path}": route_policies(r.dependant) for r in routes}
    undeclared = [route for route, found in declared.items() if len(found) != 1]
    assert undeclared == []
    unknown = [p for found in declared.values() for p in found if not KNOWN.fullmatch(p)]
    assert unknown == []


def test_member_routes_take_the_organisation_from_the_path_only() -> None:
    """T-44, T-30: a member policy reads `{tenant_id}` from the path, so no route can act on
    an organisation it did not name in its URL."""
    for route in every_route():
        if any(p.startswith("member:") for p in route_policies(route.dependant)):
            assert route.path.startswith(
                ("/v1/organisations/{tenant_id}", "/dashboard/o/{tenant_id}")
            )
