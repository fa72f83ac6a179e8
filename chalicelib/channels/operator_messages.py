"""What the operator bot says, in English, Russian and Ukrainian: Telegram HTML and buttons, rendered as data.

Owns the catalogue of every operator-bot text per locale, the assignment
notification (with its Accept / Close / Open buttons and their compact
callback data), the edits that follow it (accepted, taken back, closed), the
admins' escalation message, the answers to /start, /pause, /resume and to
button presses, and the rules that keep a lead's words from breaking any of
them: cleaned of invisible and direction-changing characters, cut at a
grapheme boundary, HTML-escaped, and the whole message within Telegram's
4096 characters. Pure: no I/O, no clock, no configuration read.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.channels.telegram_api import (
    CALLBACK_DATA_MAX_BYTES,
    CALLBACK_TEXT_MAX_LENGTH,
    MESSAGE_MAX_LENGTH,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "CATALOGUE",
    "DEFAULT_LOCALE",
    "LEAD_TEXT_MAX_LENGTH",
    "SUPPORTED_LOCALES",
    "AppealNotice",
    "CallbackAction",
    "CallbackOutcome",
    "EscalationNotice",
    "EscalationReason",
    "FollowupReminder",
    "LinkOutcome",
    "Rendered",
    "TakenBackReason",
    "callback_answer",
    "callback_data",
    "clean_text",
    "excerpt",
    "parse_callback_data",
    "render_accepted",
    "render_assignment",
    "render_closed",
    "render_escalation",
    "render_follow_up",
    "render_followup_reminder",
    "render_help",
    "render_link_result",
    "render_paused",
    "render_relay",
    "render_resumed",
    "render_taken_back",
    "resolve_locale",
    "telegram_length",
]

SUPPORTED_LOCALES = ("en", "ru", "uk")
DEFAULT_LOCALE = "en"
# How much of a lead's message an operator sees in the bot (the console shows it all).
LEAD_TEXT_MAX_LENGTH = 1000
_ESCALATION_TEXT_MAX_LENGTH = 300
_NAME_MAX_LENGTH = 64
_FACTOR_MAX_LENGTH = 120
# Zalgo text stacks hundreds of marks on one letter; real scripts need a few.
_MAX_COMBINING_RUN = 8
_ELLIPSIS = "…"

TakenBackReason = Literal["sla_lapsed", "redistributed", "returned_to_line", "no_followup"]
EscalationReason = Literal["sla_lapsed_repeatedly", "no_operator_available", "no_followup"]
FollowupActionName = Literal["escalate", "return_to_line"]
LinkOutcome = Literal["linked", "used", "expired", "unknown", "missing"]
CallbackOutcome = Literal[
    "accepted",
    "closed",
    "already_accepted",
    "already_closed",
    "not_yours",
    "taken_back",
    "not_linked",
    "unknown",
    "failed",
]

# --- the catalogue ---------------------------------------------------------------------------
# Plural forms: "one"/"other" in English; "one"/"few"/"many" in Russian and Ukrainian.

CATALOGUE: Mapping[str, Mapping[str, str]] = {
    "en": {
        "new_appeal": "New appeal",
        "follow_up_title": "New message from the lead",
        "follow_up_hint": "Reply to this message to answer the lead.",
        "accepted_title": "Accepted",
        "taken_back_title": "Taken back",
        "closed_title": "Closed",
        "escalation_title": "Escalation",
        "unnamed": "Unnamed lead",
        "no_text": "no text",
        "score": "Score",
        "accept_by": "Accept by",
        "waiting_since": "Waiting since",
        "button_accept": "✅ Accept",
        "button_close": "✖️ Close",
        "button_open": "🔗 Open",
        "taken_back.sla_lapsed": "It was not accepted before the deadline, so it was handed on.",
        "taken_back.redistributed": "It was handed to another operator.",
        "taken_back.returned_to_line": "It went back to the waiting line.",
        "escalation.sla_lapsed_repeatedly.one": "Not accepted in time {n} time: it needs a person to decide.",
        "escalation.sla_lapsed_repeatedly.other": "Not accepted in time {n} times: it needs a person to decide.",
        "escalation.no_operator_available": "No operator can take it: it needs a person to decide.",
        "escalation.no_followup": "Accepted, then no activity for too long: it needs a person to decide.",
        "taken_back.no_followup": "It had no activity for too long after you accepted it, so it was taken back.",
        "followup_title": "No activity",
        "followup.since": "Quiet since {since}.",
        "followup.escalate": "Add a note, answer the lead or close it before {deadline}, or it will be escalated.",
        "followup.return_to_line": "Add a note, answer the lead or close it before {deadline}, "
        "or it will be handed to another operator.",
        "link.linked": "Done: this chat is linked to {name}. New appeals will arrive here.",
        "link.used": "This link has already been used. Get a new one in the console.",
        "link.expired": "This link has expired (links last 15 minutes). Get a new one in the console.",
        "link.unknown": "This link is not valid. Get a new one in the console.",
        "link.missing": "To receive appeals here, open the link from your profile in the console.",
        "paused": "Paused: no new appeals will come to you until /resume.",
        "paused.returned.zero": "You had no unaccepted appeals.",
        "paused.returned.one": "{n} unaccepted appeal went back to the line.",
        "paused.returned.other": "{n} unaccepted appeals went back to the line.",
        "resumed": "You are back: new appeals will arrive here.",
        "help": "New appeals arrive here with Accept and Close buttons.\n/pause: stop receiving appeals\n"
        "/resume: receive appeals again\nReply to an appeal's message to answer the lead.",
        "relay.sent": "Sent to the lead.",
        "relay.pending": "Handed to the source's bot for delivery.",
        "relay.failed": "Not delivered: {reason}",
        "relay.not_yours": "This appeal is not yours (or no longer): nothing was sent.",
        "relay.closed": "This appeal is closed: nothing was sent.",
        "answer.accepted": "Accepted.",
        "answer.closed": "Closed.",
        "answer.already_accepted": "You have already accepted this appeal.",
        "answer.already_closed": "This appeal is already closed.",
        "answer.not_yours": "This appeal is not yours: nothing was changed.",
        "answer.taken_back": "This appeal was taken back from you: nothing was changed.",
        "answer.not_linked": "This chat is not linked to an operator: nothing was changed.",
        "answer.unknown": "This button is not valid any more.",
        "answer.failed": "That did not work. Try again in a moment.",
    },
    "ru": {
        "new_appeal": "Новое обращение",
        "follow_up_title": "Новое сообщение клиента",
        "follow_up_hint": "Ответьте на это сообщение, чтобы ответить клиенту.",
        "accepted_title": "Принято",
        "taken_back_title": "Обращение снято",
        "closed_title": "Закрыто",
        "escalation_title": "Эскалация",
        "unnamed": "Без имени",
        "no_text": "без текста",
        "score": "Оценка",
        "accept_by": "Принять до",
        "waiting_since": "Ждёт с",
        "button_accept": "✅ Принять",
        "button_close": "✖️ Закрыть",
        "button_open": "🔗 Открыть",
        "taken_back.sla_lapsed": "Его не приняли до срока, и оно передано дальше.",
        "taken_back.redistributed": "Оно передано другому оператору.",
        "taken_back.returned_to_line": "Оно вернулось в очередь.",
        "escalation.sla_lapsed_repeatedly.one": "Не принято вовремя {n} раз: нужно решение человека.",
        "escalation.sla_lapsed_repeatedly.few": "Не принято вовремя {n} раза: нужно решение человека.",
        "escalation.sla_lapsed_repeatedly.many": "Не принято вовремя {n} раз: нужно решение человека.",
        "escalation.no_operator_available": "Его некому взять: нужно решение человека.",
        "escalation.no_followup": "Принято, но потом слишком долго без активности: нужно решение человека.",
        "taken_back.no_followup": "После принятия по нему слишком долго не было активности, и оно снято с вас.",
        "followup_title": "Нет активности",
        "followup.since": "Без активности с {since}.",
        "followup.escalate": "Добавьте заметку, ответьте клиенту или закройте обращение до {deadline}, "
        "иначе оно будет эскалировано.",
        "followup.return_to_line": "Добавьте заметку, ответьте клиенту или закройте обращение до {deadline}, "
        "иначе оно будет передано другому оператору.",
        "link.linked": "Готово: этот чат привязан к оператору {name}. Новые обращения будут приходить сюда.",
        "link.used": "Эта ссылка уже использована. Получите новую в консоли.",
        "link.expired": "Срок этой ссылки истёк (ссылка действует 15 минут). Получите новую в консоли.",
        "link.unknown": "Эта ссылка недействительна. Получите новую в консоли.",
        "link.missing": "Чтобы получать обращения здесь, откройте ссылку из своего профиля в консоли.",
        "paused": "Пауза: новые обращения не будут приходить до команды /resume.",
        "paused.returned.zero": "Непринятых обращений у вас не было.",
        "paused.returned.one": "{n} непринятое обращение вернулось в очередь.",
        "paused.returned.few": "{n} непринятых обращения вернулись в очередь.",
        "paused.returned.many": "{n} непринятых обращений вернулись в очередь.",
        "resumed": "Вы снова на линии: новые обращения будут приходить сюда.",
        "help": "Новые обращения приходят сюда с кнопками «Принять» и «Закрыть».\n"
        "/pause: не получать обращения\n/resume: снова получать обращения\n"
        "Ответьте (reply) на сообщение об обращении, чтобы написать клиенту.",
        "relay.sent": "Отправлено клиенту.",
        "relay.pending": "Передано боту источника для доставки.",
        "relay.failed": "Не доставлено: {reason}",
        "relay.not_yours": "Это обращение не ваше (или уже не ваше): ничего не отправлено.",
        "relay.closed": "Это обращение закрыто: ничего не отправлено.",
        "answer.accepted": "Принято.",
        "answer.closed": "Закрыто.",
        "answer.already_accepted": "Вы уже приняли это обращение.",
        "answer.already_closed": "Это обращение уже закрыто.",
        "answer.not_yours": "Это обращение не ваше: ничего не изменено.",
        "answer.taken_back": "Это обращение у вас уже сняли: ничего не изменено.",
        "answer.not_linked": "Этот чат не привязан к оператору: ничего не изменено.",
        "answer.unknown": "Эта кнопка больше не действует.",
        "answer.failed": "Не получилось. Попробуйте ещё раз через минуту.",
    },
    "uk": {
        "new_appeal": "Нове звернення",
        "follow_up_title": "Нове повідомлення клієнта",
        "follow_up_hint": "Відповідайте на це повідомлення, щоб відповісти клієнту.",
        "accepted_title": "Прийнято",
        "taken_back_title": "Звернення знято",
        "closed_title": "Закрито",
        "escalation_title": "Ескалація",
        "unnamed": "Без імені",
        "no_text": "без тексту",
        "score": "Оцінка",
        "accept_by": "Прийняти до",
        "waiting_since": "Чекає з",
        "button_accept": "✅ Прийняти",
        "button_close": "✖️ Закрити",
        "button_open": "🔗 Відкрити",
        "taken_back.sla_lapsed": "Його не прийняли до терміну, тож його передано далі.",
        "taken_back.redistributed": "Його передано іншому операторові.",
        "taken_back.returned_to_line": "Воно повернулося в чергу.",
        "escalation.sla_lapsed_repeatedly.one": "Не прийнято вчасно {n} раз: потрібне рішення людини.",
        "escalation.sla_lapsed_repeatedly.few": "Не прийнято вчасно {n} рази: потрібне рішення людини.",
        "escalation.sla_lapsed_repeatedly.many": "Не прийнято вчасно {n} разів: потрібне рішення людини.",
        "escalation.no_operator_available": "Його нікому взяти: потрібне рішення людини.",
        "escalation.no_followup": "Прийнято, але потім надто довго без активності: потрібне рішення людини.",
        "taken_back.no_followup": "Після прийняття за ним надто довго не було активності, тож його знято з вас.",
        "followup_title": "Немає активності",
        "followup.since": "Без активності з {since}.",
        "followup.escalate": "Додайте нотатку, дайте відповідь клієнту або закрийте звернення до {deadline}, "
        "інакше його буде ескаловано.",
        "followup.return_to_line": "Додайте нотатку, дайте відповідь клієнту або закрийте звернення до {deadline}, "
        "інакше його буде передано іншому оператору.",
        "link.linked": "Готово: цей чат прив'язано до оператора {name}. Нові звернення надходитимуть сюди.",
        "link.used": "Це посилання вже використано. Отримайте нове в консолі.",
        "link.expired": "Термін дії цього посилання минув (воно діє 15 хвилин). Отримайте нове в консолі.",
        "link.unknown": "Це посилання недійсне. Отримайте нове в консолі.",
        "link.missing": "Щоб отримувати звернення тут, відкрийте посилання зі свого профілю в консолі.",
        "paused": "Пауза: нові звернення не надходитимуть до команди /resume.",
        "paused.returned.zero": "Неприйнятих звернень у вас не було.",
        "paused.returned.one": "{n} неприйняте звернення повернулося в чергу.",
        "paused.returned.few": "{n} неприйняті звернення повернулися в чергу.",
        "paused.returned.many": "{n} неприйнятих звернень повернулися в чергу.",
        "resumed": "Ви знову на лінії: нові звернення надходитимуть сюди.",
        "help": "Нові звернення надходять сюди з кнопками «Прийняти» і «Закрити».\n"
        "/pause: не отримувати звернення\n/resume: знову отримувати звернення\n"
        "Відповідайте (reply) на повідомлення про звернення, щоб написати клієнту.",
        "relay.sent": "Надіслано клієнту.",
        "relay.pending": "Передано боту джерела для доставки.",
        "relay.failed": "Не доставлено: {reason}",
        "relay.not_yours": "Це звернення не ваше (або вже не ваше): нічого не надіслано.",
        "relay.closed": "Це звернення закрите: нічого не надіслано.",
        "answer.accepted": "Прийнято.",
        "answer.closed": "Закрито.",
        "answer.already_accepted": "Ви вже прийняли це звернення.",
        "answer.already_closed": "Це звернення вже закрите.",
        "answer.not_yours": "Це звернення не ваше: нічого не змінено.",
        "answer.taken_back": "Це звернення у вас уже зняли: нічого не змінено.",
        "answer.not_linked": "Цей чат не прив'язаний до оператора: нічого не змінено.",
        "answer.unknown": "Ця кнопка більше не діє.",
        "answer.failed": "Не вийшло. Спробуйте ще раз за хвилину.",
    },
}

# Abbreviated month names as a date reads them ("3 Mar", "3 мар.", "3 бер.").
_MONTHS: Mapping[str, tuple[str, ...]] = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "ru": ("янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек."),
    "uk": ("січ.", "лют.", "бер.", "квіт.", "трав.", "черв.", "лип.", "серп.", "вер.", "жовт.", "лист.", "груд."),
}
_DECIMAL_COMMA = frozenset({"ru", "uk"})
# People write "ua" for Ukrainian; the language code is "uk".
_LOCALE_ALIASES = {"ua": "uk"}


# --- inputs and outputs ------------------------------------------------------------------------


@dataclass(frozen=True)
class AppealNotice:
    """What an operator is told about an appeal handed to them (everything the message shows)."""

    appeal_id: str
    source_name: str
    lead_name: str | None
    text: str
    score: float | None = None
    top_factor: str | None = None
    accept_by: datetime | None = None  # the response SLA's deadline
    locale: str | None = None  # the operator's; None: the default
    timezone: str | None = None  # IANA name for the deadline; None or unknown: UTC


@dataclass(frozen=True)
class EscalationNotice:
    """What the admins' chat is told about an appeal that needs a person to decide."""

    appeal_id: str
    source_name: str
    lead_name: str | None
    text: str
    reason: EscalationReason
    lapses: int = 0
    waiting_since: datetime | None = None
    locale: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class Rendered:
    """A message ready for sendMessage / editMessageText (no markup: no buttons, or buttons removed)."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    parse_mode: str = "HTML"


@dataclass(frozen=True)
class CallbackAction:
    """A button press, read from its callback data (which a modified client can forge: check ownership)."""

    action: Literal["accept", "close"]
    appeal_id: str


# --- locales ---------------------------------------------------------------------------------


def resolve_locale(requested: str | None, default: str = DEFAULT_LOCALE) -> str:
    """`requested` if we speak it ("ru-RU" and "UK" count), else `default` if we speak it, else English."""
    for candidate in (requested, default):
        if candidate:
            base = re.split(r"[-_]", candidate.strip().lower(), maxsplit=1)[0]
            base = _LOCALE_ALIASES.get(base, base)
            if base in SUPPORTED_LOCALES:
                return base
    return DEFAULT_LOCALE


def _plural(locale: str, n: int) -> str:
    if locale in ("ru", "uk"):
        if n % 10 == 1 and n % 100 != 11:
            return "one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "few"
        return "many"
    return "one" if n == 1 else "other"


def _t(locale: str, key: str, **values: object) -> str:
    text = CATALOGUE[locale][key]
    return text.format(**values) if values else text


# --- lead text made safe -------------------------------------------------------------------------

# Characters that change how the text around them reads without being seen:
# bidi embeddings, overrides, isolates and marks (an RLO turns "gpj.exe" into
# "exe.jpg"), zero-width space, word joiner, BOM, Mongolian vowel separator,
# interlinear annotations. ZWJ and ZWNJ stay: emoji sequences and Persian need them.
_INVISIBLE = re.compile("[\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str, *, single_line: bool = False) -> str:
    """A person's text without control, invisible and direction-changing characters, or runs of marks.

    Line breaks are kept (at most one blank line in a row) unless `single_line`.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = text.replace("\t", " ")
    text = _CONTROL.sub("", _INVISIBLE.sub("", text))
    text = _limit_combining_runs(text)
    if single_line:
        text = " ".join(text.split())
    else:
        text = _BLANK_LINES.sub("\n\n", "\n".join(line.rstrip() for line in text.split("\n")))
    return text.strip()


def _limit_combining_runs(text: str) -> str:
    kept: list[str] = []
    run = 0
    for char in text:
        if unicodedata.category(char) in ("Mn", "Me"):
            run += 1
            if run > _MAX_COMBINING_RUN:
                continue
        else:
            run = 0
        kept.append(char)
    return "".join(kept)


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _escaped_units(char: str) -> int:
    return len(html.escape(char, quote=False)) * _units(char)


def _regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _extends(char: str) -> bool:
    """A character that belongs to the cluster before it (never starts a grapheme)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or code in (0x200C, 0x200D)  # ZWNJ, ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # tags (subdivision flags)
        or 0x1160 <= code <= 0x11FF  # Hangul medial vowels and final consonants
        or 0xD7B0 <= code <= 0xD7FF
    )


def _boundary(text: str, index: int) -> bool:
    """Whether a cut between text[index - 1] and text[index] keeps every grapheme whole (UAX #29, the cases
    that occur in messages: marks, ZWJ sequences, variation selectors, skin tones, flags, tags, Hangul)."""
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if _extends(after) or before == "\u200d":
        return False
    if 0x1100 <= ord(before) <= 0x115F or 0xA960 <= ord(before) <= 0xA97F:  # Hangul leading consonant
        return False
    if _regional_indicator(before) and _regional_indicator(after):
        run = 0
        while index - run - 1 >= 0 and _regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 0
    return True


def _cut(text: str, limit: int, cost: Callable[[str], int]) -> str:
    if sum(cost(char) for char in text) <= limit:
        return text
    budget = limit - cost(_ELLIPSIS)
    end = used = 0
    while end < len(text) and used + cost(text[end]) <= budget:
        used += cost(text[end])
        end += 1
    while end > 0 and not _boundary(text, end):
        end -= 1
    # A word boundary close to the cut reads better than half a word.
    if end < len(text) and not text[end].isspace():
        space = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
        if space > 0 and end - space <= 24:
            end = space
    return text[:end].rstrip() + _ELLIPSIS


def excerpt(text: str, max_length: int = LEAD_TEXT_MAX_LENGTH, *, single_line: bool = False) -> str:
    """A person's text cleaned and cut to `max_length` (Telegram units) at a grapheme boundary, "…" marking
    the cut. Plain text: escape it before putting it into HTML."""
    return _cut(clean_text(text, single_line=single_line), max_length, _units)


def _safe_html(text: str, max_length: int, max_escaped: int | None = None, *, single_line: bool = False) -> str:
    """Cleaned, cut to `max_length` shown and `max_escaped` as HTML, then escaped: no `<`, `>` or `&` of the
    person's can open a tag or an entity."""
    cut = excerpt(text, max_length, single_line=single_line)
    if max_escaped is not None:
        cut = _cut(cut, max(max_escaped, 1), _escaped_units)
    return html.escape(cut, quote=False)


def _inline(value: str | None, max_length: int = _NAME_MAX_LENGTH) -> str:
    return _safe_html(value or "", max_length, single_line=True)


# --- formatting --------------------------------------------------------------------------------


def _zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _moment(when: datetime, locale: str, zone: str | None) -> str:
    local = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(_zone(zone))
    label = local.tzname() or "UTC"
    return f"{local.day} {_MONTHS[locale][local.month - 1]}, {local:%H:%M} {label}"


def _score(score: float, locale: str) -> str | None:
    if not math.isfinite(score):
        return None
    shown = f"{min(max(score, 0.0), 1.0):.2f}"
    return shown.replace(".", ",") if locale in _DECIMAL_COMMA else shown


def callback_data(action: Literal["accept", "close"], appeal_id: str) -> str:
    """`a:<appeal_id>` / `c:<appeal_id>`: short, so any of our ids fits Telegram's 64 bytes."""
    data = f"{action[0]}:{appeal_id}"
    if not _APPEAL_REF.match(appeal_id) or len(data.encode()) > CALLBACK_DATA_MAX_BYTES:
        raise ValueError("an appeal id of at most 62 characters of [A-Za-z0-9_-] is expected")
    return data


_APPEAL_REF = re.compile(r"^[A-Za-z0-9_-]{1,62}$")
_CALLBACK = re.compile(r"^([ac]):([A-Za-z0-9_-]{1,62})$")


def parse_callback_data(data: str | None) -> CallbackAction | None:
    """The press a callback's data asks for, or None for anything we never put on a button."""
    match = _CALLBACK.match(data or "")
    if match is None:
        return None
    return CallbackAction("accept" if match.group(1) == "a" else "close", match.group(2))


def _appeal_url(console_base_url: str, appeal_id: str) -> str:
    # The console routes by hash (#/appeals/<id>): a deep link needs no server-side route.
    return f"{console_base_url.rstrip('/')}/#/appeals/{quote(appeal_id, safe='')}"


# --- the messages ------------------------------------------------------------------------------


def render_assignment(
    notice: AppealNotice, *, default_locale: str = DEFAULT_LOCALE, console_base_url: str | None = None
) -> Rendered:
    """The message an operator gets when an appeal is handed to them: Accept and Close (and Open)."""
    locale = resolve_locale(notice.locale, default_locale)
    lines = [f"🆕 <b>{_t(locale, 'new_appeal')}</b> · {_inline(notice.source_name)}"]
    lines += _about_lead(notice, locale)
    if notice.accept_by is not None:
        lines.append(f"⏱ {_t(locale, 'accept_by')} <b>{_moment(notice.accept_by, locale, notice.timezone)}</b>")
    buttons = [
        InlineKeyboardButton(text=_t(locale, "button_accept"), callback_data=callback_data("accept", notice.appeal_id)),
        InlineKeyboardButton(text=_t(locale, "button_close"), callback_data=callback_data("close", notice.appeal_id)),
    ]
    return _with_quote(lines, notice.text, locale, LEAD_TEXT_MAX_LENGTH, buttons, notice, console_base_url)


def render_accepted(
    notice: AppealNotice, *, default_locale: str = DEFAULT_LOCALE, console_base_url: str | None = None
) -> Rendered:
    """The assignment message once accepted: the deadline and Accept go, Close (and Open) stay."""
    locale = resolve_locale(notice.locale, default_locale)
    lines = [f"✅ <b>{_t(locale, 'accepted_title')}</b> · {_inline(notice.source_name)}"]
    lines += _about_lead(notice, locale)
    buttons = [
        InlineKeyboardButton(text=_t(locale, "button_close"), callback_data=callback_data("close", notice.appeal_id))
    ]
    return _with_quote(lines, notice.text, locale, LEAD_TEXT_MAX_LENGTH, buttons, notice, console_base_url)


def _about_lead(notice: AppealNotice, locale: str) -> list[str]:
    lines = [f"👤 {_inline(notice.lead_name) or _t(locale, 'unnamed')}"]
    score = _score(notice.score, locale) if notice.score is not None else None
    if score is not None:
        factor = _inline(notice.top_factor, _FACTOR_MAX_LENGTH)
        lines.append(f"⭐ {_t(locale, 'score')} <b>{score}</b>" + (f" · {factor}" if factor else ""))
    return lines


def _with_quote(
    lines: list[str],
    text: str,
    locale: str,
    max_length: int,
    buttons: list[InlineKeyboardButton],
    notice: AppealNotice | EscalationNotice,
    console_base_url: str | None,
) -> Rendered:
    head = "\n".join(lines)
    shell = "\n\n<blockquote></blockquote>"
    room = MESSAGE_MAX_LENGTH - telegram_length(head) - telegram_length(shell)
    quoted = _safe_html(text, max_length, room)
    body = f"<blockquote>{quoted}</blockquote>" if quoted else f"<i>({_t(locale, 'no_text')})</i>"
    rows: list[list[InlineKeyboardButton]] = [buttons]
    if console_base_url:
        rows.append(
            [InlineKeyboardButton(text=_t(locale, "button_open"), url=_appeal_url(console_base_url, notice.appeal_id))]
        )
    return Rendered(f"{head}\n\n{body}", InlineKeyboardMarkup.rows(*rows))


def render_taken_back(
    reason: TakenBackReason,
    *,
    source_name: str | None = None,
    lead_name: str | None = None,
    locale: str | None = None,
    default_locale: str = DEFAULT_LOCALE,
) -> Rendered:
    """The assignment message edited once the appeal is taken back: why, and no buttons."""
    chosen = resolve_locale(locale, default_locale)
    lines = [*_edited_header("↩️", _t(chosen, "taken_back_title"), source_name, lead_name)]
    lines.append(_t(chosen, f"taken_back.{reason}"))
    return Rendered("\n".join(lines))


def render_follow_up(
    text: str,
    *,
    source_name: str | None = None,
    lead_name: str | None = None,
    locale: str | None = None,
    default_locale: str = DEFAULT_LOCALE,
) -> Rendered:
    """A lead's later message on an appeal the operator holds (sent as a reply to its notice)."""
    chosen = resolve_locale(locale, default_locale)
    head = [f"💬 <b>{_t(chosen, 'follow_up_title')}</b> · {_inline(source_name)}"]
    head.append(f"👤 {_inline(lead_name) or _t(chosen, 'unnamed')}")
    hint = f"<i>{_t(chosen, 'follow_up_hint')}</i>"
    shell = "\n\n<blockquote></blockquote>\n\n" + hint
    room = MESSAGE_MAX_LENGTH - telegram_length("\n".join(head)) - telegram_length(shell)
    quoted = _safe_html(text, LEAD_TEXT_MAX_LENGTH, room)
    body = f"<blockquote>{quoted}</blockquote>" if quoted else f"<i>({_t(chosen, 'no_text')})</i>"
    return Rendered("\n".join(head) + f"\n\n{body}\n\n{hint}")


@dataclass(frozen=True)
class FollowupReminder:
    """What an operator is told about an accepted appeal gone quiet (sent as a reply to its notice)."""

    appeal_id: str
    source_name: str | None
    lead_name: str | None
    quiet_since: datetime
    deadline: datetime
    action: FollowupActionName
    locale: str | None = None
    timezone: str | None = None


def render_followup_reminder(
    reminder: FollowupReminder, *, default_locale: str = DEFAULT_LOCALE, console_base_url: str | None = None
) -> Rendered:
    """Quiet since when, what to do and by when, and what happens otherwise; Close (and Open)."""
    locale = resolve_locale(reminder.locale, default_locale)
    since, deadline = (_moment(when, locale, reminder.timezone) for when in (reminder.quiet_since, reminder.deadline))
    where = f" · {_inline(reminder.source_name)}" if reminder.source_name else ""
    lines = [
        f"⏰ <b>{_t(locale, 'followup_title')}</b>{where}",
        f"👤 {_inline(reminder.lead_name) or _t(locale, 'unnamed')}",
        _t(locale, "followup.since", since=since),
        _t(locale, f"followup.{reminder.action}", deadline=f"<b>{deadline}</b>"),
    ]
    close = InlineKeyboardButton(
        text=_t(locale, "button_close"), callback_data=callback_data("close", reminder.appeal_id)
    )
    rows = [[close]]
    if console_base_url:
        url = _appeal_url(console_base_url, reminder.appeal_id)
        rows.append([InlineKeyboardButton(text=_t(locale, "button_open"), url=url)])
    return Rendered("\n".join(lines), InlineKeyboardMarkup.rows(*rows))


def render_closed(
    *,
    source_name: str | None = None,
    lead_name: str | None = None,
    locale: str | None = None,
    default_locale: str = DEFAULT_LOCALE,
) -> Rendered:
    """The assignment message edited once the appeal is closed: no buttons."""
    chosen = resolve_locale(locale, default_locale)
    return Rendered("\n".join(_edited_header("☑️", _t(chosen, "closed_title"), source_name, lead_name)))


def _edited_header(icon: str, title: str, source_name: str | None, lead_name: str | None) -> list[str]:
    """The first lines of an edited assignment message: what happened, where, and who."""
    head = f"{icon} <b>{title}</b>" + (f" · {_inline(source_name)}" if source_name else "")
    return [head] + ([f"👤 {_inline(lead_name)}"] if lead_name else [])


def render_escalation(
    notice: EscalationNotice, *, default_locale: str = DEFAULT_LOCALE, console_base_url: str | None = None
) -> Rendered:
    """The admins' chat message for an appeal that needs a person (Open, when the console URL is known)."""
    locale = resolve_locale(notice.locale, default_locale)
    lines = [
        f"🚨 <b>{_t(locale, 'escalation_title')}</b> · {_inline(notice.source_name)}",
        f"👤 {_inline(notice.lead_name) or _t(locale, 'unnamed')}",
    ]
    if notice.reason == "sla_lapsed_repeatedly":
        key = f"escalation.sla_lapsed_repeatedly.{_plural(locale, notice.lapses)}"
        lines.append(_t(locale, key, n=notice.lapses))
    else:
        lines.append(_t(locale, f"escalation.{notice.reason}"))
    if notice.waiting_since is not None:
        lines.append(f"⏳ {_t(locale, 'waiting_since')} {_moment(notice.waiting_since, locale, notice.timezone)}")
    rendered = _with_quote(lines, notice.text, locale, _ESCALATION_TEXT_MAX_LENGTH, [], notice, console_base_url)
    return rendered if console_base_url else Rendered(rendered.text)


def render_link_result(
    outcome: LinkOutcome,
    *,
    operator_name: str | None = None,
    locale: str | None = None,
    default_locale: str = DEFAULT_LOCALE,
) -> Rendered:
    """The answer to `/start <code>`: linked, or why not (a used, expired or unknown code; no code)."""
    chosen = resolve_locale(locale, default_locale)
    if outcome == "linked":
        name = _inline(operator_name) or "—"
        return Rendered("✅ " + _t(chosen, "link.linked", name=f"<b>{name}</b>"))
    return Rendered("⚠️ " + _t(chosen, f"link.{outcome}"))


def render_paused(
    returned_to_line: int, *, locale: str | None = None, default_locale: str = DEFAULT_LOCALE
) -> Rendered:
    """The answer to /pause, saying how many unaccepted appeals went back to the line."""
    chosen = resolve_locale(locale, default_locale)
    count = max(returned_to_line, 0)
    form = "zero" if count == 0 else _plural(chosen, count)
    return Rendered(f"⏸ {_t(chosen, 'paused')}\n{_t(chosen, f'paused.returned.{form}', n=count)}")


def render_resumed(*, locale: str | None = None, default_locale: str = DEFAULT_LOCALE) -> Rendered:
    chosen = resolve_locale(locale, default_locale)
    return Rendered(f"▶️ {_t(chosen, 'resumed')}")


def render_help(*, locale: str | None = None, default_locale: str = DEFAULT_LOCALE) -> Rendered:
    """The answer to anything the bot does not understand."""
    chosen = resolve_locale(locale, default_locale)
    return Rendered(html.escape(_t(chosen, "help"), quote=False))


def render_relay(
    outcome: str, *, reason: str | None = None, locale: str | None = None, default_locale: str = DEFAULT_LOCALE
) -> Rendered:
    """The answer to an operator's reply relayed to the lead: sent, pending, failed (why), or refused."""
    chosen = resolve_locale(locale, default_locale)
    mark = {"sent": "✅", "pending": "📤"}.get(outcome, "⚠️")
    text = _t(chosen, f"relay.{outcome}", reason=reason or "—")
    return Rendered(f"{mark} {html.escape(text, quote=False)}")


def callback_answer(
    outcome: CallbackOutcome, *, locale: str | None = None, default_locale: str = DEFAULT_LOCALE
) -> str:
    """The toast for a button press (plain text, within answerCallbackQuery's 200 characters)."""
    return _t(resolve_locale(locale, default_locale), f"answer.{outcome}")[:CALLBACK_TEXT_MAX_LENGTH]
