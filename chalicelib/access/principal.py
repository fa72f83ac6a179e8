"""Who is calling: the one value the authorizer hands to the app.

API Gateway passes the authorizer's `context` to the function as flat string
pairs, so a principal travels as `as_context()` and comes back through
`from_context()`; nothing else about the token reaches the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ROLES", "SYSTEM", "Principal", "Role"]

Role = Literal["admin", "operator", "bot"]
ROLES: tuple[Role, ...] = ("admin", "operator", "bot")


@dataclass(frozen=True)
class Principal:
    role: Role
    # The token's `sub` for people, `source:<id>` for a bot key.
    subject: str
    # Set for operators (and for an admin whose token also names an operator).
    operator_id: str | None = None
    # Set for bots: the one source whose appeals they may create.
    source_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def as_context(self) -> dict[str, str]:
        context = {"role": self.role, "subject": self.subject}
        if self.operator_id:
            context["operator_id"] = self.operator_id
        if self.source_id:
            context["source_id"] = self.source_id
        return context

    @classmethod
    def from_context(cls, context: dict[str, object]) -> Principal | None:
        role = context.get("role")
        if role not in ROLES:
            return None
        return cls(
            role=role,
            subject=str(context.get("subject") or context.get("principalId") or ""),
            operator_id=_text(context.get("operator_id")),
            source_id=_text(context.get("source_id")),
        )


def _text(value: object) -> str | None:
    return str(value) if value else None


# Internal callers (the SQS intake, schedules, scripts) act with every right.
SYSTEM = Principal(role="admin", subject="system")
