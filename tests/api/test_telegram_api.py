"""The Bot API client against the fake Bot API on loopback (real HTTP both ways)."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

import pytest

from chalicelib.channels import telegram_api as tg
from chalicelib.channels.telegram_api import InlineKeyboardButton, InlineKeyboardMarkup
from scripts.local.fakes.telegram import SECRET_HEADER, FakeTelegram
from scripts.local.fakes.webhook_receiver import WebhookReceiver

if TYPE_CHECKING:
    from collections.abc import Iterator

CHAT = 424242
OTHER_CHAT = 515151


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        monkeypatch.setenv("TELEGRAM_API_BASE", server.base_url)
        yield server


@pytest.fixture
def token(fake: FakeTelegram) -> str:
    return fake.add_bot("crm_operators_bot")


def buttons(appeal_id: str = "ap_123") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup.rows(
        [
            InlineKeyboardButton(text="Accept", callback_data=f"a:{appeal_id}"),
            InlineKeyboardButton(text="Close", callback_data=f"c:{appeal_id}"),
        ]
    )


# --- getMe and webhooks ----------------------------------------------------------------------


def test_GIVEN_a_bot_token_WHEN_get_me_THEN_the_bot_is_named_and_its_deep_link_base_is_known(
    fake: FakeTelegram, token: str
) -> None:
    me = tg.get_me(token)

    assert (me.id, me.is_bot, me.username) == (fake.bot_id(token), True, "crm_operators_bot")
    assert me.link == "https://t.me/crm_operators_bot"
    assert [(c.method, c.token) for c in fake.calls()] == [("getMe", token)]


def test_GIVEN_a_token_telegram_does_not_know_WHEN_get_me_THEN_permanent_unauthorized_and_the_token_is_not_in_the_error(
    fake: FakeTelegram,
) -> None:
    stranger = "123456789:AAfakefakefakefakefakefakefakefake"

    with pytest.raises(tg.PermanentFailure) as caught:
        tg.get_me(stranger)

    assert caught.value.error_code == 401 and caught.value.unauthorized
    assert "AAfakefake" not in str(caught.value)


def test_GIVEN_a_token_with_a_slash_WHEN_called_THEN_refused_before_any_request(fake: FakeTelegram) -> None:
    with pytest.raises(tg.PermanentFailure, match="malformed bot token"):
        tg.get_me("123:abc/../../other")

    assert fake.calls() == []


def test_GIVEN_a_bot_WHEN_its_webhook_is_set_then_deleted_THEN_telegram_holds_url_secret_and_update_kinds(
    fake: FakeTelegram, token: str
) -> None:
    tg.set_webhook(
        token,
        "https://crm.example.com/api/telegram/operator-bot",
        secret_token="s3cr3t_-X",
        allowed_updates=["message"],
    )
    info = tg.get_webhook_info(token)
    hook = fake.webhook(token)
    tg.delete_webhook(token)

    assert info.url == "https://crm.example.com/api/telegram/operator-bot"
    assert info.allowed_updates == ("message",)
    assert hook is not None and (hook.secret_token, hook.allowed_updates) == ("s3cr3t_-X", ("message",))
    assert fake.webhook(token) is None
    assert [c.method for c in fake.calls()] == ["setWebhook", "getWebhookInfo", "deleteWebhook"]


def test_GIVEN_a_secret_with_characters_telegram_refuses_WHEN_setting_the_webhook_THEN_refused_locally(
    fake: FakeTelegram, token: str
) -> None:
    with pytest.raises(ValueError, match="secret_token"):
        tg.set_webhook(token, "https://crm.example.com/hook", secret_token="has space")

    assert fake.calls() == []


def test_GIVEN_a_webhook_set_through_the_client_WHEN_the_fake_delivers_an_update_THEN_it_arrives_with_the_secret_header(
    fake: FakeTelegram, token: str
) -> None:
    with WebhookReceiver() as receiver:
        tg.set_webhook(token, receiver.url, secret_token="hook-secret")
        update = fake.start_update(token, CHAT, "LINK123", first_name="Olga", language_code="uk")

        status, _ = fake.deliver(token, update)

        (delivery,) = receiver.deliveries
    assert status == 200
    assert delivery.header(SECRET_HEADER) == "hook-secret"
    message = delivery.json["message"]
    assert message["text"] == "/start LINK123"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert (message["chat"]["id"], message["from"]["language_code"]) == (CHAT, "uk")


# --- sending ---------------------------------------------------------------------------------


def test_GIVEN_two_chats_WHEN_messages_are_sent_THEN_message_ids_count_per_chat_and_the_call_is_recorded_as_sent(
    fake: FakeTelegram, token: str
) -> None:
    first = tg.send_message(token, CHAT, "<b>New appeal</b> from &lt;Site&gt;", reply_markup=buttons())
    second = tg.send_message(token, CHAT, "second", reply_to_message_id=first.message_id)
    elsewhere = tg.send_message(token, OTHER_CHAT, "hello")

    assert [first.message_id, second.message_id, elsewhere.message_id] == [1, 2, 1]
    assert first.chat.id == CHAT and first.text == "New appeal from <Site>"
    call = fake.calls("sendMessage")[0]
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Accept", "callback_data": "a:ap_123"}, {"text": "Close", "callback_data": "c:ap_123"}]
        ]
    }
    assert call.params["link_preview_options"] == {"is_disabled": True}
    assert fake.calls("sendMessage")[1].params["reply_parameters"] == {
        "message_id": 1,
        "allow_sending_without_reply": True,
    }
    assert fake.message(CHAT, 2, token=token).reply_to_message_id == 1


def test_GIVEN_a_persons_own_words_WHEN_sent_without_parse_mode_THEN_markup_characters_arrive_as_typed(
    fake: FakeTelegram, token: str
) -> None:
    sent = tg.send_message(token, CHAT, "5 < 6 & <b>not bold</b>", parse_mode=None)

    assert sent.text == "5 < 6 & <b>not bold</b>"
    assert "parse_mode" not in fake.calls("sendMessage")[0].params


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<b>never closed", "Can't find end tag"),
        ("1 < 2", "Unexpected character '<'"),
        ("<script>x</script>", 'Unsupported start tag "script"'),
        ("AT&T", "Unsupported HTML entity"),
        ("x" * 4097, "message is too long"),
        ("<b> </b>", "message text is empty"),
    ],
)
def test_GIVEN_text_telegram_cannot_take_WHEN_sent_as_html_THEN_permanent_failure_with_telegrams_reason(
    fake: FakeTelegram, token: str, text: str, problem: str
) -> None:
    with pytest.raises(tg.PermanentFailure) as caught:
        tg.send_message(token, CHAT, text)

    assert caught.value.error_code == 400 and problem in caught.value.reason


def test_GIVEN_4096_visible_characters_of_escaped_html_WHEN_sent_THEN_accepted(fake: FakeTelegram, token: str) -> None:
    sent = tg.send_message(token, CHAT, "<b>" + "&amp;" * 4096 + "</b>")

    assert sent.text == "&" * 4096


# --- classified failures ----------------------------------------------------------------------


def test_GIVEN_flood_control_WHEN_sending_THEN_retry_later_with_telegrams_retry_after_and_the_next_call_succeeds(
    fake: FakeTelegram, token: str
) -> None:
    fake.throttle_next("sendMessage", retry_after=3)

    with pytest.raises(tg.RetryLater) as caught:
        tg.send_message(token, CHAT, "hi")
    sent = tg.send_message(token, CHAT, "hi")

    assert (caught.value.error_code, caught.value.retry_after) == (429, 3)
    assert sent.message_id == 1  # the throttled call sent nothing
    assert len(fake.calls("sendMessage")) == 2


def test_GIVEN_a_telegram_outage_WHEN_sending_THEN_retry_later_without_a_figure(fake: FakeTelegram, token: str) -> None:
    fake.fail_next("sendMessage", error_code=502, description="Bad Gateway")

    with pytest.raises(tg.RetryLater) as caught:
        tg.send_message(token, CHAT, "hi")

    assert (caught.value.error_code, caught.value.retry_after) == (502, None)


def test_GIVEN_a_person_who_blocked_the_bot_WHEN_sending_THEN_permanent_with_telegrams_reason(
    fake: FakeTelegram, token: str
) -> None:
    fake.block_chat(CHAT)

    with pytest.raises(tg.PermanentFailure) as caught:
        tg.send_message(token, CHAT, "hi")

    assert caught.value.reason == "Forbidden: bot was blocked by the user"
    assert caught.value.error_code == 403 and caught.value.recipient_unreachable
    assert not isinstance(caught.value, tg.RetryLater)


def test_GIVEN_one_scripted_block_WHEN_sending_twice_THEN_only_the_first_fails(fake: FakeTelegram, token: str) -> None:
    fake.block_next("sendMessage")

    with pytest.raises(tg.PermanentFailure):
        tg.send_message(token, CHAT, "hi")

    assert tg.send_message(token, CHAT, "hi").message_id == 1


def test_GIVEN_a_chat_telegram_does_not_know_WHEN_sending_THEN_permanent_chat_not_found(
    fake: FakeTelegram, token: str
) -> None:
    fake.lose_chat(CHAT)

    with pytest.raises(tg.PermanentFailure) as caught:
        tg.send_message(token, CHAT, "hi")

    assert caught.value.reason == "Bad Request: chat not found" and caught.value.recipient_unreachable
    assert not caught.value.unauthorized


def test_GIVEN_nothing_listens_WHEN_calling_THEN_retry_later_and_no_trace_of_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("TELEGRAM_API_BASE", f"http://127.0.0.1:{port}")
    token = "987654321:AAsecretsecretsecretsecretsecret"

    with pytest.raises(tg.RetryLater) as caught:
        tg.send_message(token, CHAT, "hi")

    text = str(caught.value)
    assert "secretsecret" not in text and "987654321" not in text
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_GIVEN_a_server_that_never_answers_WHEN_calling_THEN_retry_later_after_the_bounded_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        monkeypatch.setenv("TELEGRAM_API_BASE", f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()

        with pytest.raises(tg.RetryLater, match="no answer"):
            tg.get_me("1:AAsilent")

        elapsed = time.monotonic() - started
    assert tg.TIMEOUT_SECONDS - 0.5 <= elapsed < tg.TIMEOUT_SECONDS + 5


def test_GIVEN_the_base_url_changes_WHEN_calling_again_THEN_the_new_base_is_used(
    fake: FakeTelegram, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeTelegram() as other:
        other_token = other.add_bot("other_bot")
        tg.get_me(token)
        monkeypatch.setenv("TELEGRAM_API_BASE", other.base_url + "/")
        me = tg.get_me(other_token)

        assert me.username == "other_bot"
        assert len(fake.calls()) == 1 and len(other.calls()) == 1


# --- edits and callbacks ---------------------------------------------------------------------


def test_GIVEN_a_sent_message_WHEN_its_text_is_edited_without_buttons_THEN_the_buttons_disappear(
    fake: FakeTelegram, token: str
) -> None:
    sent = tg.send_message(token, CHAT, "New appeal", reply_markup=buttons())

    result = tg.edit_message_text(token, CHAT, sent.message_id, "<i>Taken back</i>")

    assert result.changed and result.message is not None and result.message.text == "Taken back"
    stored = fake.message(CHAT, sent.message_id, token=token)
    assert (stored.text, stored.buttons, stored.edits) == ("<i>Taken back</i>", [], 1)


def test_GIVEN_an_edit_already_made_WHEN_made_again_THEN_not_modified_is_an_unchanged_success(
    fake: FakeTelegram, token: str
) -> None:
    sent = tg.send_message(token, CHAT, "New appeal", reply_markup=buttons())
    tg.edit_message_text(token, CHAT, sent.message_id, "Accepted", reply_markup=buttons())

    again = tg.edit_message_text(token, CHAT, sent.message_id, "Accepted", reply_markup=buttons())

    assert again == tg.EditResult(changed=False)
    assert fake.message(CHAT, sent.message_id, token=token).edits == 1


def test_GIVEN_not_modified_WHEN_called_raw_THEN_it_is_its_own_permanent_failure_kind(
    fake: FakeTelegram, token: str
) -> None:
    sent = tg.send_message(token, CHAT, "same")

    with pytest.raises(tg.MessageNotModified) as caught:
        tg.call(token, "editMessageText", {"chat_id": CHAT, "message_id": sent.message_id, "text": "same"})

    assert isinstance(caught.value, tg.PermanentFailure) and caught.value.error_code == 400


def test_GIVEN_a_message_that_does_not_exist_WHEN_edited_THEN_permanent_not_an_unchanged_success(
    fake: FakeTelegram, token: str
) -> None:
    with pytest.raises(tg.PermanentFailure) as caught:
        tg.edit_message_text(token, CHAT, 99, "x")

    assert not isinstance(caught.value, tg.MessageNotModified)
    assert caught.value.reason == "Bad Request: message to edit not found"


def test_GIVEN_a_message_with_buttons_WHEN_its_markup_is_removed_twice_THEN_changed_then_unchanged(
    fake: FakeTelegram, token: str
) -> None:
    sent = tg.send_message(token, CHAT, "New appeal", reply_markup=buttons())

    first = tg.edit_message_reply_markup(token, CHAT, sent.message_id)
    second = tg.edit_message_reply_markup(token, CHAT, sent.message_id)

    assert (first.changed, second.changed) == (True, False)
    assert fake.message(CHAT, sent.message_id, token=token).buttons == []


def test_GIVEN_a_button_press_WHEN_answered_once_then_twice_THEN_the_second_answer_is_refused_as_telegram_does(
    fake: FakeTelegram, token: str
) -> None:
    sent = tg.send_message(token, CHAT, "New appeal", reply_markup=buttons())
    press = fake.callback_update(token, CHAT, "a:ap_123", message_id=sent.message_id)
    query_id = press["callback_query"]["id"]

    tg.answer_callback_query(token, query_id, text="Accepted " + "!" * 300)
    with pytest.raises(tg.PermanentFailure, match="query is too old"):
        tg.answer_callback_query(token, query_id)

    first = fake.calls("answerCallbackQuery")[0].params
    assert first["callback_query_id"] == query_id and len(first["text"]) == tg.CALLBACK_TEXT_MAX_LENGTH
    assert press["callback_query"]["message"]["message_id"] == sent.message_id
    assert press["callback_query"]["data"] == "a:ap_123"


def test_GIVEN_many_threads_WHEN_sending_at_once_THEN_every_message_gets_its_own_id_through_the_shared_pool(
    fake: FakeTelegram, token: str
) -> None:
    ids: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        sent = tg.send_message(token, CHAT, "hi")
        with lock:
            ids.append(sent.message_id)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(ids) == list(range(1, 13))


def test_GIVEN_a_notification_WHEN_the_operator_replies_to_it_THEN_the_update_carries_the_bots_message_as_replied_to(
    fake: FakeTelegram, token: str
) -> None:
    notification = tg.send_message(token, CHAT, "<b>New appeal</b>", reply_markup=buttons())

    update = fake.message_update(token, CHAT, "Hello, how can I help?", reply_to_message_id=notification.message_id)

    message = update["message"]
    assert message["message_id"] == notification.message_id + 1  # ids are shared by both sides of a chat
    replied = message["reply_to_message"]
    assert (replied["message_id"], replied["from"]["is_bot"], replied["text"]) == (
        notification.message_id,
        True,
        "New appeal",
    )
    assert [m.from_bot for m in fake.messages(CHAT, token=token)] == [True, False]


def test_GIVEN_updates_for_one_bot_WHEN_built_THEN_update_ids_are_unique_and_increasing(
    fake: FakeTelegram, token: str
) -> None:
    updates = [
        fake.message_update(token, CHAT, "hi"),
        fake.start_update(token, CHAT),
        fake.callback_update(token, CHAT, "c:ap_1", message_id=1, from_id=OTHER_CHAT),
    ]

    ids = [u["update_id"] for u in updates]
    assert ids == sorted(set(ids)) and len(ids) == 3
    assert updates[1]["message"]["text"] == "/start"
    assert updates[2]["callback_query"]["from"]["id"] == OTHER_CHAT


def test_GIVEN_a_callback_data_over_64_bytes_WHEN_sent_raw_THEN_telegram_refuses_the_button(
    fake: FakeTelegram, token: str
) -> None:
    markup = {"inline_keyboard": [[{"text": "Accept", "callback_data": "a:" + "я" * 32}]]}

    with pytest.raises(tg.PermanentFailure, match="BUTTON_DATA_INVALID"):
        tg.call(token, "sendMessage", {"chat_id": CHAT, "text": "x", "reply_markup": markup})


def test_GIVEN_parameters_the_fake_cannot_read_WHEN_called_THEN_a_500_the_client_retries_and_the_fake_notes_it(
    fake: FakeTelegram, token: str
) -> None:
    with pytest.raises(tg.RetryLater):
        tg.call(token, "sendMessage", {"chat_id": CHAT, "text": "x", "reply_parameters": {"message_id": [1]}})

    assert len(fake.errors) == 1 and fake.errors[0].startswith("sendMessage:")
