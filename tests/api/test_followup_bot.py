"""The follow-up reminder in the operator's Telegram chat, end to end on moto: the job
records the reminder, the appeals stream handler (fed like Lambda) sends it through the
real Bot API client to the fake Bot API on loopback, in the operator's language."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.core.ids import utc_now
from chalicelib.routing.followup_job import run_followup
from tests.api import test_operator_bot as operator_bot
from tests.api.test_operator_bot import ADMINS_CHAT, CHAT, Stack, one_operator_source

if TYPE_CHECKING:
    from scripts.local.fakes.telegram import SentMessage

PERIOD = 600
# The operator bot's fixtures (fake Bot API on loopback, the bot's settings, the stack).
fake, bot, stack = operator_bot.fake, operator_bot.bot, operator_bot.stack


def accepted_appeal(stack: Stack, **source: Any) -> tuple[dict[str, Any], dict[str, Any], SentMessage]:
    """Anna, linked, holds an accepted appeal of a follow-up source; returns its notice too."""
    operator, src = one_operator_source(stack, followup_seconds=PERIOD, **source)
    stack.link(operator["id"], CHAT)
    appeal = stack.api.appeal(src["id"], lead_external_id="tg:4343", lead_name="Ivan <b>")
    stack.feed()
    notice = next(m for m in stack.fake.messages(CHAT) if m.callback_data)
    assert stack.press(CHAT, f"a:{appeal['id']}", notice.message_id)[0] == 200
    stack.feed()
    return operator, appeal, notice


def reminders(stack: Stack) -> list[SentMessage]:
    return [m for m in stack.fake.messages(CHAT, token=stack.token) if "⏰" in m.text]


def test_GIVEN_a_quiet_accepted_appeal_WHEN_the_job_reminds_THEN_one_message_replies_to_the_notice_once(
    stack: Stack,
) -> None:
    _, appeal, notice = accepted_appeal(stack)

    run_followup(now=utc_now() + timedelta(seconds=PERIOD + 30))
    stack.feed()
    stack._invoke(stack.invocations[-1])  # Lambda redelivers the batch

    (reminder,) = reminders(stack)
    assert "No activity" in reminder.text and "or it will be escalated" in reminder.text
    assert "Ivan &lt;b&gt;" in reminder.text  # the lead's name cannot break the formatting
    assert reminder.reply_to_message_id == notice.message_id
    assert reminder.callback_data == [f"c:{appeal['id']}"]


@pytest.mark.parametrize(
    ("locale", "title", "action"),
    [
        ("ru", "Нет активности", "иначе оно будет передано другому оператору"),
        ("uk", "Немає активності", "інакше його буде передано іншому оператору"),
    ],
)
def test_GIVEN_an_operator_speaking_ru_or_uk_WHEN_reminded_THEN_the_reminder_is_in_its_language(
    stack: Stack, locale: str, title: str, action: str
) -> None:
    operator, _, _ = accepted_appeal(stack, followup_action="return_to_line")
    assert stack.api.patch(f"/operators/{operator['id']}", {"locale": locale}).status == 200

    run_followup(now=utc_now() + timedelta(seconds=PERIOD + 30))
    stack.feed()

    (reminder,) = reminders(stack)
    assert title in reminder.text and action in reminder.text


def test_GIVEN_a_reminder_WHEN_the_operator_replies_to_it_THEN_the_lead_gets_it_and_the_clock_restarts(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_API_URL", "https://crm.example.test/api")
    _, appeal, _ = accepted_appeal(stack)
    shop = stack.fake.add_bot("shop_bot")
    assert stack.api.post(f"/sources/{appeal['source_id']}/telegram/connect", {"bot_token": shop}).status == 200
    run_followup(now=utc_now() + timedelta(seconds=PERIOD + 30))
    stack.feed()
    (reminder,) = reminders(stack)

    answer = stack.fake.message_update(stack.token, CHAT, "Sorry, on it", reply_to_message_id=reminder.message_id)
    assert stack.post_update(answer)[0] == 200

    assert [m.text for m in stack.fake.messages(4343, token=shop)] == ["Sorry, on it"]
    # The reply was activity: the second quiet period starts again from it, nothing is due yet.
    report = run_followup(now=utc_now() + timedelta(seconds=PERIOD - 30))
    assert (report.due, report.escalated) == (0, 0)
    assert stack.api.get(f"/appeals/{appeal['id']}").body["status"] == "active"


def test_GIVEN_a_reminded_appeal_WHEN_escalated_THEN_the_notice_says_why_and_the_admins_are_told(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESCALATION_CHAT_ID", str(ADMINS_CHAT))
    _, _, notice = accepted_appeal(stack)
    start = utc_now()
    run_followup(now=start + timedelta(seconds=PERIOD + 30))
    stack.feed()

    run_followup(now=start + timedelta(seconds=2 * PERIOD + 60))
    stack.feed()

    edited = stack.fake.message(CHAT, notice.message_id, token=stack.token)
    assert edited.buttons == [] and "no activity for too long after you accepted it" in edited.text
    (message,) = stack.fake.messages(ADMINS_CHAT)
    assert "Accepted, then no activity for too long" in message.text
