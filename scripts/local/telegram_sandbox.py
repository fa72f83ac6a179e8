"""`make telegram-sandbox`: a Telegram you can drive with curl, for trying the bots on `make run`.

It is the fake Bot API the tests use (scripts/local/fakes/telegram.py) on a fixed
port, with bots whose tokens do not change between runs, plus a small control
surface under `/sandbox/` that plays the people on the other side:

- `GET  /sandbox/bots`: the bots, their tokens and the webhook each has;
- `GET  /sandbox/chats/<chat_id>/messages[?bot=<username>]`: a chat as it reads now
  (texts after edits, buttons with their callback data);
- `POST /sandbox/chats/<chat_id>/messages {"text", "bot"?, "first_name"?, "username"?,
  "reply_to_message_id"?}`: that person writes to the bot (the update goes to the bot's
  webhook, as Telegram would send it); answers what the webhook answered;
- `POST /sandbox/chats/<chat_id>/press {"button", "message_id"?, "bot"?}`: that person
  presses a button (by its label or its callback data) on that message, or on the newest one
  showing such a button.

`bot` defaults to the operator bot. Nothing here is reachable from outside 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import TYPE_CHECKING, Any

from scripts.local.fakes.telegram import FakeTelegram

if TYPE_CHECKING:
    from collections.abc import Sequence
    from http.server import BaseHTTPRequestHandler

    from scripts.local.fakes.telegram import SentMessage

__all__ = ["OPERATOR_BOT", "SandboxTelegram", "main", "sandbox_token"]

OPERATOR_BOT = "leadcrm_ops_bot"
_CHAT = re.compile(r"^/sandbox/chats/(?P<chat>-?\d+)/(?P<what>messages|press)$")


class _Refused(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def sandbox_token(index: int, username: str) -> str:
    """A token of Telegram's shape that stays the same run after run (so it can live in a shell's env)."""
    return f"{7_100_000_001 + index}:SANDBOX_{re.sub(r'[^A-Za-z0-9_]', '_', username)}"


class SandboxTelegram(FakeTelegram):
    """The fake Bot API plus `/sandbox/` controls that speak for the people in the chats."""

    METHODS = ("GET", "POST", "PUT", "DELETE")  # so a wrong verb gets a reason, not http.server's 501

    def __init__(self, port: int = 0, bots: Sequence[str] = (OPERATOR_BOT,)) -> None:
        super().__init__(port)
        self.usernames = tuple(dict.fromkeys(bots))
        for index, username in enumerate(self.usernames):
            self.add_bot(username, first_name=username, token=sandbox_token(index, username))

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        if not request.path.startswith("/sandbox/"):
            super().handle(request)
            return
        try:
            status, payload = 200, self._control(request)
        except _Refused as refused:
            status, payload = refused.status, {"error": refused.error}
        body = json.dumps(payload, ensure_ascii=False).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _control(self, request: BaseHTTPRequestHandler) -> Any:
        path, _, query = request.path.partition("?")
        if request.command == "GET" and path == "/sandbox/bots":
            return [self._bot_json(username) for username in self.usernames]
        match = _CHAT.match(path)
        if match is None:
            raise _Refused(404, f"no such sandbox route: {request.command} {path}")
        chat_id, what = int(match.group("chat")), match.group("what")
        if request.command == "GET" and what == "messages":
            bot = dict(part.partition("=")[::2] for part in query.split("&") if part).get("bot")
            return [self._chat_entry(m) for m in self.messages(chat_id, token=self._token(bot))]
        if request.command != "POST":
            raise _Refused(405, f"{request.command} is not allowed here")
        body = _json_body(request)
        if what == "messages":
            return self._write(chat_id, body)
        return self._press(chat_id, body)

    def _bot_json(self, username: str) -> dict[str, Any]:
        token = self._token(username)
        hook = self.webhook(token)
        return {"username": username, "token": token, "webhook": hook.url if hook else None}

    def _token(self, username: str | None) -> str:
        token = self.token_of(username or self.usernames[0])
        if token is None:
            raise _Refused(404, f"no bot called {username!r}; the sandbox has {', '.join(self.usernames)}")
        return token

    @staticmethod
    def _chat_entry(message: SentMessage) -> dict[str, Any]:
        buttons = [
            {key: button[key] for key in ("text", "callback_data", "url") if key in button}
            for button in message.buttons
        ]
        return {
            "message_id": message.message_id,
            "from_bot": message.from_bot,
            "text": message.text,
            "reply_to_message_id": message.reply_to_message_id,
            "buttons": buttons,
            "edits": message.edits,
        }

    def _write(self, chat_id: int, body: dict[str, Any]) -> dict[str, Any]:
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise _Refused(422, "text: a non-empty string is required")
        token = self._token(body.get("bot"))
        fields = ("first_name", "username", "language_code")
        person = {key: body[key] for key in fields if isinstance(body.get(key), str)}
        reply_to = body.get("reply_to_message_id")
        update = self.message_update(
            token, chat_id, text, reply_to_message_id=reply_to if isinstance(reply_to, int) else None, **person
        )
        return self._send(token, update)

    def _press(self, chat_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Presses `button` on message `message_id`, or, without one, on the newest message showing it."""
        token = self._token(body.get("bot"))
        message_id, label = body.get("message_id"), body.get("button")
        if not isinstance(label, str) or not (message_id is None or isinstance(message_id, int)):
            raise _Refused(422, "button (a label or callback data) is required; message_id, if given, an integer")
        if message_id is None:
            showing = [m for m in self.messages(chat_id, token=token) if any(_names(b, label) for b in m.buttons)]
            if not showing:
                raise _Refused(404, f"no message in chat {chat_id} shows a button {label!r}")
            message_id = showing[-1].message_id
        try:
            message = self.message(chat_id, message_id, token=token)
        except KeyError:
            raise _Refused(404, f"chat {chat_id} has no message {message_id}") from None
        data = next((b["callback_data"] for b in message.buttons if _names(b, label)), None)
        if data is None:
            raise _Refused(404, f"message {message_id} has no button {label!r}")
        return {
            "message_id": message_id,
            **self._send(token, self.callback_update(token, chat_id, data, message_id=message_id)),
        }

    def _send(self, token: str, update: dict[str, Any]) -> dict[str, Any]:
        if self.webhook(token) is None:
            raise _Refused(409, "this bot has no webhook yet: call setWebhook first (see the banner)")
        status, answer = self.deliver(token, update)
        return {"webhook_status": status, "webhook_answer": answer.decode(errors="replace")[:500]}


def _names(button: dict[str, Any], label: str) -> bool:
    """A button is named by its callback data or its label, emoji and case aside ("accept" for "✅ Accept")."""
    if "callback_data" not in button:
        return False
    words = "".join(ch for ch in str(button.get("text", "")) if ch.isalnum() or ch.isspace()).strip()
    return label in (button["callback_data"], button.get("text")) or label.casefold() == words.casefold()


def _json_body(request: BaseHTTPRequestHandler) -> dict[str, Any]:
    length = int(request.headers.get("Content-Length") or 0)
    try:
        body = json.loads(request.rfile.read(length) or b"{}")
    except ValueError:
        raise _Refused(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _Refused(400, "the body must be a JSON object")
    return body


def _banner(sandbox: SandboxTelegram, api: str) -> str:
    operator_token = sandbox.token_of(OPERATOR_BOT)
    base = sandbox.base_url
    lines = [
        f"Telegram sandbox on {base} (Ctrl-C stops it). In another shell:",
        "",
        f"  TELEGRAM_API_BASE={base} OPERATOR_BOT_TOKEN={operator_token} \\",
        "    OPERATOR_BOT_WEBHOOK_SECRET=sandbox-secret make run",
        "",
        "then point the operator bot's webhook at the API, as you would with BotFather's bot:",
        "",
        f"  curl -s {base}/bot{operator_token}/setWebhook \\",
        f"    -d url={api}/telegram/operator-bot -d secret_token=sandbox-secret",
        "",
        "Link an operator (POST /operators/<id>/telegram-link gives a code), then be its chat 1001:",
        "",
        f'  curl -s {base}/sandbox/chats/1001/messages -d \'{{"text": "/start <code>"}}\'',
        f"  curl -s {base}/sandbox/chats/1001/messages          # what the bot sent",
        f'  curl -s {base}/sandbox/chats/1001/press -d \'{{"button": "Accept"}}\'   # on the newest appeal',
        "",
        "Bots: " + ", ".join(f"{name} ({sandbox.token_of(name)})" for name in sandbox.usernames),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=int(os.environ.get("TELEGRAM_SANDBOX_PORT") or 8081))
    parser.add_argument("--bot", action="append", default=[], help="another bot's username (a source's bot)")
    parser.add_argument("--api", default=f"http://127.0.0.1:{os.environ.get('PORT') or 8000}")
    args = parser.parse_args(argv)
    sandbox = SandboxTelegram(args.port, (OPERATOR_BOT, *args.bot))
    try:
        sandbox.start()
    except OSError as error:
        reason = f"port {args.port} is taken ({error.strerror}); set TELEGRAM_SANDBOX_PORT"
        print(f"telegram-sandbox: {reason}", file=sys.stderr)
        return 1
    print(_banner(sandbox, args.api), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
