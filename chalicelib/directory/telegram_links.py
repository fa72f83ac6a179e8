"""Which Telegram chat an operator's bot messages go to: one-time linking codes and the chat <-> operator link.

A code is random (128 bits), shown once; only its SHA-256 is stored, valid
for 15 minutes and redeemed by one conditional write (single use, even when
two chats race). The link lives on the operator row (`telegram_chat_id`)
and, for the way back from a chat, in a `chat#<id>` item that is believed
only while the operator row names the same chat.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pynamodb.exceptions import UpdateError

from chalicelib.access.ownership import ensure_acting_as_self
from chalicelib.access.secrets import hash_secret
from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.rows import ensure_well_formed
from chalicelib.db.transactions import update_existing
from chalicelib.models.notifications import ChatLink, LinkCode, chat_key, find, link_key
from chalicelib.models.operators import Operator, get_operator_row

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal

__all__ = ["LINK_TTL_SECONDS", "IssuedCode", "issue_code", "operator_for_chat", "redeem_code", "set_chat"]

LINK_TTL_SECONDS = 15 * 60
Redeemed = Literal["linked", "used", "expired", "unknown"]


@dataclass(frozen=True)
class IssuedCode:
    code: str
    valid_until: float


def issue_code(operator_id: str, *, viewer: Principal, now: float | None = None) -> IssuedCode:
    """A new one-time code for `operator_id` (an operator may ask for its own; admins for anyone's)."""
    ensure_acting_as_self(operator_id, viewer)
    get_operator_row(operator_id)  # 404 for an unknown operator
    at = time.time() if now is None else now
    code = secrets.token_urlsafe(16)
    valid_until = at + LINK_TTL_SECONDS
    LinkCode(
        link_key(hash_secret(code)),
        operator_id=operator_id,
        valid_until=valid_until,
        expires_at=int(valid_until) + 86400,
    ).save(condition=LinkCode.pk.does_not_exist())
    logger.info("telegram link code issued", extra={"operator_id": operator_id})
    return IssuedCode(code, valid_until)


def redeem_code(code: str, chat_id: int, *, now: float | None = None) -> tuple[Redeemed, Operator | None]:
    """Links `chat_id` to the code's operator, once; says why not otherwise (nothing is linked then)."""
    at = time.time() if now is None else now
    if not code or len(code) > 64:
        return "unknown", None
    row = LinkCode(link_key(hash_secret(code)))
    try:
        row.update(
            actions=[LinkCode.used_at.set(at)],
            condition=LinkCode.pk.exists() & LinkCode.used_at.does_not_exist() & (LinkCode.valid_until >= at),
        )
    except UpdateError:
        seen = find(LinkCode, link_key(hash_secret(code)))
        if seen is None:
            return "unknown", None
        return ("used" if seen.used_at is not None else "expired"), None
    return "linked", set_chat(row.operator_id, chat_id)


def set_chat(operator_id: str, chat_id: int | None) -> Operator:
    """Points the operator's bot messages at `chat_id` (None: unlinks). A chat serves one operator."""
    ensure_well_formed(operator_id, "operator")
    previous = find(ChatLink, chat_key(chat_id)) if chat_id is not None else None
    row = Operator(operator_id)
    actions = [
        Operator.telegram_chat_id.set(chat_id) if chat_id is not None else Operator.telegram_chat_id.remove(),
        Operator.updated_at.set(iso(utc_now())),
    ]
    update_existing(row, actions, "operator")
    if chat_id is not None:
        ChatLink(chat_key(chat_id), operator_id=operator_id).save()
        if previous is not None and previous.operator_id != operator_id:
            _unlink_other(previous.operator_id, chat_id)
    message = "telegram chat linked" if chat_id is not None else "telegram chat unlinked"
    logger.info(message, extra={"operator_id": operator_id})
    return row


def _unlink_other(operator_id: str, chat_id: int) -> None:
    # The chat now serves someone else: the other operator stops sending there.
    with contextlib.suppress(UpdateError):  # it had moved on already
        Operator(operator_id).update(
            actions=[Operator.telegram_chat_id.remove()], condition=Operator.telegram_chat_id == chat_id
        )


def operator_for_chat(chat_id: int) -> Operator | None:
    """The operator this chat is linked to, or None (the operator row must name the chat too).

    An operator an admin deactivated is nobody here, as its token is refused: only
    one that paused itself may still press buttons and /resume."""
    link = find(ChatLink, chat_key(chat_id))
    if link is None:
        return None
    operator = find(Operator, link.operator_id, None)
    if operator is None or operator.telegram_chat_id is None or int(operator.telegram_chat_id) != chat_id:
        return None
    if not operator.is_active and not operator.paused_by_self:
        return None
    return operator
