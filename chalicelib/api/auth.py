"""The authorizer on every protected route, and the app's own check behind it.

API Gateway calls `authorize` once per token (cached `AUTHORIZER_TTL_SECONDS`)
and answers 401/403 itself; the middleware then holds every request to the
exact route table in `chalicelib.access.routes`, so a route is never open
because a deployment forgot the authorizer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import AuthRequest, AuthResponse, AuthRoute, Blueprint, Request, Response

from chalicelib.access.authentication import authenticate
from chalicelib.access.principal import Principal
from chalicelib.access.routes import PUBLIC_ROUTES, allows, gateway_routes
from chalicelib.access.tokens import NoRole, TokenRejected
from chalicelib.api.http import error_response
from chalicelib.core.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from collections.abc import Callable

bp = Blueprint(__name__)

# A revoked bot key or a disabled user keeps working at most this long.
AUTHORIZER_TTL_SECONDS = 60


@bp.authorizer(ttl_seconds=AUTHORIZER_TTL_SECONDS)
def authorize(auth_request: AuthRequest) -> AuthResponse | dict[str, object]:
    try:
        principal = authenticate(auth_request.token)
    except TokenRejected:
        raise _unauthorized() from None
    except NoRole:
        # A genuine token without a role of ours: allowed nowhere (403, not 401: retrying won't help).
        # An explicit Deny, because a policy with no resources at all is not a valid IAM policy.
        return _deny_everything(auth_request.method_arn)
    return AuthResponse(routes=_policy(principal), principal_id=principal.subject, context=principal.as_context())


def _policy(principal: Principal) -> list[str | AuthRoute]:
    granted = gateway_routes(principal.role)
    if granted is None:
        return ["*"]
    return [AuthRoute(path, methods) for path, methods in granted]


@bp.middleware("http")
def require_access(event: Request, get_response: Callable[[Request], Response]) -> Response:
    method, route = event.method, event.context.get("resourcePath")
    # A method the path does not have is Chalice's 405 to give (no authorizer ran for it).
    if (method, route) in PUBLIC_ROUTES or method not in bp.current_app.routes.get(str(route), {}):
        return get_response(event)
    principal = Principal.from_context(event.context.get("authorizer") or {})
    if principal is None:
        return error_response(Unauthorized("a bearer token is required"))
    if not allows(principal.role, method, str(route)):
        return error_response(Forbidden(f"the {principal.role} role may not call {method} {route}"))
    return get_response(event)


def _deny_everything(method_arn: str) -> dict[str, object]:
    # arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path> → every method and path of the stage.
    api_and_stage = "/".join(method_arn.split("/")[:2])
    statement = {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{api_and_stage}/*"]}
    return {"principalId": "nobody", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}


def _unauthorized() -> Exception:
    # API Gateway answers 401 when a Lambda authorizer fails with exactly "Unauthorized".
    # `chalice local` and its test client do not emulate that; they do understand their
    # own 401 error, which exists only where chalice's dev tooling is installed.
    try:
        from chalice.local import NotAuthorizedError
    except ImportError:
        return Exception("Unauthorized")
    return NotAuthorizedError({"x-amzn-ErrorType": "UnauthorizedException"}, b'{"message":"Unauthorized"}')
