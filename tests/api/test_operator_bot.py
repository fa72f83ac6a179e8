"""The operator bot end to end on moto: the appeals stream (moto's) fed by the local StreamPoller to the
real handler, the real Bot API client talking to the fake Bot API on loopback."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from chalicelib.core.errors import Forbidden
from chalicelib.core.ids import utc_now
from chalicelib.directory.operators import update_operator
from chalicelib.models import Appeal, Source
from chalicelib.routing.reassignment import run_reassignment
from chalicelib.schemas.operators import OperatorPatch
from scripts.local.fakes.telegram import FakeTelegram
from tests.support import appeal_body, on_dynamodb_event, operator_token

if TYPE_CHECKING:
    from collections.abc import Iterator

    from chalice.test import Client

    from scripts.local.dev_auth import DevKeys
    from tests.support import Api

SECRET = "operator-bot-secret_1"
CHAT = 700_100
OTHER_CHAT = 700_200
SHARD = "shardId-00000001-bot"


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as telegram:
        yield telegram


@pytest.fixture
def bot(fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, aws_credentials: None) -> str:
    token = fake.add_bot("leadcrm_ops_bot")
    monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
    monkeypatch.setenv("OPERATOR_BOT_TOKEN", token)
    monkeypatch.setenv("OPERATOR_BOT_WEBHOOK_SECRET", SECRET)
    return token


class Stack:
    def __init__(self, api: Api, client: Client, fake: FakeTelegram, token: str, dev_keys: DevKeys) -> None:
        self.api, self.client, self.fake, self.token, self.dev_keys = api, client, fake, token, dev_keys
        self.invocations: list[dict[str, Any]] = []
        self.images: dict[str, dict[str, Any]] = {}
        self.sequence = 0

    def _invoke(self, event: dict[str, Any]) -> Any:
        self.invocations.append(event)
        return self.client.lambda_.invoke("appeal_events", event).payload

    def feed(self) -> None:
        """A stream with the same interface as DynamoDB's (moto does not serve DescribeStream): each appeal
        whose item changed since the last feed becomes one MODIFY/INSERT record with both images, fed to
        the handler in one batch, as Lambda would."""
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        records = []
        for item in dynamodb.scan(TableName=Appeal.Meta.table_name, ConsistentRead=True)["Items"]:
            key = item["appeal_id"]["S"]
            old = self.images.get(key)
            if old == item:
                continue
            self.sequence += 1
            change = {
                "ApproximateCreationDateTime": time.time(),
                "Keys": {"appeal_id": item["appeal_id"]},
                "NewImage": item,
                "SequenceNumber": str(self.sequence),
            }
            if old is not None:
                change["OldImage"] = old
            records.append(
                {
                    "eventID": str(self.sequence),
                    "eventName": "MODIFY" if old else "INSERT",
                    "eventSource": "aws:dynamodb",
                    "dynamodb": change,
                }
            )
            self.images[key] = item
        if records:
            self._invoke({"Records": records, "shardId": SHARD})

    def press(self, chat_id: int, data: str, message_id: int, from_id: int | None = None) -> tuple[int, Any]:
        update = self.fake.callback_update(self.token, chat_id, data, message_id=message_id, from_id=from_id)
        return self.post_update(update)

    def say(self, chat_id: int, text: str) -> tuple[int, Any]:
        return self.post_update(self.fake.message_update(self.token, chat_id, text))

    def post_update(self, update: dict[str, Any], secret: str | None = SECRET) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        reply = self.client.http.post("/telegram/operator-bot", headers=headers, body=json.dumps(update))
        return reply.status_code, json.loads(reply.body) if reply.body else None

    def link(self, operator_id: str, chat_id: int) -> None:
        reply = self.api.post(f"/operators/{operator_id}/telegram-link")
        assert reply.status == 201, reply.body
        assert self.say(chat_id, f"/start {reply.body['code']}")[0] == 200

    def answers(self) -> list[str]:
        return [call.params.get("text", "") for call in self.fake.calls("answerCallbackQuery")]


@pytest.fixture
def stack(api: Api, bot: str, fake: FakeTelegram, dev_keys: DevKeys) -> Stack:
    return Stack(api, api._client, fake, bot, dev_keys)


def one_operator_source(stack: Stack, **source: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    operator = stack.api.operator("Anna", max_load=5)
    src = stack.api.source(**source)
    stack.api.weights(src["id"], {operator["id"]: 10})
    return operator, src


def test_GIVEN_a_link_code_WHEN_start_is_sent_THEN_the_chat_is_linked_once(stack: Stack) -> None:
    operator, _ = one_operator_source(stack)
    reply = stack.api.post(f"/operators/{operator['id']}/telegram-link")
    assert reply.status == 201
    assert reply.body["link"] == f"https://t.me/leadcrm_ops_bot?start={reply.body['code']}"
    stack.say(CHAT, f"/start {reply.body['code']}")
    assert stack.api.get(f"/operators/{operator['id']}").body["telegram_chat_id"] == CHAT
    stack.say(OTHER_CHAT, f"/start {reply.body['code']}")  # single use
    assert "already been used" in stack.fake.messages(OTHER_CHAT)[-1].text
    assert stack.api.get(f"/operators/{operator['id']}").body["telegram_chat_id"] == CHAT
    stack.say(OTHER_CHAT, "/start not-a-code")
    assert "not valid" in stack.fake.messages(OTHER_CHAT)[-1].text


def test_GIVEN_an_expired_code_WHEN_start_is_sent_THEN_nothing_is_linked(stack: Stack) -> None:
    from chalicelib.access.principal import SYSTEM
    from chalicelib.directory import telegram_links

    operator, _ = one_operator_source(stack)
    issued = telegram_links.issue_code(operator["id"], viewer=SYSTEM, now=0.0)  # expired in 1970
    stack.say(CHAT, f"/start {issued.code}")
    assert "expired" in stack.fake.messages(CHAT)[-1].text
    assert stack.api.get(f"/operators/{operator['id']}").body["telegram_chat_id"] is None


def test_GIVEN_a_linked_operator_WHEN_an_appeal_is_assigned_THEN_one_message_with_buttons_arrives(
    stack: Stack,
) -> None:
    operator, src = one_operator_source(stack)
    stack.link(operator["id"], CHAT)
    appeal = stack.api.appeal(src["id"], lead_name="Ivan", message="<b>hi</b> & *bold* _x_ 🎉")
    stack.feed()
    sent = [m for m in stack.fake.messages(CHAT) if m.callback_data]
    assert len(sent) == 1
    assert sent[0].callback_data == [f"a:{appeal['id']}", f"c:{appeal['id']}"]
    assert "&lt;b&gt;hi&lt;/b&gt; &amp; *bold* _x_ 🎉" in sent[0].text  # escaped, the fake checked the HTML


def test_GIVEN_a_redelivered_stream_batch_WHEN_it_is_handled_again_THEN_no_second_message(stack: Stack) -> None:
    operator, src = one_operator_source(stack)
    stack.link(operator["id"], CHAT)
    stack.api.appeal(src["id"])
    stack.feed()
    for event in list(stack.invocations):
        stack.client.lambda_.invoke("appeal_events", event)  # Lambda retrying the same batches
    assert len(stack.fake.calls("sendMessage")) == 2  # the /start answer and one assignment


def test_GIVEN_a_429_WHEN_notifying_THEN_it_waits_and_sends_once(stack: Stack) -> None:
    operator, src = one_operator_source(stack)
    stack.link(operator["id"], CHAT)
    stack.fake.throttle_next("sendMessage", retry_after=1)
    stack.api.appeal(src["id"])
    stack.feed()
    assert len([m for m in stack.fake.messages(CHAT) if m.callback_data]) == 1


def test_GIVEN_a_failing_bot_api_WHEN_notifying_THEN_the_stream_retry_sends_it_later_once(stack: Stack) -> None:
    operator, src = one_operator_source(stack)
    stack.link(operator["id"], CHAT)
    stack.fake.fail_next("sendMessage", 1, error_code=502, description="Bad Gateway")
    stack.api.appeal(src["id"])
    with pytest.raises(Exception, match="Bad Gateway"):
        stack.feed()  # the handler fails: Lambda would retry the batch
    assert not [m for m in stack.fake.messages(CHAT) if m.callback_data]
    stack.client.lambda_.invoke("appeal_events", stack.invocations[-1])
    stack.client.lambda_.invoke("appeal_events", stack.invocations[-1])
    assert len([m for m in stack.fake.messages(CHAT) if m.callback_data]) == 1


def appeals_total(source_id: str) -> int:
    return int(Source.get(source_id, consistent_read=True).appeals_total)


def assignment_messages(stack: Stack) -> int:
    return len([m for m in stack.fake.messages(CHAT) if m.callback_data])


def test_GIVEN_the_bot_api_failing_WHEN_the_batch_is_retried_THEN_one_message_and_the_source_counted_once(
    stack: Stack,
) -> None:
    operator, src = one_operator_source(stack)
    stack.link(operator["id"], CHAT)
    stack.fake.fail_next("sendMessage", 1, error_code=502, description="Bad Gateway")
    stack.api.appeal(src["id"])
    with pytest.raises(Exception, match="Bad Gateway"):
        stack.feed()  # the notifications consumer failed: the whole batch fails, Lambda retries it
    assert appeals_total(src["id"]) == 1  # the aggregates consumer still ran on the failed batch

    stack.client.lambda_.invoke("appeal_events", stack.invocations[-1])
    stack.client.lambda_.invoke("appeal_events", stack.invocations[-1])

    assert assignment_messages(stack) == 1
    assert appeals_total(src["id"]) == 1


def test_GIVEN_the_aggregates_failing_WHEN_the_batch_is_retried_THEN_counted_once_and_one_message(
    stack: Stack,
) -> None:
    operator, src = one_operator_source(stack)
    stack.link(operator["id"], CHAT)
    stack.api.appeal(src["id"])

    def sources_unreachable(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == Source.Meta.table_name:
            raise RuntimeError("sources table unreachable")

    with (
        on_dynamodb_event("provide-client-params.dynamodb.UpdateItem", sources_unreachable),
        pytest.raises(RuntimeError, match="sources table unreachable"),
    ):
        stack.feed()
    assert assignment_messages(stack) == 1  # the notifications consumer still ran
    assert appeals_total(src["id"]) == 0

    stack.client.lambda_.invoke("appeal_events", stack.invocations[-1])
    stack.client.lambda_.invoke("appeal_events", stack.invocations[-1])

    assert appeals_total(src["id"]) == 1
    assert assignment_messages(stack) == 1


def test_GIVEN_the_assignment_message_WHEN_accept_is_pressed_THEN_the_sla_clock_stops_and_repeats_change_nothing(
    stack: Stack,
) -> None:
    operator, src = one_operator_source(stack, response_sla_seconds=600)
    stack.link(operator["id"], CHAT)
    appeal = stack.api.appeal(src["id"])
    assert appeal["accept_by"] is not None
    stack.feed()
    message = next(m for m in stack.fake.messages(CHAT) if m.callback_data)
    assert stack.press(CHAT, f"a:{appeal['id']}", message.message_id)[0] == 200
    after = stack.api.get(f"/appeals/{appeal['id']}").body
    assert after["accepted_at"] is not None and after["accept_by"] is None
    stack.press(CHAT, f"a:{appeal['id']}", message.message_id)
    assert stack.api.get(f"/appeals/{appeal['id']}").body == after
    assert stack.answers() == ["Accepted.", "You have already accepted this appeal."]
    stack.feed()
    edited = stack.fake.message(CHAT, message.message_id, token=stack.token)
    assert edited.callback_data == [f"c:{appeal['id']}"]  # Accept gone, Close stays


def test_GIVEN_the_assignment_message_WHEN_close_is_pressed_THEN_the_appeal_closes_and_buttons_go(
    stack: Stack,
) -> None:
    operator, src = one_operator_source(stack)
    stack.link(operator["id"], CHAT)
    appeal = stack.api.appeal(src["id"])
    stack.feed()
    message = next(m for m in stack.fake.messages(CHAT) if m.callback_data)
    stack.press(CHAT, f"c:{appeal['id']}", message.message_id)
    assert stack.api.get(f"/appeals/{appeal['id']}").body["status"] == "closed"
    assert stack.api.get(f"/operators/{operator['id']}").body["current_load"] == 0
    stack.feed()
    assert stack.fake.message(CHAT, message.message_id, token=stack.token).buttons == []


def test_GIVEN_a_foreign_chat_or_forged_data_WHEN_pressed_THEN_nothing_changes(stack: Stack) -> None:
    anna, src = one_operator_source(stack)
    boris = stack.api.operator("Boris", max_load=5)
    stack.link(anna["id"], CHAT)
    stack.link(boris["id"], OTHER_CHAT)
    appeal = stack.api.appeal(src["id"])  # Anna's (the only weight)
    stack.feed()
    message = next(m for m in stack.fake.messages(CHAT) if m.callback_data)
    stack.press(CHAT, f"c:{appeal['id']}", message.message_id, from_id=OTHER_CHAT)  # Boris presses Anna's
    stack.press(CHAT, f"c:{appeal['id']}", message.message_id, from_id=999_999)  # a stranger
    stack.press(CHAT, "c:ap_../../x", message.message_id)  # forged data
    stack.press(CHAT, "z:anything", message.message_id)
    assert stack.api.get(f"/appeals/{appeal['id']}").body["status"] == "active"
    assert stack.answers() == [
        "This appeal is not yours: nothing was changed.",
        "This chat is not linked to an operator: nothing was changed.",
        "This button is not valid any more.",
        "This button is not valid any more.",
    ]


def test_GIVEN_an_appeal_taken_back_WHEN_the_stream_runs_THEN_the_message_loses_its_buttons(stack: Stack) -> None:
    anna, src = one_operator_source(stack)
    stack.link(anna["id"], CHAT)
    stack.api.appeal(src["id"])
    stack.feed()
    message = next(m for m in stack.fake.messages(CHAT) if m.callback_data)
    stack.api.patch(f"/operators/{anna['id']}?redistribute=true", {"is_active": False})
    stack.feed()
    edited = stack.fake.message(CHAT, message.message_id, token=stack.token)
    assert edited.buttons == [] and "Taken back" in edited.text


def test_GIVEN_a_linked_operator_WHEN_pause_then_resume_THEN_it_goes_paused_and_back(stack: Stack) -> None:
    anna, src = one_operator_source(stack)
    stack.link(anna["id"], CHAT)
    appeal = stack.api.appeal(src["id"])
    stack.say(CHAT, "/pause")
    paused = stack.api.get(f"/operators/{anna['id']}").body
    assert (paused["is_active"], paused["presence"]) == (True, "paused")
    assert stack.api.get(f"/appeals/{appeal['id']}").body["status"] == "waiting"
    assert "1 unaccepted appeal went back" in stack.fake.messages(CHAT)[-1].text
    stack.say(CHAT, "/resume")
    assert stack.api.get(f"/operators/{anna['id']}").body["presence"] == "available"
    assert stack.api.get(f"/appeals/{appeal['id']}").body["status"] == "active"


def test_GIVEN_a_wrong_or_missing_secret_WHEN_an_update_arrives_THEN_401_and_nothing_done(stack: Stack) -> None:
    anna, _ = one_operator_source(stack)
    code = stack.api.post(f"/operators/{anna['id']}/telegram-link").body["code"]
    update = stack.fake.start_update(stack.token, CHAT, code)
    assert stack.post_update(update, secret="wrong")[0] == 401
    assert stack.post_update(update, secret=None)[0] == 401
    assert stack.fake.calls("sendMessage") == []
    assert stack.api.get(f"/operators/{anna['id']}").body["telegram_chat_id"] is None


def test_GIVEN_an_operator_WHEN_it_asks_for_a_link_code_THEN_only_its_own(stack: Stack) -> None:
    anna, _ = one_operator_source(stack)
    boris = stack.api.operator("Boris")
    as_anna = stack.api.as_(operator_token(stack.dev_keys, anna["id"]))
    assert as_anna.post(f"/operators/{anna['id']}/telegram-link").status == 201
    assert as_anna.post(f"/operators/{boris['id']}/telegram-link").status == 403
    assert as_anna.call("DELETE", f"/operators/{anna['id']}/telegram-link").status == 403


def test_GIVEN_an_admin_WHEN_it_patches_and_unlinks_a_chat_THEN_messages_follow(stack: Stack) -> None:
    anna, src = one_operator_source(stack)
    assert stack.api.patch(f"/operators/{anna['id']}", {"telegram_chat_id": CHAT, "locale": "ru"}).status == 200
    stack.api.appeal(src["id"])
    stack.feed()
    assert "Новое обращение" in next(m for m in stack.fake.messages(CHAT) if m.callback_data).text
    assert stack.api.call("DELETE", f"/operators/{anna['id']}/telegram-link").status == 204
    assert stack.api.get(f"/operators/{anna['id']}").body["telegram_chat_id"] is None
    stack.api.appeal(src["id"])
    stack.feed()
    assert len([m for m in stack.fake.messages(CHAT) if m.callback_data]) == 1


def test_GIVEN_the_bot_at_work_WHEN_every_line_is_captured_THEN_no_personal_data_or_token_is_logged(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.log_capture import captured_logs

    name, text = "Zebulon Quixwhistle", "Marmalade heliotrope <invoice> & ring me"
    capsys.readouterr()
    with captured_logs() as logs:
        anna = stack.api.operator("Philippa Grimsditch", max_load=5)
        src = stack.api.source()
        stack.api.weights(src["id"], {anna["id"]: 10})
        stack.link(anna["id"], CHAT)
        stack.fake.fail_next("sendMessage", 1, error_code=502, description=f"Bad Gateway for {name}")
        appeal = stack.api.appeal(src["id"], lead_name=name, message=text)
        with pytest.raises(Exception, match="Bad Gateway"):
            stack.feed()
        stack.client.lambda_.invoke("appeal_events", stack.invocations[-1])
        message = next(m for m in stack.fake.messages(CHAT) if m.callback_data)
        stack.press(CHAT, f"c:{appeal['id']}", message.message_id)
        stack.say(CHAT, "/pause")
    printed = capsys.readouterr()
    everything = "\n".join((logs.text(), printed.out, printed.err))
    for secret in (name, "Quixwhistle", "Marmalade heliotrope", "Grimsditch", stack.token, str(CHAT)):
        assert secret not in everything, [line for line in everything.splitlines() if secret in line][:3]
    assert "operator notified" in everything  # the work was logged, by ids


ADMINS_CHAT = -100_500


def test_GIVEN_an_escalation_chat_WHEN_an_appeal_lapses_four_times_THEN_the_admins_get_one_message(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESCALATION_CHAT_ID", str(ADMINS_CHAT))
    people = [stack.api.operator(name, max_load=3, is_active=index == 0) for index, name in enumerate("ABCDE")]
    src = stack.api.source(response_sla_seconds=60)
    stack.api.weights(src["id"], {person["id"]: 10 for person in people})
    appeal = stack.api.appeal(src["id"], lead_name="Ivan <b>&</b>")
    start = utc_now()
    for run, next_one in enumerate(people[1:5], start=1):
        if run < 4:
            assert stack.api.patch(f"/operators/{next_one['id']}", {"is_active": True}).status == 200
        run_reassignment(now=start + run * timedelta(seconds=90))
    assert stack.api.get(f"/appeals/{appeal['id']}").body["escalated"] is True

    stack.feed()
    stack._invoke(stack.invocations[-1])  # Lambda redelivers the batch

    (message,) = stack.fake.messages(ADMINS_CHAT)
    assert "Escalation" in message.text
    assert "Not accepted in time 4 times" in message.text
    assert "Ivan &lt;b&gt;&amp;&lt;/b&gt;" in message.text  # the lead's text cannot break the formatting


def test_GIVEN_an_operator_an_admin_deactivated_WHEN_it_sends_resume_THEN_it_stays_inactive(stack: Stack) -> None:
    anna, _ = one_operator_source(stack)
    stack.link(anna["id"], CHAT)
    assert stack.api.patch(f"/operators/{anna['id']}", {"is_active": False}).status == 200

    stack.say(CHAT, "/resume")

    assert stack.api.get(f"/operators/{anna['id']}").body["is_active"] is False
    assert "resumed" not in stack.fake.messages(CHAT)[-1].text.lower()
    assert "You are back" not in stack.fake.messages(CHAT)[-1].text


def test_GIVEN_a_paused_operator_deactivated_by_an_admin_meanwhile_WHEN_it_resumes_itself_THEN_403_and_inactive(
    stack: Stack,
) -> None:
    anna, _ = one_operator_source(stack)
    as_anna = stack.api.as_(operator_token(stack.dev_keys, anna["id"]))
    assert as_anna.patch("/me", {"is_active": False}).status == 200
    # The admin's deactivation lands after Anna's token was checked (it was still a self-pause then):
    # the write's condition, not that earlier check, decides.
    assert stack.api.patch(f"/operators/{anna['id']}", {"is_active": False}).status == 200

    with pytest.raises(Forbidden):
        update_operator(anna["id"], OperatorPatch(is_active=True), by_self=True)

    assert stack.api.get(f"/operators/{anna['id']}").body["is_active"] is False
    assert as_anna.patch("/me", {"is_active": True}).status in (401, 403)


def test_GIVEN_an_assignment_notice_WHEN_the_operator_replies_to_it_THEN_the_lead_gets_the_text_through_the_sources_bot(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_API_URL", "https://crm.example.test/api")
    operator, source = one_operator_source(stack)
    shop = stack.fake.add_bot("shop_bot")
    assert stack.api.post(f"/sources/{source['id']}/telegram/connect", {"bot_token": shop}).status == 200
    stack.link(operator["id"], CHAT)
    appeal = stack.api.appeal(source["id"], lead_external_id="tg:4242")
    stack.feed()
    notice = stack.fake.messages(CHAT, token=stack.token)[-1]

    reply = stack.fake.message_update(stack.token, CHAT, "Yes, we deliver", reply_to_message_id=notice.message_id)
    assert stack.post_update(reply)[0] == 200
    stack.post_update(reply)  # Telegram redelivers: still one message to the lead
    stray = stack.fake.message_update(stack.token, OTHER_CHAT, "me too", reply_to_message_id=notice.message_id)
    stack.post_update(stray)  # not the notified chat: nothing relayed

    assert [m.text for m in stack.fake.messages(4242, token=shop)] == ["Yes, we deliver"]
    assert "Sent to the lead" in stack.fake.messages(CHAT, token=stack.token)[-1].text
    conversation = stack.api.get(f"/appeals/{appeal['id']}/messages").body["items"]
    assert [(m["direction"], m["status"], m["author_operator_id"]) for m in conversation] == [
        ("in", None, None),
        ("out", "sent", operator["id"]),
    ]
    assert stack.api.get(f"/appeals/{appeal['id']}").body["accepted_at"] is not None


def test_GIVEN_a_held_appeal_WHEN_the_lead_writes_again_THEN_the_operator_gets_it_once_and_a_reply_reaches_the_lead(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_API_URL", "https://crm.example.test/api")
    operator, source = one_operator_source(stack, sticky=True)
    shop = stack.fake.add_bot("shop_bot")
    assert stack.api.post(f"/sources/{source['id']}/telegram/connect", {"bot_token": shop}).status == 200
    stack.link(operator["id"], CHAT)
    appeal = stack.api.appeal(source["id"], lead_external_id="tg:4343", lead_name="Ivan")
    stack.feed()
    notice = stack.fake.messages(CHAT, token=stack.token)[-1]

    again = stack.api.post(
        "/appeals", appeal_body(source["id"], lead_external_id="tg:4343", message="And <b>price</b>?")
    )
    assert again.body["id"] == appeal["id"]  # sticky: the same conversation
    stack.feed()
    stack._invoke(stack.invocations[-1])  # Lambda redelivers the batch

    follow_ups = [m for m in stack.fake.messages(CHAT, token=stack.token) if "New message from the lead" in m.text]
    assert len(follow_ups) == 1
    (follow_up,) = follow_ups
    assert "And &lt;b&gt;price&lt;/b&gt;?" in follow_up.text and "Ivan" in follow_up.text
    assert follow_up.reply_to_message_id == notice.message_id

    reply = stack.fake.message_update(stack.token, CHAT, "It is 10 EUR", reply_to_message_id=follow_up.message_id)
    assert stack.post_update(reply)[0] == 200

    assert [m.text for m in stack.fake.messages(4343, token=shop)] == ["It is 10 EUR"]
    directions = [m["direction"] for m in stack.api.get(f"/appeals/{appeal['id']}/messages").body["items"]]
    assert directions == ["in", "in", "out"]
