"""Who may call which route: the one table both the authorizer and the app read.

`admin` may call every protected route (and alone: the outgoing webhooks,
`/webhooks…`, carry every event of the business and its signing secrets). The other roles get exactly the
routes listed for them here; ownership (an operator's *own* appeals, a bot's
*own* source) is checked by the services, which see the row.

API Gateway caches an authorizer's answer per token, so the policy it gets
must cover every route the role may call, not just the one being called:
`gateway_routes` turns this table into that policy. IAM wildcards cannot
say "one path segment", so the gateway's policy is a superset; the app's own
check (`allows`) is exact and is what tests hold to.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.access.principal import Role

__all__ = ["PUBLIC_ROUTES", "ROLE_ROUTES", "allows", "gateway_routes"]

# Reachable without a bearer token. The Telegram webhook proves itself with its own secret header.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("POST", "/channels/telegram/{source_id}"),
        # The console's page, scripts and sign-in settings: nothing in them is secret.
        ("GET", "/"),
        ("GET", "/console"),
        ("GET", "/console/{file}"),
        ("POST", "/telegram/operator-bot"),
    }
)

ROLE_ROUTES: dict[Role, frozenset[tuple[str, str]]] = {
    "operator": frozenset(
        {
            ("GET", "/me"),
            # Pause or resume itself (is_active only): the console's presence switch.
            ("PATCH", "/me"),
            ("GET", "/me/appeals"),
            ("GET", "/appeals/{appeal_id}"),
            ("GET", "/appeals/{appeal_id}/history"),
            ("POST", "/appeals/{appeal_id}/accept"),
            ("POST", "/appeals/{appeal_id}/close"),
            # Its own appeals' conversations (the service answers 404 for another's).
            ("GET", "/appeals/{appeal_id}/messages"),
            ("POST", "/appeals/{appeal_id}/messages"),
            # Notes on its own appeals (404 for another's); a note restarts the follow-up clock.
            ("GET", "/appeals/{appeal_id}/notes"),
            ("POST", "/appeals/{appeal_id}/notes"),
            ("GET", "/leads/{lead_id}"),
            # The sales work on its own appeals' leads (the services answer 404 for another's):
            # business domain only, the funnel (the transfer gate still decides), notes.
            ("PATCH", "/leads/{lead_id}"),
            ("POST", "/leads/{lead_id}/stage"),
            ("POST", "/leads/{lead_id}/transfer"),
            ("GET", "/leads/{lead_id}/notes"),
            ("POST", "/leads/{lead_id}/notes"),
            # Its own row of the response-time and outcome analytics (the service keeps to it).
            ("GET", "/stats/operators"),
            # Its own link code only (the service checks the id); unlinking is an admin's.
            ("POST", "/operators/{operator_id}/telegram-link"),
            # Its own hours (the service checks the id) and its own row of the week.
            ("GET", "/operators/{operator_id}/schedule"),
            ("PUT", "/operators/{operator_id}/schedule"),
            ("DELETE", "/operators/{operator_id}/schedule"),
            ("GET", "/me/schedule"),
            ("PUT", "/me/schedule"),
            ("DELETE", "/me/schedule"),
            ("GET", "/schedules/week"),
        }
    ),
    "bot": frozenset(
        {
            ("POST", "/appeals"),
            # What became of a reply it was asked to deliver (its own source's appeals only).
            ("POST", "/appeals/{appeal_id}/messages/{message_id}/status"),
        }
    ),
}

_PARAMETER = re.compile(r"\{[^/{}]+\}")


def allows(role: Role, method: str, route: str) -> bool:
    """Exact check against the route template (`/appeals/{appeal_id}`)."""
    return role == "admin" or (method.upper(), route) in ROLE_ROUTES.get(role, frozenset())


def gateway_routes(role: Role) -> list[tuple[str, list[str]]] | None:
    """The (path pattern, methods) an authorizer's policy grants the role; None: every route."""
    if role == "admin":
        return None
    routes: dict[str, set[str]] = {}
    for method, route in ROLE_ROUTES.get(role, frozenset()):
        routes.setdefault(_PARAMETER.sub("*", route), set()).add(method)
    return [(path, sorted(methods)) for path, methods in sorted(routes.items())]
