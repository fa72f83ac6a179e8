"""The Telegram operator bot: settings, sending what happened to an appeal, and the bot's updates.

Out (driven by stream events, see chalicelib/events): an operator gets one
message per appeal handed to them (Accept / Close, Open with a console URL);
it is edited when the appeal is accepted, taken back or closed; escalations
go to the admins' chat. Each event is sent once in effect: a "sent" marker is
claimed under a condition before the call and confirmed after it, so a
redelivered batch skips what went out, and a failed call releases the claim
and raises, so the stream's own retry tries again.

In (`POST /telegram/operator-bot`): `/start <code>` links the chat, `/pause`
and `/resume`, and button presses, which act through the same services as
the API, as the operator linked to the pressing chat.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.access.principal import Principal
from chalicelib.channels import lead_replies, telegram_api
from chalicelib.channels import operator_messages as texts
from chalicelib.core.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized
from chalicelib.core.observability import logger
from chalicelib.directory import operators as directory
from chalicelib.directory import telegram_links
from chalicelib.models.appeals import get_appeal_row, unaccepted_active
from chalicelib.models.leads import Lead
from chalicelib.models.notifications import (
    SentMarker,
    TelegramNote,
    appeal_of_notice,
    find,
    notice_reply_key,
    sent_key,
    telegram_note_key,
    telegram_notes,
)
from chalicelib.models.operators import Operator
from chalicelib.models.sources import Source
from chalicelib.routing import appeals
from chalicelib.schemas.messages import REPLY_MAX_LENGTH, ReplyCreate
from chalicelib.schemas.operators import TelegramLinkOut
from chalicelib.scoring.base import PRIOR

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.schemas.events import DomainEvent

__all__ = [
    "BotSettings",
    "ClaimedElsewhere",
    "bot_settings",
    "handle_update",
    "issue_link",
    "notify",
    "once",
    "unlink",
    "verify_secret",
]

MARKER_TTL_SECONDS = 7 * 86400
NOTE_TTL_SECONDS = 30 * 86400
# A claim this old belongs to a run that died between claiming and confirming.
STALE_CLAIM_SECONDS = 60.0
# Telegram's 429 asks for a pause; a short one is waited out here, a longer one is the stream's retry.
MAX_INLINE_WAIT_SECONDS = 5.0
_SSM_CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class BotSettings:
    token: str | None
    webhook_secret: str | None
    escalation_chat_id: int | None
    console_url: str | None
    default_locale: str


_ssm_cache: dict[str, tuple[float, str]] = {}
_ssm_lock = threading.Lock()


def _from_ssm(name: str) -> str | None:
    """A SecureString parameter, read at call time and kept 5 minutes (never from the template in clear)."""
    with _ssm_lock:
        cached = _ssm_cache.get(name)
        if cached and time.monotonic() - cached[0] < _SSM_CACHE_SECONDS:
            return cached[1]
    import boto3

    client = boto3.client("ssm")
    try:
        value = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except client.exceptions.ParameterNotFound:
        return None  # the bot is not set up in this account: nothing is sent
    with _ssm_lock:
        _ssm_cache[name] = (time.monotonic(), value)
    return str(value)


def _secret(name: str) -> str | None:
    parameter = os.environ.get(f"{name}_PARAMETER")
    if parameter:
        return _from_ssm(parameter)
    return os.environ.get(name) or None


def bot_settings() -> BotSettings:
    raw_chat = os.environ.get("ESCALATION_CHAT_ID") or ""
    try:
        escalation_chat_id: int | None = int(raw_chat) if raw_chat else None
    except ValueError:
        escalation_chat_id = None
    return BotSettings(
        token=_secret("OPERATOR_BOT_TOKEN"),
        webhook_secret=_secret("OPERATOR_BOT_WEBHOOK_SECRET"),
        escalation_chat_id=escalation_chat_id,
        console_url=os.environ.get("CONSOLE_URL") or None,
        default_locale=texts.resolve_locale(os.environ.get("OPERATOR_DEFAULT_LOCALE"), texts.DEFAULT_LOCALE),
    )


# --- exactly once in effect ------------------------------------------------------------------


class ClaimedElsewhere(Exception):
    """Another run holds this event's claim right now: the batch is retried later."""


def once(event_id: str, channel: str, action: Callable[[], None], *, now: float | None = None) -> bool:
    """Runs `action` for (event, channel) unless it already ran; answers whether it ran now.

    Claim (conditional put), act, confirm. A failure releases the claim and
    re-raises; a claim left by a run that died is taken over after a minute.
    """
    at = time.time() if now is None else now
    key = sent_key(event_id, channel)
    marker = SentMarker(key, state="claimed", claimed_at=at, expires_at=int(at) + MARKER_TTL_SECONDS)
    try:
        marker.save(
            condition=SentMarker.pk.does_not_exist()
            | ((SentMarker.state == "claimed") & (SentMarker.claimed_at < at - STALE_CLAIM_SECONDS))
        )
    except PutError:
        seen = find(SentMarker, key)
        if seen is not None and seen.state == "sent":
            return False
        raise ClaimedElsewhere(event_id) from None
    try:
        action()
    except BaseException:
        with contextlib.suppress(DeleteError):
            marker.delete(condition=(SentMarker.state == "claimed") & (SentMarker.claimed_at == at))
        raise
    marker.update(actions=[SentMarker.state.set("sent")])
    return True


def _patiently(call: Callable[[], Any]) -> Any:
    """One Bot API call; a 429 asking for a short pause is waited out (twice at most), anything else raises."""
    for _ in range(3):
        try:
            return call()
        except telegram_api.RetryLater as error:
            wait = error.retry_after
            if wait is None or wait > MAX_INLINE_WAIT_SECONDS:
                raise
            time.sleep(wait)
    return call()


# --- out: events -> messages -----------------------------------------------------------------


def notify(event: DomainEvent) -> None:
    """Tells the operator bot's chats about one event (nothing when the bot is not configured)."""
    settings = bot_settings()
    if not settings.token or not (event.type.startswith("appeal.") or event.type == "message.received"):
        return
    token = settings.token
    once(event.id, "telegram", lambda: _tell(token, settings, event))


def _tell(token: str, settings: BotSettings, event: DomainEvent) -> None:
    data = event.data
    appeal_id = str(data["appeal_id"])
    if event.type in ("appeal.reassigned", "appeal.returned_to_line", "appeal.escalated"):
        previous = data.get("previous_operator_id")
        if previous:
            reason = (
                data.get("reason")
                if data.get("reason") in ("sla_lapsed", "no_followup")
                else ("redistributed" if event.type == "appeal.reassigned" else "returned_to_line")
            )
            _edit(
                token,
                settings,
                appeal_id,
                str(previous),
                lambda note: texts.render_taken_back(
                    reason,  # type: ignore[arg-type]
                    source_name=note.source_name,
                    locale=note.locale,
                    default_locale=settings.default_locale,
                ),
            )
    if event.type in ("appeal.assigned", "appeal.reassigned") and data.get("operator_id"):
        _send_assignment(token, settings, event, str(data["operator_id"]))
    elif event.type == "appeal.accepted" and data.get("operator_id"):
        _edit_to_accepted(token, settings, event, str(data["operator_id"]))
    elif event.type == "appeal.closed":
        for note in telegram_notes(appeal_id):
            _edit(
                token,
                settings,
                appeal_id,
                note.sk,
                lambda n: texts.render_closed(
                    source_name=n.source_name, locale=n.locale, default_locale=settings.default_locale
                ),
            )
    elif event.type == "appeal.escalated" and settings.escalation_chat_id is not None:
        _send_escalation(token, settings, event, settings.escalation_chat_id)
    elif event.type == "message.received":
        _send_follow_up(token, settings, event)
    elif event.type == "appeal.followup_reminder" and data.get("operator_id"):
        _send_followup_reminder(token, settings, event, str(data["operator_id"]))


def _send_followup_reminder(token: str, settings: BotSettings, event: DomainEvent, operator_id: str) -> None:
    """An accepted appeal gone quiet: its operator is told, as a reply to the appeal's notice,
    by when to act; replying to the reminder answers the lead (which is activity too)."""
    row = get_appeal_row(str(event.data["appeal_id"]))
    operator = find(Operator, operator_id, None)
    if (
        operator is None
        or operator.telegram_chat_id is None
        or row.status != "active"
        or row.operator_id != operator_id
    ):
        return  # not linked (the console shows it), or it moved on since the reminder
    quiet_since, deadline = event.data.get("last_activity_at"), event.data.get("followup_due_at")
    if not quiet_since or not deadline:
        return
    source = find(Source, row.source_id, None)
    lead = find(Lead, row.lead_id, None)
    reminder = texts.FollowupReminder(
        appeal_id=row.appeal_id,
        source_name=source.name if source is not None else None,
        lead_name=lead.name if lead is not None else None,
        quiet_since=datetime.fromisoformat(str(quiet_since).replace("Z", "+00:00")),
        deadline=datetime.fromisoformat(str(deadline).replace("Z", "+00:00")),
        action="return_to_line" if event.data.get("followup_action") == "return_to_line" else "escalate",
        locale=operator.locale,
    )
    rendered = texts.render_followup_reminder(
        reminder, default_locale=settings.default_locale, console_base_url=settings.console_url
    )
    chat_id = int(operator.telegram_chat_id)
    note = find(TelegramNote, telegram_note_key(row.appeal_id), operator_id)
    reply_to = int(note.message_id) if note is not None and int(note.chat_id) == chat_id else None
    try:
        sent = _patiently(
            lambda: telegram_api.send_message(
                token, chat_id, rendered.text, reply_markup=rendered.reply_markup, reply_to_message_id=reply_to
            )
        )
    except telegram_api.PermanentFailure as error:
        _unreachable(operator_id, error)
        return
    _reply_path(chat_id, sent.message_id, row.appeal_id)
    logger.info("operator reminded", extra={"appeal_id": row.appeal_id, "operator_id": operator_id})


def _send_follow_up(token: str, settings: BotSettings, event: DomainEvent) -> None:
    """A lead's later message to the operator holding the appeal, as a reply to its notice;
    replying to it answers the lead, as replying to the notice does."""
    row = get_appeal_row(str(event.data["appeal_id"]))
    operator = find(Operator, row.operator_id, None) if row.operator_id else None
    if operator is None or operator.telegram_chat_id is None or row.status != "active":
        return  # waiting, closed, or an operator who works in the console
    note = find(TelegramNote, telegram_note_key(row.appeal_id), operator.operator_id)
    source = find(Source, row.source_id, None)
    lead = find(Lead, row.lead_id, None)
    rendered = texts.render_follow_up(
        str(event.contact.get("text") or ""),
        source_name=source.name if source is not None else None,
        lead_name=lead.name if lead is not None else None,
        locale=operator.locale,
        default_locale=settings.default_locale,
    )
    chat_id = int(operator.telegram_chat_id)
    reply_to = int(note.message_id) if note is not None and int(note.chat_id) == chat_id else None
    try:
        sent = _patiently(
            lambda: telegram_api.send_message(token, chat_id, rendered.text, reply_to_message_id=reply_to)
        )
    except telegram_api.PermanentFailure as error:
        _unreachable(operator.operator_id, error)
        return
    _reply_path(chat_id, sent.message_id, row.appeal_id)


def _reply_path(chat_id: int, message_id: int, appeal_id: str) -> None:
    """The way back: a reply to this bot message is relayed to the appeal's lead."""
    TelegramNote(
        notice_reply_key(chat_id, message_id),
        appeal_id,
        chat_id=chat_id,
        message_id=message_id,
        expires_at=int(time.time()) + NOTE_TTL_SECONDS,
    ).save()


def _notice(event: DomainEvent, operator: Operator) -> texts.AppealNotice:
    source = find(Source, str(event.data.get("source_id")), None)
    lead = find(Lead, str(event.data.get("lead_id")), None)
    top = None
    if lead is not None and lead.ai_factors:
        # The lead's own pushes say more than the prior every score starts
        # from; a lead with none shows the prior.
        pushes = [f for f in lead.ai_factors if f.feature != PRIOR] or lead.ai_factors
        strongest = max(pushes, key=lambda f: abs(float(f.contribution)))
        top = f"{strongest.feature} {float(strongest.contribution):+.2f}"
    due = event.data.get("sla_due_at")
    return texts.AppealNotice(
        appeal_id=str(event.data["appeal_id"]),
        source_name=source.name if source is not None else "",
        lead_name=lead.name if lead is not None else None,
        text=str(event.contact.get("message") or ""),
        score=float(lead.ai_score) if lead is not None and lead.ai_score is not None else None,
        top_factor=top,
        accept_by=datetime.fromisoformat(str(due).replace("Z", "+00:00")) if due else None,
        locale=operator.locale,
    )


def _send_assignment(token: str, settings: BotSettings, event: DomainEvent, operator_id: str) -> None:
    operator = find(Operator, operator_id, None)
    if operator is None or operator.telegram_chat_id is None:
        return  # not linked: the console is where this operator works
    notice = _notice(event, operator)
    rendered = texts.render_assignment(
        notice, default_locale=settings.default_locale, console_base_url=settings.console_url
    )
    chat_id = int(operator.telegram_chat_id)
    try:
        sent = _patiently(
            lambda: telegram_api.send_message(token, chat_id, rendered.text, reply_markup=rendered.reply_markup)
        )
    except telegram_api.PermanentFailure as error:
        _unreachable(operator_id, error)
        return
    TelegramNote(
        telegram_note_key(notice.appeal_id),
        operator_id,
        chat_id=chat_id,
        message_id=sent.message_id,
        locale=operator.locale,
        source_name=notice.source_name,
        expires_at=int(time.time()) + NOTE_TTL_SECONDS,
    ).save()
    _reply_path(chat_id, sent.message_id, notice.appeal_id)
    logger.info("operator notified", extra={"appeal_id": notice.appeal_id, "operator_id": operator_id})


def _edit_to_accepted(token: str, settings: BotSettings, event: DomainEvent, operator_id: str) -> None:
    operator = find(Operator, operator_id, None)
    if operator is None:
        return
    notice = _notice(event, operator)
    _edit(
        token,
        settings,
        notice.appeal_id,
        operator_id,
        lambda _: texts.render_accepted(
            notice, default_locale=settings.default_locale, console_base_url=settings.console_url
        ),
    )


def _edit(
    token: str,
    settings: BotSettings,
    appeal_id: str,
    operator_id: str,
    render: Callable[[TelegramNote], texts.Rendered],
) -> None:
    note = find(TelegramNote, telegram_note_key(appeal_id), operator_id)
    if note is None:
        return  # that operator was never told (not linked then)
    rendered = render(note)
    try:
        _patiently(
            lambda: telegram_api.edit_message_text(
                token, int(note.chat_id), int(note.message_id), rendered.text, reply_markup=rendered.reply_markup
            )
        )
    except telegram_api.PermanentFailure as error:
        _unreachable(operator_id, error)


def _send_escalation(token: str, settings: BotSettings, event: DomainEvent, chat_id: int) -> None:
    source = find(Source, str(event.data.get("source_id")), None)
    lead = find(Lead, str(event.data.get("lead_id")), None)
    row = get_appeal_row(str(event.data["appeal_id"]))
    lapses = len(row.lapsed_operator_ids or ())
    notice = texts.EscalationNotice(
        appeal_id=row.appeal_id,
        source_name=source.name if source is not None else "",
        lead_name=lead.name if lead is not None else None,
        text=str(event.contact.get("message") or ""),
        reason="no_followup"
        if event.data.get("reason") == "no_followup"
        else ("sla_lapsed_repeatedly" if lapses else "no_operator_available"),
        lapses=lapses,
        waiting_since=datetime.fromisoformat(row.created_at.replace("Z", "+00:00")),
    )
    rendered = texts.render_escalation(
        notice, default_locale=settings.default_locale, console_base_url=settings.console_url
    )
    try:
        _patiently(lambda: telegram_api.send_message(token, chat_id, rendered.text, reply_markup=rendered.reply_markup))
    except telegram_api.PermanentFailure as error:
        logger.warning("escalation chat unreachable", extra={"appeal_id": row.appeal_id, "reason": error.reason})


def _unreachable(operator_id: str, error: telegram_api.PermanentFailure) -> None:
    # Retrying cannot help (blocked bot, unknown chat): logged, and the event counts as handled.
    logger.warning("operator chat unreachable", extra={"operator_id": operator_id, "reason": error.reason[:200]})


# --- linking -----------------------------------------------------------------------------------

_bot_links: dict[str, str] = {}


def _bot_link(token: str) -> str:
    link = _bot_links.get(token)
    if link is None:
        me = _patiently(lambda: telegram_api.get_me(token))
        link = me.link or f"https://t.me/{me.id}"
        _bot_links[token] = link
    return link


def issue_link(operator_id: str, *, viewer: Principal) -> TelegramLinkOut:
    """A one-time code and its deep link for the operator's chat (15 minutes, single use)."""
    token = bot_settings().token
    if not token:
        raise Conflict("the operator bot is not configured (OPERATOR_BOT_TOKEN)")
    issued = telegram_links.issue_code(operator_id, viewer=viewer)
    return TelegramLinkOut(
        code=issued.code,
        link=f"{_bot_link(token)}?start={issued.code}",
        expires_at=datetime.fromtimestamp(issued.valid_until, UTC),
    )


def unlink(operator_id: str) -> None:
    telegram_links.set_chat(operator_id, None)


# --- in: the bot's updates ---------------------------------------------------------------------


def verify_secret(header: str | None) -> None:
    """Constant-time check of Telegram's secret header; wrong, missing or unconfigured: 401."""
    expected = bot_settings().webhook_secret
    given = (header or "").encode()
    if not expected or not hmac.compare_digest(given, expected.encode()):
        raise Unauthorized("missing or wrong secret token")


def handle_update(update: dict[str, Any]) -> None:
    """Acts on one update; every answer goes back through the Bot API. Never raises for what a person sent."""
    settings = bot_settings()
    if not settings.token:
        return
    try:
        if isinstance(update.get("callback_query"), dict):
            _press(settings.token, settings, update["callback_query"])
        elif isinstance(update.get("message"), dict):
            _message(settings.token, settings, update["message"])
    except telegram_api.TelegramError as error:
        # The answer did not get through; the action (if any) stands. Telegram does not retry a 200.
        logger.warning("operator bot answer failed", extra={"method": error.method, "error": type(error).__name__})


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _message(token: str, settings: BotSettings, message: dict[str, Any]) -> None:
    raw_chat = message.get("chat")
    chat: dict[str, Any] = raw_chat if isinstance(raw_chat, dict) else {}
    chat_id = _int(chat.get("id"))
    raw_text = message.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    if chat_id is None or chat.get("type", "private") != "private":
        return
    command, _, argument = text.strip().partition(" ")
    command = command.split("@", 1)[0].lower()
    operator = telegram_links.operator_for_chat(chat_id)
    locale = operator.locale if operator is not None else None
    replied = message.get("reply_to_message")
    if isinstance(replied, dict) and text.strip() and not command.startswith("/"):
        rendered = _relay(operator, chat_id, message, replied, settings)
    elif command == "/start":
        rendered = _start(argument.strip(), chat_id, settings)
    elif command in ("/pause", "/resume") and operator is None:
        rendered = texts.Rendered(texts.callback_answer("not_linked", default_locale=settings.default_locale))
    elif command == "/pause" and operator is not None:
        returned = sum(1 for _ in unaccepted_active(operator.operator_id))
        directory.set_own_presence(operator.operator_id, "paused")
        rendered = texts.render_paused(returned, locale=locale, default_locale=settings.default_locale)
    elif command == "/resume" and operator is not None:
        directory.set_own_presence(operator.operator_id, "available")
        rendered = texts.render_resumed(locale=locale, default_locale=settings.default_locale)
    else:
        rendered = texts.render_help(locale=locale, default_locale=settings.default_locale)
    _patiently(lambda: telegram_api.send_message(token, chat_id, rendered.text, reply_markup=rendered.reply_markup))


def _relay(
    operator: Operator | None, chat_id: int, message: dict[str, Any], replied: dict[str, Any], settings: BotSettings
) -> texts.Rendered:
    """An operator's reply to an appeal's notice goes to that appeal's lead, through the
    same service as the console's reply box (its own appeals only; once per Telegram message)."""
    locale = operator.locale if operator is not None else None
    if operator is None:
        return texts.Rendered(texts.callback_answer("not_linked", default_locale=settings.default_locale))
    replied_id, message_id = _int(replied.get("message_id")), _int(message.get("message_id"))
    appeal_id = appeal_of_notice(chat_id, replied_id) if replied_id is not None else None
    if appeal_id is None or message_id is None:
        return texts.render_help(locale=locale, default_locale=settings.default_locale)
    viewer = Principal(role="operator", subject=f"telegram:{operator.operator_id}", operator_id=operator.operator_id)
    request = ReplyCreate(
        text=str(message.get("text"))[:REPLY_MAX_LENGTH], client_message_id=f"tg-{chat_id}-{message_id}"
    )
    try:
        sent, _ = lead_replies.send_reply(appeal_id, request, viewer=viewer)
    except NotFound:
        return texts.render_relay("not_yours", locale=locale, default_locale=settings.default_locale)
    except Conflict:
        return texts.render_relay("closed", locale=locale, default_locale=settings.default_locale)
    logger.info("operator bot reply relayed", extra={"appeal_id": appeal_id, "operator_id": operator.operator_id})
    return texts.render_relay(
        sent.status or "pending", reason=sent.error, locale=locale, default_locale=settings.default_locale
    )


def _start(code: str, chat_id: int, settings: BotSettings) -> texts.Rendered:
    if not code:
        return texts.render_link_result("missing", default_locale=settings.default_locale)
    outcome, operator = telegram_links.redeem_code(code, chat_id)
    return texts.render_link_result(
        outcome,
        operator_name=operator.name if operator is not None else None,
        locale=operator.locale if operator is not None else None,
        default_locale=settings.default_locale,
    )


def _press(token: str, settings: BotSettings, query: dict[str, Any]) -> None:
    query_id = query.get("id")
    sender = query.get("from") if isinstance(query.get("from"), dict) else {}
    presser = _int(sender.get("id")) if sender else None
    if not isinstance(query_id, str):
        return
    # Operators are linked by their private chat, whose id is the person's id.
    operator = telegram_links.operator_for_chat(presser) if presser is not None else None
    outcome = _act(operator, query.get("data") if isinstance(query.get("data"), str) else None)
    locale = operator.locale if operator is not None else None
    answer = texts.callback_answer(outcome, locale=locale, default_locale=settings.default_locale)
    _patiently(lambda: telegram_api.answer_callback_query(token, query_id, text=answer))


def _act(operator: Operator | None, data: str | None) -> texts.CallbackOutcome:
    if operator is None:
        return "not_linked"
    action = texts.parse_callback_data(data)
    if action is None:
        return "unknown"
    viewer = Principal(role="operator", subject=f"telegram:{operator.operator_id}", operator_id=operator.operator_id)
    try:
        current = appeals.get_appeal(action.appeal_id, viewer=viewer)
        if current.status == "closed":
            return "already_closed"
        if action.action == "accept":
            if current.accepted_at is not None:
                return "already_accepted"
            appeals.accept_appeal(action.appeal_id, operator.operator_id, viewer=viewer)
            outcome: texts.CallbackOutcome = "accepted"
        else:
            appeals.close_appeal(action.appeal_id, viewer=viewer)
            outcome = "closed"
    except NotFound:
        return "unknown"
    except Forbidden:
        told = find(TelegramNote, telegram_note_key(action.appeal_id), operator.operator_id)
        return "taken_back" if told is not None else "not_yours"
    except Conflict:
        return "already_closed" if get_appeal_row(action.appeal_id).status == "closed" else "taken_back"
    except DomainError:
        return "failed"
    logger.info(
        "operator bot press",
        extra={"appeal_id": action.appeal_id, "operator_id": operator.operator_id, "outcome": outcome},
    )
    return outcome
