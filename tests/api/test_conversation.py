"""Every message kept, answering the lead from the CRM, and connecting a source's Telegram bot
(issue 21): a fake Bot API on loopback, moto for DynamoDB and SSM."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.access.secrets import bot_token_parameter
from chalicelib.models import count_requests
from scripts.local.fakes.telegram import FakeTelegram
from tests.api.test_telegram_webhook import post_update, queue  # noqa: F401  (fixture)
from tests.log_capture import captured_logs
from tests.support import Api, appeal_body, operator_token

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scripts.local.dev_auth import DevKeys

PUBLIC = "https://crm.example.test/api"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegram]:
    with FakeTelegram() as telegram:
        monkeypatch.setenv("TELEGRAM_API_BASE", telegram.base_url)
        monkeypatch.setenv("PUBLIC_API_URL", PUBLIC)
        yield telegram


class Team:
    def __init__(self, api: Api, dev_keys: DevKeys, fake: FakeTelegram) -> None:
        self.api, self.fake = api, fake
        self.anna, self.boris = api.operator("Anna"), api.operator("Boris")
        self.source = api.source("Telegram", sticky=True)
        self.other = api.source("Web form")
        api.weights(self.source["id"], {self.anna["id"]: 1})
        api.weights(self.other["id"], {self.boris["id"]: 1})
        self.as_anna = api.as_(operator_token(dev_keys, self.anna["id"]))
        self.as_boris = api.as_(operator_token(dev_keys, self.boris["id"]))
        self.token = fake.add_bot("shop_bot")

    def connect(self) -> dict[str, Any]:
        reply = self.api.post(f"/sources/{self.source['id']}/telegram/connect", {"bot_token": self.token})
        assert reply.status == 200, reply.body
        return reply.body


@pytest.fixture
def team(api: Api, dev_keys: DevKeys, fake: FakeTelegram) -> Team:
    return Team(api, dev_keys, fake)


def messages(api: Api, appeal_id: str, **query: Any) -> Any:
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    reply = api.get(f"/appeals/{appeal_id}/messages" + (f"?{suffix}" if suffix else ""))
    assert reply.status == 200, reply.body
    return reply.body


def test_GIVEN_a_sticky_source_WHEN_the_lead_sends_two_messages_THEN_both_are_listed_oldest_first(team: Team) -> None:
    first = team.api.post("/appeals", appeal_body(team.source["id"], lead_external_id="tg:501", message="Hi")).body
    second = team.api.post(
        "/appeals", appeal_body(team.source["id"], lead_external_id="tg:501", message="How much?", media=None)
    )
    assert second.status == 200 and second.body["id"] == first["id"]

    page = messages(team.as_anna, first["id"])

    assert [(m["id"], m["direction"], m["text"], m["sender"]) for m in page["items"]] == [
        (1, "in", "Hi", "tg:501"),
        (2, "in", "How much?", "tg:501"),
    ]
    assert page["next"] is None


def test_GIVEN_a_long_conversation_WHEN_paged_THEN_pages_follow_in_order_and_cost_two_requests(team: Team) -> None:
    appeal = team.api.post("/appeals", appeal_body(team.source["id"], lead_external_id="tg:502", message="m1")).body
    for n in range(2, 6):
        team.api.post("/appeals", appeal_body(team.source["id"], lead_external_id="tg:502", message=f"m{n}"))

    with count_requests() as counts:
        first = messages(team.api, appeal["id"], limit=2)
    second = messages(team.api, appeal["id"], limit=2, cursor=first["next"])
    third = messages(team.api, appeal["id"], limit=2, cursor=second["next"])

    assert [m["text"] for page in (first, second, third) for m in page["items"]] == ["m1", "m2", "m3", "m4", "m5"]
    assert third["next"] is None
    assert counts == {"GetItem": 1, "BatchGetItem": 1}
    assert team.api.get(f"/appeals/{appeal['id']}/messages?cursor=nope").status == 400


def test_GIVEN_a_redelivered_message_WHEN_posted_again_THEN_it_is_stored_once(team: Team) -> None:
    body = appeal_body(team.source["id"], lead_external_id="tg:503", message="first")
    appeal = team.api.post("/appeals", body).body
    follow_up = appeal_body(team.source["id"], lead_external_id="tg:503", message="second")
    for _ in range(3):
        team.api.post("/appeals", body)
        team.api.post("/appeals", follow_up)

    page = messages(team.api, appeal["id"])

    assert [m["text"] for m in page["items"]] == ["first", "second"]
    assert team.api.get(f"/appeals/{appeal['id']}").body["message_count"] == 2


def test_GIVEN_another_operators_appeal_WHEN_its_messages_are_read_or_answered_THEN_404(team: Team) -> None:
    appeal = team.api.appeal(team.source["id"])

    assert team.as_boris.get(f"/appeals/{appeal['id']}/messages").status == 404
    reply = team.as_boris.post(f"/appeals/{appeal['id']}/messages", {"text": "hi", "client_message_id": "b1"})
    assert reply.status == 404
    assert messages(team.as_anna, appeal["id"])["items"][0]["direction"] == "in"


def test_GIVEN_a_connected_bot_WHEN_the_operator_replies_THEN_the_lead_gets_it_through_the_sources_bot(
    team: Team,
) -> None:
    team.connect()
    appeal = team.api.appeal(team.source["id"], lead_external_id="tg:504")

    reply = team.as_anna.post(f"/appeals/{appeal['id']}/messages", {"text": "Hello <Ivan>", "client_message_id": "c1"})

    assert reply.status == 201, reply.body
    assert (reply.body["status"], reply.body["direction"], reply.body["id"]) == ("sent", "out", 2)
    assert reply.body["author_operator_id"] == team.anna["id"]
    sends = team.fake.calls("sendMessage")
    assert len(sends) == 1 and sends[0].token == team.token  # the source's own bot: its token in the URL path
    assert sends[0].params["chat_id"] in (504, "504") and sends[0].params["text"] == "Hello <Ivan>"
    assert team.fake.messages(504, token=team.token)[0].text == "Hello <Ivan>"
    assert reply.body["channel_message_id"] == str(team.fake.messages(504, token=team.token)[0].message_id)
    # The first response accepts the appeal: the SLA clock stops.
    assert team.api.get(f"/appeals/{appeal['id']}").body["accepted_at"] is not None


def test_GIVEN_a_reply_WHEN_sent_again_with_the_same_client_message_id_THEN_once_and_409_for_other_text(
    team: Team,
) -> None:
    team.connect()
    appeal = team.api.appeal(team.source["id"], lead_external_id="tg:505")
    path = f"/appeals/{appeal['id']}/messages"

    first = team.as_anna.post(path, {"text": "Price is 10", "client_message_id": "same"})
    again = team.as_anna.post(path, {"text": "Price is 10", "client_message_id": "same"})
    other = team.as_anna.post(path, {"text": "Price is 20", "client_message_id": "same"})

    assert (first.status, again.status, other.status) == (201, 200, 409)
    assert again.body == first.body
    assert len(team.fake.calls("sendMessage")) == 1
    assert [m["direction"] for m in messages(team.api, appeal["id"])["items"]] == ["in", "out"]


def test_GIVEN_the_lead_blocked_the_bot_WHEN_replying_THEN_failed_blocked_and_no_retry(team: Team) -> None:
    team.connect()
    appeal = team.api.appeal(team.source["id"], lead_external_id="tg:506")
    team.fake.block_chat(506)

    reply = team.as_anna.post(f"/appeals/{appeal['id']}/messages", {"text": "Hi", "client_message_id": "x"})

    assert reply.status == 201
    assert (reply.body["status"], reply.body["error"], reply.body["retryable"]) == (
        "failed",
        "blocked: the lead blocked the bot",
        False,
    )
    assert len(team.fake.calls("sendMessage")) == 1


def test_GIVEN_telegram_throttles_WHEN_replying_THEN_retry_after_is_honoured_once(team: Team) -> None:
    team.connect()
    appeal = team.api.appeal(team.source["id"], lead_external_id="tg:507")
    team.fake.throttle_next("sendMessage", retry_after=0)
    sent = team.as_anna.post(f"/appeals/{appeal['id']}/messages", {"text": "one", "client_message_id": "t1"})
    team.fake.throttle_next("sendMessage", times=2, retry_after=0)
    failed = team.as_anna.post(f"/appeals/{appeal['id']}/messages", {"text": "two", "client_message_id": "t2"})
    team.fake.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    down = team.as_anna.post(f"/appeals/{appeal['id']}/messages", {"text": "three", "client_message_id": "t3"})

    assert sent.body["status"] == "sent"
    assert (failed.body["status"], failed.body["retryable"]) == ("failed", True)
    assert (down.body["status"], down.body["retryable"]) == ("failed", True)
    assert len(team.fake.calls("sendMessage")) == 5


def test_GIVEN_a_source_without_a_telegram_bot_WHEN_replying_THEN_pending_until_its_bot_reports(
    team: Team, dev_keys: DevKeys
) -> None:
    appeal = team.api.appeal(team.other["id"])
    as_boris = team.as_boris

    reply = as_boris.post(f"/appeals/{appeal['id']}/messages", {"text": "Hello", "client_message_id": "w1"})
    assert (reply.status, reply.body["status"]) == (201, "pending")
    bot = team.api.as_(team.api.post(f"/sources/{team.other['id']}/keys", {}).body["api_key"])
    foreign = team.api.as_(team.api.post(f"/sources/{team.source['id']}/keys", {}).body["api_key"])
    status_path = f"/appeals/{appeal['id']}/messages/{reply.body['id']}/status"

    assert foreign.post(status_path, {"status": "sent"}).status == 404
    report = bot.post(status_path, {"status": "sent", "channel_message_id": "wa-1"})

    assert report.status == 200, report.body
    assert (report.body["status"], report.body["channel_message_id"]) == ("sent", "wa-1")
    assert bot.post(status_path, {"status": "failed", "error": "late"}).status == 409
    assert bot.post(f"/appeals/{appeal['id']}/messages/1/status", {"status": "sent"}).status == 404  # inbound


def stream_record(appeal_id: str, seq: int) -> dict[str, Any]:
    """The appeals stream's INSERT record of a message item, as Lambda hands it."""
    from chalicelib.models import AppealMessage
    from chalicelib.models.messages import message_key

    key = message_key(appeal_id, seq)
    image = AppealMessage.get(key).serialize() | {"appeal_id": {"S": key}}
    return {"eventName": "INSERT", "dynamodb": {"NewImage": image, "Keys": {"appeal_id": {"S": key}}}}


def test_GIVEN_a_reply_for_the_sources_own_bot_WHEN_streamed_THEN_one_message_outbound_event_only_for_it(
    team: Team,
) -> None:
    from chalicelib.events.records import appeal_events

    team.connect()
    other = team.api.appeal(team.other["id"])
    telegram = team.api.appeal(team.source["id"], lead_external_id="tg:520")
    for_bot = team.api.post(f"/appeals/{other['id']}/messages", {"text": "Hello", "client_message_id": "e1"}).body
    sent = team.api.post(f"/appeals/{telegram['id']}/messages", {"text": "Hi", "client_message_id": "e2"}).body

    events = appeal_events(stream_record(other["id"], for_bot["id"]))
    assert appeal_events(stream_record(telegram["id"], sent["id"])) == []  # we sent it ourselves
    assert appeal_events(stream_record(other["id"], 1)) == []  # the lead's own message

    assert [(e.type, e.id) for e in events] == [("message.outbound", f"{other['id']}:message.outbound:2")]
    assert events[0].data["source_id"] == team.other["id"] and "Hello" not in json.dumps(events[0].data)
    assert events[0].data["status_url_path"] == f"/appeals/{other['id']}/messages/2/status"
    assert events[0].contact["text"] == "Hello"


@pytest.mark.usefixtures("queue")
def test_GIVEN_a_bot_token_WHEN_connecting_THEN_webhook_set_token_write_only_and_never_shown(team: Team) -> None:
    import boto3

    with captured_logs() as logs:
        body = team.connect()
        source = team.api.get(f"/sources/{team.source['id']}").body
        appeal = team.api.appeal(team.source["id"], lead_external_id="tg:508")
        team.as_anna.post(f"/appeals/{appeal['id']}/messages", {"text": "Hi", "client_message_id": "l1"})

    hook = team.fake.webhook(team.token)
    assert hook is not None and hook.url == f"{PUBLIC}/channels/telegram/{team.source['id']}"
    assert body == {
        "source_id": team.source["id"],
        "bot_username": "shop_bot",
        "bot_link": "https://t.me/shop_bot",
        "webhook_url": hook.url,
    }
    secret = team.token.partition(":")[2]
    assert secret not in json.dumps(source) and secret not in json.dumps(body)
    assert secret not in logs.text()
    stored = boto3.client("ssm", region_name="us-east-1").get_parameter(
        Name=bot_token_parameter(team.source["id"]), WithDecryption=True
    )["Parameter"]
    assert (stored["Type"], stored["Value"]) == ("SecureString", team.token)
    # Telegram's updates now pass the webhook's secret check.
    status, ack = post_update(team.source["id"], team.fake.message_update(team.token, 509, "hi"), hook.secret_token)
    assert (status, ack["enqueued"]) == (200, True)


def test_GIVEN_a_wrong_token_WHEN_connecting_THEN_422_with_a_clear_message(team: Team) -> None:
    reply = team.api.post(f"/sources/{team.source['id']}/telegram/connect", {"bot_token": "123:not-a-real-token"})
    malformed = team.api.post(f"/sources/{team.source['id']}/telegram/connect", {"bot_token": "nope"})

    assert reply.status == 422 and "BotFather" in reply.body["message"]
    assert malformed.status == 422
    assert team.fake.webhook(team.token) is None


def test_GIVEN_a_connected_bot_WHEN_disconnected_THEN_webhook_deleted_and_token_forgotten(team: Team) -> None:
    import boto3

    team.connect()

    reply = team.api.call("DELETE", f"/sources/{team.source['id']}/telegram/connect")

    assert reply.status == 204
    assert team.fake.webhook(team.token) is None
    ssm = boto3.client("ssm", region_name="us-east-1")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=bot_token_parameter(team.source["id"]))
    assert team.api.call("DELETE", f"/sources/{team.source['id']}/telegram/connect").status == 404


def test_GIVEN_a_telegram_update_with_a_handle_WHEN_ingested_THEN_username_and_language_are_on_the_lead(
    team: Team, request: pytest.FixtureRequest
) -> None:
    from chalice.test import Client

    from app import app
    from tests.support import sqs_event

    drain = request.getfixturevalue("queue")
    hook = team.connect()
    secret = team.fake.webhook(team.token)
    assert secret is not None and hook["webhook_url"].endswith(team.source["id"])
    update = team.fake.message_update(team.token, 610, "Hi", first_name="Ivan", username="ivan_p", language_code="uk")
    assert post_update(team.source["id"], update, secret.secret_token)[0] == 200
    with Client(app, stage_name="dev") as client:
        assert client.lambda_.invoke("intake", sqs_event(drain(as_records=True))).payload == {"batchItemFailures": []}

    lead = team.api.get("/leads?external_id=tg:610").body["items"][0]
    mine = team.as_anna.get(f"/leads/{lead['id']}").body

    assert (lead["username"], lead["language_code"]) == ("ivan_p", "uk")
    assert (mine["username"], mine["contacts"][0]["username"]) == ("ivan_p", "ivan_p")
    assert team.api.get(f"/sources/{team.source['id']}").body["telegram_bot_username"] == "shop_bot"
