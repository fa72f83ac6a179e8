"""The Bot API client's own rules, as data: buttons within Telegram's limits, errors classified."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.channels import telegram_api as tg
from chalicelib.channels.telegram_api import InlineKeyboardButton, InlineKeyboardMarkup


def test_GIVEN_callback_data_of_exactly_64_bytes_WHEN_a_button_is_made_THEN_accepted() -> None:
    button = InlineKeyboardButton(text="Accept", callback_data="a:" + "x" * 62)

    assert len((button.callback_data or "").encode()) == tg.CALLBACK_DATA_MAX_BYTES


@pytest.mark.parametrize("data", ["a:" + "x" * 63, "a:" + "я" * 32, ""])
def test_GIVEN_callback_data_outside_1_to_64_bytes_WHEN_a_button_is_made_THEN_refused(data: str) -> None:
    with pytest.raises(ValidationError, match="callback_data"):
        InlineKeyboardButton(text="Accept", callback_data=data)


@pytest.mark.parametrize("actions", [{}, {"callback_data": "a:1", "url": "https://example.com"}])
def test_GIVEN_a_button_with_no_or_two_actions_WHEN_made_THEN_refused(actions: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        InlineKeyboardButton(text="Accept", **actions)


def test_GIVEN_rows_some_empty_WHEN_a_keyboard_is_made_THEN_empty_rows_are_dropped_and_the_api_shape_has_no_nulls() -> (
    None
):
    markup = InlineKeyboardMarkup.rows(
        [InlineKeyboardButton(text="Open", url="https://crm.example.com/a")],
        [],
    )

    assert markup.to_api() == {"inline_keyboard": [[{"text": "Open", "url": "https://crm.example.com/a"}]]}


def test_GIVEN_permanent_failures_WHEN_classified_THEN_unreachable_recipients_are_told_apart_from_bad_requests() -> (
    None
):
    blocked = tg.PermanentFailure("sendMessage", "Forbidden: bot was blocked by the user", 403)
    deactivated = tg.PermanentFailure("sendMessage", "Forbidden: user is deactivated", 403)
    bad = tg.PermanentFailure("sendMessage", "Bad Request: can't parse entities", 400)
    revoked = tg.PermanentFailure("getMe", "Unauthorized", 401)

    assert [f.recipient_unreachable for f in (blocked, deactivated, bad, revoked)] == [True, True, False, False]
    assert [f.unauthorized for f in (blocked, deactivated, bad, revoked)] == [False, False, False, True]
    assert blocked.reason == "Forbidden: bot was blocked by the user"
    assert str(blocked) == "Telegram sendMessage: Forbidden: bot was blocked by the user (403)"
