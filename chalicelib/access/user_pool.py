"""The people who sign in: invited, disabled and enabled in the Cognito user pool, or the local issuer's stand-in.

Which one answers is read at call time:
    USER_POOL_ID     the Cognito pool (the template sets it): invitations are real
                     Cognito users, who get a temporary password by e-mail.
    JWT_JWKS_FILE    no pool, but the local issuer (`make run`): an invitation is a
                     fresh subject the dev key pair signs tokens for (`make invite`).
    neither          nobody can be invited; `users()` answers None.

An e-mail address goes to Cognito and nowhere else: it is never stored in our
tables nor logged. Errors carry Cognito's error code, never its message.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Protocol

from chalicelib.core.config import current_settings
from chalicelib.core.errors import Conflict, ServiceBusy

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "GROUPS",
    "OPERATOR_ID_ATTRIBUTE",
    "CognitoUsers",
    "Invited",
    "LocalUsers",
    "LoginRole",
    "UserDirectory",
    "users",
]

LoginRole = Literal["operator", "admin"]
# The pool's groups; the token's `cognito:groups` carries them and the role follows.
GROUPS: tuple[LoginRole, ...] = ("admin", "operator")
# Set by the server at invitation; the console's app client may not write it. The
# authorizer never trusts it anyway (the operators table binds `sub` to an operator).
OPERATOR_ID_ATTRIBUTE = "custom:operator_id"
LOCAL_SUBJECT_PREFIX = "local-"


@dataclass(frozen=True)
class Invited:
    """A person who can now sign in: `subject` is their token's `sub`."""

    subject: str
    # What the directory calls the user (Cognito's Username): what a rollback deletes.
    username: str


class UserDirectory(Protocol):
    # Whether `set_enabled` changes anything: the caller skips reading the operator when not.
    switches_logins: bool

    def invite(self, email: str, role: LoginRole, operator_id: str | None) -> Invited:
        """Creates the login; Conflict when the address already has one."""

    def remove(self, invited: Invited) -> None:
        """Undoes `invite` (the operator could not be saved)."""

    def set_enabled(self, subject: str, enabled: bool) -> None:
        """Lets the person sign in, or not; idempotent."""


class CognitoUsers:
    """A Cognito user pool through the admin API (the API function's role allows exactly these calls)."""

    switches_logins = True

    def __init__(self, pool_id: str, client: Any) -> None:
        self.pool_id = pool_id
        self._client = client

    def invite(self, email: str, role: LoginRole, operator_id: str | None) -> Invited:
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        if operator_id:
            attributes.append({"Name": OPERATOR_ID_ATTRIBUTE, "Value": operator_id})
        created = self._call(
            self._client.admin_create_user,
            UserPoolId=self.pool_id,
            Username=email,
            UserAttributes=attributes,
            # Cognito makes the temporary password and e-mails it with the sign-in link.
            DesiredDeliveryMediums=["EMAIL"],
        )["User"]
        subject = next(a["Value"] for a in created.get("Attributes", []) if a["Name"] == "sub")
        invited = Invited(subject=subject, username=created["Username"])
        try:
            self._call(
                self._client.admin_add_user_to_group, UserPoolId=self.pool_id, Username=invited.username, GroupName=role
            )
        except ServiceBusy:
            self.remove(invited)
            raise
        return invited

    def remove(self, invited: Invited) -> None:
        self._call(self._client.admin_delete_user, UserPoolId=self.pool_id, Username=invited.username)

    def set_enabled(self, subject: str, enabled: bool) -> None:
        # Cognito accepts a local user's `sub` wherever it wants a username.
        call = self._client.admin_enable_user if enabled else self._client.admin_disable_user
        try:
            self._call(call, UserPoolId=self.pool_id, Username=subject)
        except _UserNotFound:
            # Bound by hand to a subject of another pool (or a federated user): nothing of ours to switch.
            return

    def _call(self, operation: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return operation(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "UsernameExistsException":
                raise Conflict("this e-mail address already has a login in the user pool") from None
            if code == "UserNotFoundException":
                raise _UserNotFound(code) from None
            # Throttling, a missing group, a role without the permission: ours to fix, the caller may retry.
            raise ServiceBusy(f"the user pool refused the request ({code}); nothing was created") from None
        except BotoCoreError as exc:
            raise ServiceBusy(f"the user pool is not reachable ({type(exc).__name__})") from None


class _UserNotFound(Exception):
    pass


class LocalUsers:
    """The local issuer's stand-in: a fresh subject per invitation, nothing sent.

    Disabling changes nothing here: the authorizer already refuses an operator an
    admin deactivated, and the dev tokens are minted per request (`make token`)."""

    switches_logins = False

    def invite(self, email: str, role: LoginRole, operator_id: str | None) -> Invited:
        subject = f"{LOCAL_SUBJECT_PREFIX}{uuid.uuid4()}"
        return Invited(subject=subject, username=subject)

    def remove(self, invited: Invited) -> None:
        pass

    def set_enabled(self, subject: str, enabled: bool) -> None:
        pass


def users() -> UserDirectory | None:
    """The directory invitations go to, or None when this deployment has none."""
    pool_id = current_settings().user_pool_id
    if pool_id:
        return CognitoUsers(pool_id, _cognito(current_settings().region))
    if os.environ.get("JWT_JWKS_FILE"):
        return LocalUsers()
    return None


@lru_cache(maxsize=4)
def _cognito(region: str) -> Any:
    import boto3
    from botocore.config import Config

    # One client per container; an invitation is an admin's click, so fail fast rather than hang.
    config = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard"})
    return boto3.client("cognito-idp", region_name=region, config=config)
