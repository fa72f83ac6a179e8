"""Operators: profiles, availability settings and their appeals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.access import user_pool
from chalicelib.core.errors import Conflict, FieldProblem, Forbidden, InvalidInput
from chalicelib.core.ids import iso, new_id, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.rows import ensure_well_formed
from chalicelib.db.tables import LISTED
from chalicelib.db.transactions import update_existing
from chalicelib.directory import shifts, telegram_links
from chalicelib.models.operators import Operator, get_operator_row, operators_newest_first
from chalicelib.routing import reassignment, waiting_line
from chalicelib.schemas.common import Page
from chalicelib.schemas.operators import OperatorOut

if TYPE_CHECKING:
    from pynamodb.expressions.update import Action

    from chalicelib.schemas.operators import OperatorCreate, OperatorPatch, PresenceSetting

__all__ = ["create_operator", "get_operator", "list_operators", "operator_out", "set_own_presence", "update_operator"]


def operator_out(row: Operator) -> OperatorOut:
    return OperatorOut(
        id=row.operator_id,
        name=row.name,
        is_active=row.is_active,
        max_load=int(row.max_load),
        current_load=int(row.active_load),
        telegram_chat_id=int(row.telegram_chat_id) if row.telegram_chat_id is not None else None,
        locale=row.locale,  # stored only through the Locale-checked patch
        auth_subject=row.auth_subject,
        created_at=row.created_at,
        updated_at=row.updated_at,
        presence=row.presence or "available",
        presence_reason=row.presence_reason,
        presence_until=row.presence_until,
        time_zone=row.time_zone,
        tags=sorted(row.tags or ()),
    )


def get_operator(operator_id: str) -> OperatorOut:
    return operator_out(get_operator_row(operator_id))


def create_operator(request: OperatorCreate) -> OperatorOut:
    """With `email`, invites the person first (the login, its group, `custom:operator_id`)
    and binds the operator to the new login's `sub`, so nobody copies ids by hand.

    All or nothing: a refusal by the user pool creates no operator; an operator that
    cannot be saved after the login was made deletes that login again (its e-mail is
    already out, its temporary password then opens nothing)."""
    now = iso(utc_now())
    row = Operator(
        new_id("op"),
        name=request.name,
        is_active=request.is_active,
        max_load=request.max_load,
        active_load=0,
        auth_subject=request.auth_subject,
        tags=set(request.tags) or None,
        created_at=now,
        updated_at=now,
        listed=LISTED,
    )
    if request.email is None:
        row.save(condition=Operator.operator_id.does_not_exist())
        return operator_out(row)
    directory = _user_directory()
    role = request.role or "operator"
    invited = directory.invite(request.email, role, row.operator_id)
    row.auth_subject = invited.subject
    try:
        row.save(condition=Operator.operator_id.does_not_exist())
    except Exception:
        _withdraw(directory, invited, row.operator_id)
        raise
    # The operator and the role only: the address is personal.
    logger.info("operator invited", extra={"operator_id": row.operator_id, "role": role})
    return operator_out(row)


def _withdraw(directory: user_pool.UserDirectory, invited: user_pool.Invited, operator_id: str) -> None:
    try:
        directory.remove(invited)
    except Exception as exc:
        # The one state left half-made: a login bound to no operator, which no token can use
        # (the authorizer finds no operator for its `sub`). Named here so an admin can delete it.
        logger.error(
            "withdrawing an invitation failed: a login without an operator remains",
            extra={"operator_id": operator_id, "auth_subject": invited.subject, "error": type(exc).__name__},
        )


def _user_directory() -> user_pool.UserDirectory:
    directory = user_pool.users()
    if directory is None:
        raise Conflict("this deployment has no user pool (USER_POOL_ID) to invite to; bind a login with auth_subject")
    return directory


def _switch_login(operator_id: str, *, enabled: bool) -> None:
    """An admin's (de)activation also (dis)allows the person's sign-in; a self-pause does not.

    The pool goes first: when it refuses, the operator is left as it was (503, retry).
    Once it has answered, the operator row follows; the authorizer refuses a deactivated
    operator's tokens on its own, so the login switch is the second lock, not the only one."""
    directory = user_pool.users()
    if directory is None or not directory.switches_logins:
        return
    subject = get_operator_row(operator_id).auth_subject
    if subject:
        directory.set_enabled(subject, enabled=enabled)


def list_operators(limit: int, cursor: str | None) -> Page[OperatorOut]:
    rows, following = operators_newest_first(limit, cursor)
    return Page[OperatorOut](items=[operator_out(row) for row in rows], next=following)


def set_own_presence(operator_id: str, target: PresenceSetting, reason: str | None = None) -> OperatorOut:
    """An operator's own pause or resume (PATCH /me, the bot's /pause and /resume): presence only,
    `is_active` is not the operator's to change. A pause returns its unaccepted appeals at once;
    a resume drains its sources' lines. The condition, not an earlier read, decides: an admin's
    deactivation landing in between is never undone by the operator. (A row from before presence
    existed may still carry `paused_by_self` with `is_active` false: resuming clears that too.)"""
    ensure_well_formed(operator_id, "operator")
    own = (Operator.is_active == True) | Operator.paused_by_self.exists()  # noqa: E712 (a DynamoDB condition)
    legacy = [Operator.is_active.set(True), Operator.paused_by_self.remove()] if target == "available" else []
    if shifts.set_presence(operator_id, target, reason, extra=legacy, guard=own) is None:
        raise Forbidden("an administrator deactivated this operator; only an administrator can activate it again")
    return operator_out(get_operator_row(operator_id))


def update_operator(
    operator_id: str, patch: OperatorPatch, *, redistribute: bool = False, by_self: bool = False
) -> OperatorOut:
    """Changes name, activity or limit. Lowering `max_load` below the current
    load is allowed: the operator just gets nothing new until below it.

    Capacity that appears (activated, limit changed) goes straight to the
    waiting lines of the sources it serves. Deactivating with `redistribute`
    puts its unaccepted active appeals back through distribution. An operator
    pausing itself (`by_self`) stays signed in; an admin's deactivation ends
    its access, so any change of `is_active` not by itself clears the mark.
    """
    changes = patch.changes()
    presence, reason = changes.pop("presence", None), changes.pop("reason", None)
    if by_self and "is_active" in changes and len(changes) == 1 and presence is None:
        # The older self-pause body: a presence change now, never a change of employment.
        return set_own_presence(operator_id, "available" if changes["is_active"] else "paused")
    if redistribute and changes.get("is_active") is not False:
        raise InvalidInput(
            "redistribute=true goes with is_active=false",
            [FieldProblem(("query", "redistribute"), "only valid with is_active=false in the body", "value_error")],
        )
    ensure_well_formed(operator_id, "operator")
    if "is_active" in changes and not by_self:
        _switch_login(operator_id, enabled=bool(changes["is_active"]))
    linking = "telegram_chat_id" in changes
    chat_id = changes.pop("telegram_chat_id", None)
    actions = _row_actions(changes)
    row = Operator(operator_id)
    if len(actions) > 1 or presence is None:
        update_existing(row, actions, "operator")
    if presence is not None:
        shifts.set_presence(operator_id, presence, reason)
        row = get_operator_row(operator_id)
    if linking:
        row = telegram_links.set_chat(operator_id, chat_id)
    # Field names and the switches that move appeals; a name is personal.
    settings: dict[str, object] = {key: changes[key] for key in ("is_active", "max_load") if key in changes}
    fields = sorted([*changes, *(["telegram_chat_id"] if linking else [])])
    logger.info("operator updated", extra={"operator_id": operator_id, "fields": fields, **settings})
    moved = 0
    if redistribute:
        moved = sum(reassignment.redistribute(operator_id).values())
    elif changes.get("is_active") is True or "max_load" in changes or "tags" in changes:
        # A new skill may make it eligible for appeals waiting for exactly that skill.
        moved = waiting_line.drain_after_release(operator_id)
    return operator_out(get_operator_row(operator_id) if moved else row)


def _row_actions(changes: dict[str, Any]) -> list[Action]:
    """The UpdateItem actions of a patch's plain fields (and `updated_at`)."""
    if "tags" in changes:
        # A string set; an empty one cannot be stored: no tags is no attribute.
        changes["tags"] = set(changes["tags"]) or None
    actions: list[Action] = [
        getattr(Operator, name).set(value) if value is not None else getattr(Operator, name).remove()
        for name, value in changes.items()
    ]
    if "is_active" in changes:
        # An admin's (de)activation: a pre-presence self-pause mark never outlives it.
        actions.append(Operator.paused_by_self.remove())
    actions.append(Operator.updated_at.set(iso(utc_now())))
    return actions
