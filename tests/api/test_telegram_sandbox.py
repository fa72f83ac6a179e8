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
        ("POST", "/sandbox/chats/1001/press", {"message_id": "9"}, 422),
        ("POST", "/sandbox/chats/1001/nothing", {}, 404),
        ("DELETE", "/sandbox/chats/1001/messages", None, 405),
    ],
    ids=["no-webhook", "empty-text", "unknown-bot", "unknown-message", "bad-press", "unknown-route", "delete"],
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
        pressed = requests.post(
            f"{sandbox.base_url}/sandbox/chats/1001/press",
            json={"message_id": message["message_id"], "button": "Accept"},
            timeout=30,
        )
        assert pressed.json()["webhook_status"] == 200
        after = ok("GET", f"/appeals/{appeal['id']}")
        assert after["status"] == "active"
        assert after["accepted_at"] is not None
