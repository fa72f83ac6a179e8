"""`make telegram-sandbox`: the fake Bot API with controls a person drives with curl, alone and against `make run`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
import requests

from scripts.local.dev_auth import DevKeys
from scripts.local.ephemeral_stack import ephemeral_stack
from scripts.local.fakes.telegram import SECRET_HEADER
from scripts.local.fakes.webhook_receiver import WebhookReceiver
from scripts.local.telegram_sandbox import OPERATOR_BOT, SandboxTelegram, main, sandbox_token

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SECRET = "sandbox-secret"


@pytest.fixture
def sandbox() -> Iterator[SandboxTelegram]:
    with SandboxTelegram(bots=(OPERATOR_BOT, "acme_leads_bot")) as running:
        yield running


def _bot_api(sandbox: SandboxTelegram, token: str, method: str, **params: Any) -> Any:
    reply = requests.post(f"{sandbox.base_url}/bot{token}/{method}", json=params, timeout=10)
    assert reply.json()["ok"], reply.text
    return reply.json()["result"]


def test_GIVEN_two_runs_WHEN_reading_the_bots_THEN_their_tokens_are_the_same_and_shaped_like_telegrams() -> None:
    with SandboxTelegram(bots=(OPERATOR_BOT,)) as first, SandboxTelegram(bots=(OPERATOR_BOT,)) as second:
        tokens = [requests.get(f"{s.base_url}/sandbox/bots", timeout=10).json()[0]["token"] for s in (first, second)]

    assert tokens[0] == tokens[1] == sandbox_token(0, OPERATOR_BOT)
    bot_id, _, secret = tokens[0].partition(":")
    assert bot_id.isdigit() and secret


def test_GIVEN_a_webhook_WHEN_a_person_writes_and_presses_through_the_sandbox_THEN_the_webhook_gets_telegrams_updates(
    sandbox: SandboxTelegram,
) -> None:
    token = sandbox.token_of(OPERATOR_BOT)
    assert token is not None
    with WebhookReceiver() as receiver:
        _bot_api(sandbox, token, "setWebhook", url=receiver.url, secret_token=SECRET)
        chat_url = f"{sandbox.base_url}/sandbox/chats/1001/messages"
        written = requests.post(chat_url, json={"text": "/start abc", "first_name": "Anna"}, timeout=10)
        _bot_api(
            sandbox,
            token,
            "sendMessage",
            chat_id=1001,
            text="New appeal",
            reply_markup={"inline_keyboard": [[{"text": "Accept", "callback_data": "acc:ap_1"}]]},
        )
        chat = requests.get(f"{sandbox.base_url}/sandbox/chats/1001/messages", timeout=10).json()
        pressed = requests.post(
            f"{sandbox.base_url}/sandbox/chats/1001/press", json={"message_id": 2, "button": "Accept"}, timeout=10
        )
        updates = [delivery.json for delivery in receiver.deliveries]
        secrets = {delivery.header(SECRET_HEADER) for delivery in receiver.deliveries}

    assert written.status_code == 200 and written.json()["webhook_status"] == 200
    assert pressed.status_code == 200 and pressed.json()["webhook_status"] == 200
    assert [(m["from_bot"], m["text"]) for m in chat] == [(False, "/start abc"), (True, "New appeal")]
    assert chat[1]["buttons"] == [{"text": "Accept", "callback_data": "acc:ap_1"}]
    assert updates[0]["message"]["text"] == "/start abc"
    assert updates[0]["message"]["from"]["first_name"] == "Anna"
    assert updates[1]["callback_query"]["data"] == "acc:ap_1"
    assert updates[1]["callback_query"]["message"]["message_id"] == 2
    assert secrets == {SECRET}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/sandbox/chats/1001/messages", {"text": "hi"}, 409),  # no webhook yet
        ("POST", "/sandbox/chats/1001/messages", {"text": ""}, 422),
        ("POST", "/sandbox/chats/1001/messages", {"text": "hi", "bot": "nobody_bot"}, 404),
        ("POST", "/sandbox/chats/1001/press", {"message_id": 9, "button": "Accept"}, 404),
        ("POST", "/sandbox/chats/1001/press", {"message_id": "9", "button": "Accept"}, 422),
        ("POST", "/sandbox/chats/1001/press", {"button": "Accept"}, 404),  # no message shows it
        ("POST", "/sandbox/chats/1001/nothing", {}, 404),
        ("DELETE", "/sandbox/chats/1001/messages", None, 405),
    ],
    ids=[
        "no-webhook",
        "empty-text",
        "unknown-bot",
        "unknown-message",
        "bad-press",
        "no-such-button",
        "unknown-route",
        "delete",
    ],
)
def test_GIVEN_a_wrong_control_call_WHEN_sent_THEN_it_is_refused_with_a_reason_and_nothing_is_delivered(
    sandbox: SandboxTelegram, method: str, path: str, body: Any, status: int
) -> None:
    reply = requests.request(method, sandbox.base_url + path, json=body, timeout=10)

    assert reply.status_code == status
    assert reply.json()["error"]
    assert sandbox.calls() == []


def test_GIVEN_a_body_that_is_not_json_WHEN_writing_THEN_400(sandbox: SandboxTelegram) -> None:
    reply = requests.post(f"{sandbox.base_url}/sandbox/chats/1/messages", data=b"{nope", timeout=10)

    assert reply.status_code == 400


def test_GIVEN_a_taken_port_WHEN_starting_the_sandbox_THEN_it_says_so_and_exits_1(
    sandbox: SandboxTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = int(sandbox.base_url.rsplit(":", 1)[1])

    assert main(["--port", str(taken)]) == 1
    assert "TELEGRAM_SANDBOX_PORT" in capsys.readouterr().err


def _wait_for(predicate: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("not within the timeout")


def test_GIVEN_make_run_on_the_sandbox_WHEN_an_appeal_arrives_THEN_the_operator_gets_it_in_telegram_and_accepts_it(
    sandbox: SandboxTelegram, tmp_path: Path
) -> None:
    token = sandbox.token_of(OPERATOR_BOT)
    assert token is not None
    environment = {
        "TELEGRAM_API_BASE": sandbox.base_url,
        "OPERATOR_BOT_TOKEN": token,
        "OPERATOR_BOT_WEBHOOK_SECRET": SECRET,
    }
    with ephemeral_stack(DevKeys.load_or_create(tmp_path), environment) as stack:
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {stack.token('admin')}"

        def ok(method: str, path: str, body: Any = None) -> Any:
            reply = api.request(method, stack.base_url + path, json=body, timeout=30)
            assert reply.status_code < 300, (method, path, reply.status_code, reply.text)
            return reply.json() if reply.content else None

        # GIVEN the README's steps: the webhook set, an operator linked by /start <code>
        _bot_api(sandbox, token, "setWebhook", url=f"{stack.base_url}/telegram/operator-bot", secret_token=SECRET)
        anna = ok("POST", "/operators", {"name": "Anna", "max_load": 3})
        code = ok("POST", f"/operators/{anna['id']}/telegram-link")["code"]
        linked = requests.post(
            f"{sandbox.base_url}/sandbox/chats/1001/messages", json={"text": f"/start {code}"}, timeout=30
        )
        assert linked.json()["webhook_status"] == 200
        source = ok("POST", "/sources", {"name": "Web form"})
        ok("PUT", f"/sources/{source['id']}/weights", [{"operator_id": anna["id"], "weight": 1}])

        # WHEN a lead writes
        appeal = ok(
            "POST", "/appeals", {"lead_external_id": "web:sandbox-1", "source_id": source["id"], "message": "Hi <3 & *"}
        )

        # THEN the stream brings Anna the assignment message, and Accept there stops the SLA clock
        def assignment() -> dict[str, Any] | None:
            chat = requests.get(f"{sandbox.base_url}/sandbox/chats/1001/messages", timeout=10).json()
            return next((m for m in chat if m["from_bot"] and m["buttons"] and "Hi" in m["text"]), None)

        message = _wait_for(assignment)
        assert "Hi &lt;3 &amp; *" in message["text"] or "Hi <3 & *" in message["text"]
        pressed = requests.post(f"{sandbox.base_url}/sandbox/chats/1001/press", json={"button": "accept"}, timeout=30)
        assert pressed.json() == {**pressed.json(), "webhook_status": 200, "message_id": message["message_id"]}
        after = ok("GET", f"/appeals/{appeal['id']}")
        assert after["status"] == "active"
        assert after["accepted_at"] is not None


def test_GIVEN_make_run_on_the_sandbox_WHEN_a_lead_writes_twice_to_a_connected_bot_THEN_both_answers_reach_it(
    tmp_path: Path,
) -> None:
    """Issue 21's trial on a fresh `make run`: connect a source's bot, a lead writes twice, the
    operator answers from the operator bot and from the API, the lead gets both through the
    source's bot, and the operator qualifies its own lead without admin rights."""
    with SandboxTelegram(bots=(OPERATOR_BOT, "acme_leads_bot")) as sandbox:
        operator_bot, leads_bot = sandbox.token_of(OPERATOR_BOT), sandbox.token_of("acme_leads_bot")
        assert operator_bot is not None and leads_bot is not None
        environment = {
            "TELEGRAM_API_BASE": sandbox.base_url,
            "OPERATOR_BOT_TOKEN": operator_bot,
            "OPERATOR_BOT_WEBHOOK_SECRET": SECRET,
        }
        with ephemeral_stack(DevKeys.load_or_create(tmp_path), environment) as stack:
            admin = _Api(stack.base_url, stack.token("admin"))
            _bot_api(
                sandbox, operator_bot, "setWebhook", url=f"{stack.base_url}/telegram/operator-bot", secret_token=SECRET
            )
            anna = admin.ok("POST", "/operators", {"name": "Anna", "max_load": 3})
            code = admin.ok("POST", f"/operators/{anna['id']}/telegram-link")["code"]
            sandbox_post(sandbox, "/sandbox/chats/1001/messages", {"text": f"/start {code}"})
            source = admin.ok("POST", "/sources", {"name": "Telegram", "sticky": True})
            admin.ok("PUT", f"/sources/{source['id']}/weights", [{"operator_id": anna["id"], "weight": 1}])

            # GIVEN the source's bot connected in one step
            connected = admin.ok("POST", f"/sources/{source['id']}/telegram/connect", {"bot_token": leads_bot})
            assert connected["bot_username"] == "acme_leads_bot"
            assert leads_bot not in str(connected)

            # WHEN the lead writes twice
            lead_chat = "/sandbox/chats/5005/messages?bot=acme_leads_bot"
            for text in ("Hello, what does it cost?", "And is delivery free?"):
                sandbox_post(sandbox, "/sandbox/chats/5005/messages", {"text": text, "bot": "acme_leads_bot"})

            # THEN the operator bot announced it, and the conversation holds both messages
            notice = _wait_for(lambda: _bot_message_with_buttons(sandbox, 1001))
            as_anna = _Api(stack.base_url, stack.token("operator", anna["id"]))
            appeal_id = _wait_for(lambda: _first_appeal(as_anna))
            texts = _wait_for(lambda: _inbound_texts(admin, appeal_id, 2))
            assert texts == ["Hello, what does it cost?", "And is delivery free?"]

            # WHEN Anna answers from the operator bot (a reply to the notice) and from the API
            sandbox_post(
                sandbox,
                "/sandbox/chats/1001/messages",
                {"text": "From the bot: 10 EUR", "reply_to_message_id": notice["message_id"]},
            )
            as_anna.ok(
                "POST", f"/appeals/{appeal_id}/messages", {"text": "From the CRM: yes", "client_message_id": "c1"}
            )

            # THEN the lead gets both through the source's bot
            def answers() -> list[str] | None:
                chat = requests.get(sandbox.base_url + lead_chat, timeout=10).json()
                found = [m["text"] for m in chat if m["from_bot"]]
                return found if len(found) >= 2 else None

            assert sorted(_wait_for(answers)) == ["From the CRM: yes", "From the bot: 10 EUR"]

            # AND Anna qualifies her own lead without admin rights
            lead_id = admin.ok("GET", f"/appeals/{appeal_id}")["lead_id"]
            for stage in ("contacted", "qualified"):
                as_anna.ok("POST", f"/leads/{lead_id}/stage", {"stage": stage})
            assert admin.ok("GET", f"/leads/{lead_id}")["stage"] == "qualified"


class _Api:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        reply = self.session.request(method, self.base_url + path, json=body, timeout=30)
        assert reply.status_code < 300, (method, path, reply.status_code, reply.text)
        return reply.json() if reply.content else None


def sandbox_post(sandbox: SandboxTelegram, path: str, body: dict[str, Any]) -> None:
    reply = requests.post(sandbox.base_url + path, json=body, timeout=30)
    assert reply.status_code == 200 and reply.json()["webhook_status"] == 200, reply.text


def _bot_message_with_buttons(sandbox: SandboxTelegram, chat_id: int) -> dict[str, Any] | None:
    chat = requests.get(f"{sandbox.base_url}/sandbox/chats/{chat_id}/messages", timeout=10).json()
    return next((m for m in chat if m["from_bot"] and m["buttons"]), None)


def _first_appeal(operator: _Api) -> str | None:
    items = operator.ok("GET", "/me/appeals")["items"]
    return items[0]["id"] if items else None


def _inbound_texts(api: _Api, appeal_id: str, count: int) -> list[str] | None:
    items = api.ok("GET", f"/appeals/{appeal_id}/messages")["items"]
    texts = [m["text"] for m in items if m["direction"] == "in"]
    return texts if len(texts) >= count else None
