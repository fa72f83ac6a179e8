"""A fake Telegram Bot API on loopback: records every call, answers like Telegram, posts updates to webhooks.

Real HTTP on 127.0.0.1 (an ephemeral port, one thread per request), so the
code under test runs its real client with `TELEGRAM_API_BASE=fake.base_url`.

- Bots: `add_bot(username)` returns a well-formed token; any other token is
  answered 401 "Unauthorized", an unknown method 404 "Not Found".
- Messages: sendMessage answers a Message whose `message_id` counts up per
  chat; editMessageText / editMessageReplyMarkup change the stored message and
  answer "message is not modified" for an edit that changes nothing. HTML is
  checked as Telegram does (supported tags only, every `<`, `>`, `&` escaped,
  tags nested), and the 4096-character and 64-byte callback_data limits hold.
- Scripted failures: `fail_next(method, times, ...)`, `throttle_next` (429
  with retry_after), `block_next` (403 "bot was blocked by the user"), and
  per chat `block_chat` / `lose_chat` (400 "chat not found").
- Updates: builders (`message_update`, `start_update`, `callback_update`)
  with unique update ids, and `deliver(token, update)` POSTs one to the
  webhook set with setWebhook, with its secret header, as Telegram would.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scripts.local.fakes.loopback import LoopbackServer

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

__all__ = [
    "SECRET_HEADER",
    "Call",
    "FakeTelegram",
    "SentMessage",
    "Webhook",
    "html_problem",
    "visible_length",
]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_MESSAGE_MAX_LENGTH = 4096
_CALLBACK_DATA_MAX_BYTES = 64
_CALLBACK_TEXT_MAX_LENGTH = 200
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_BLOCKED = "Forbidden: bot was blocked by the user"
_CHAT_NOT_FOUND = "Bad Request: chat not found"
# Telegram's HTML parse mode: these tags, nothing else (https://core.telegram.org/bots/api#html-style).
_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre"}
    | {"blockquote", "tg-emoji"}
)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'<>]+))?)*)\s*>")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")


@dataclass(frozen=True)
class Call:
    """One request the fake received, as the client sent it."""

    method: str
    token: str
    params: dict[str, Any]
    at: float


@dataclass
class SentMessage:
    """A message in a chat, as it reads now (after edits)."""

    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    reply_to_message_id: int | None = None
    from_bot: bool = True
    edits: int = 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        return [button["callback_data"] for button in self.buttons if "callback_data" in button]


@dataclass(frozen=True)
class Webhook:
    url: str
    secret_token: str | None
    allowed_updates: tuple[str, ...] | None


@dataclass
class _Bot:
    id: int
    username: str
    first_name: str
    webhook: Webhook | None = None
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100_000_001))
    # per chat: the last message id used, and the messages by id
    last_message_id: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    messages: dict[tuple[int, int], SentMessage] = field(default_factory=dict)
    open_queries: set[str] = field(default_factory=set)


@dataclass
class _Failure:
    error_code: int
    description: str
    retry_after: float | None


class _ApiError(Exception):
    def __init__(self, error_code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


# --- Telegram's HTML rules -------------------------------------------------------------------


def html_problem(text: str) -> str | None:
    """What Telegram would say about `text` in HTML parse mode, or None when it parses."""
    stack: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            match = _TAG.match(text, position)
            offset = len(text[:position].encode())
            if match is None:
                return f"Bad Request: can't parse entities: Unexpected character '<' at byte offset {offset}"
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in _TAGS:
                kind = "end" if closing else "start"
                return f'Bad Request: can\'t parse entities: Unsupported {kind} tag "{name}" at byte offset {offset}'
            if closing:
                if not stack or stack[-1] != name:
                    return f'Bad Request: can\'t parse entities: Unexpected end tag "{name}" at byte offset {offset}'
                stack.pop()
            else:
                stack.append(name)
            position = match.end()
        elif char == "&":
            if _ENTITY.match(text, position) is None:
                offset = len(text[:position].encode())
                return f"Bad Request: can't parse entities: Unsupported HTML entity at byte offset {offset}"
            position = text.index(";", position) + 1
        elif char == ">":
            offset = len(text[:position].encode())
            return f"Bad Request: can't parse entities: Unexpected character '>' at byte offset {offset}"
        else:
            position += 1
    if stack:
        return f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
    return None


def _visible(text: str, parse_mode: str | None) -> str:
    if parse_mode is None or parse_mode.upper() != "HTML":
        return text

    def entity(match: re.Match[str]) -> str:
        named, decimal, hexadecimal = match.groups()
        if named:
            return {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[named]
        return chr(int(decimal) if decimal else int(hexadecimal, 16))

    return _ENTITY.sub(entity, _TAG.sub("", text))


def _rendering(text: str, parse_mode: str | None) -> tuple[str, tuple[tuple[int, str], ...]]:
    """What Telegram compares on an edit: the text shown and its formatting (tags at their visible offsets)."""
    if parse_mode is None or parse_mode.upper() != "HTML":
        return text, ()
    tags: list[tuple[int, str]] = []
    shown = 0
    position = 0
    for match in _TAG.finditer(text):
        shown += len(_visible(text[position : match.start()], parse_mode))
        tags.append((shown, match.group(0)))
        position = match.end()
    return _visible(text, parse_mode), tuple(tags)


def visible_length(text: str, parse_mode: str | None = "HTML") -> int:
    """The length Telegram limits: characters shown (tags removed, entities decoded), in UTF-16 units."""
    return len(_visible(text, parse_mode).encode("utf-16-le")) // 2


# --- the server --------------------------------------------------------------------------------


# Bot ids (and so tokens) are unique across every fake in the process: the app caches per token
# (the bot's deep link), and two fakes issuing the same first token made one test read another's bot.
_BOT_IDS = itertools.count(7_000_000_001)


class FakeTelegram(LoopbackServer):
    """A Bot API server on loopback; a context manager."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self._lock = threading.Condition()
        self._bots: dict[str, _Bot] = {}
        self._calls: list[Call] = []
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._blocked: set[int] = set()
        self._lost: set[int] = set()
        self._bot_ids = _BOT_IDS  # one sequence per process: a token never names two bots
        self._query_ids = itertools.count(1)
        # Requests the fake could not take (malformed parameters): a test may assert there were none.
        self.errors: list[str] = []

    # -- lifecycle --------------------------------------------------------------------------

    METHODS = ("POST", "GET")
    THREAD_NAME = "fake-telegram"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        self._serve(request)

    @property
    def base_url(self) -> str:
        """What `TELEGRAM_API_BASE` should say."""
        return self.origin

    # -- bots and what they did -------------------------------------------------------------

    def add_bot(
        self, username: str = "leadcrm_test_bot", *, first_name: str = "LeadCRM test bot", token: str | None = None
    ) -> str:
        """A new bot; answers its token (`<id>:<secret>`, the shape Telegram issues; `token` chooses it)."""
        with self._lock:
            bot_id = int(token.split(":", 1)[0]) if token else next(self._bot_ids)
            token = token or f"{bot_id}:AA{'x' * 8}{bot_id:x}{len(self._bots):04d}Fake-Token_{username[:8]}"
            self._bots[token] = _Bot(id=bot_id, username=username, first_name=first_name)
            return token

    def token_of(self, username: str) -> str | None:
        """The token of the bot called `username` (None: no such bot)."""
        with self._lock:
            return next((token for token, bot in self._bots.items() if bot.username == username), None)

    def bot_id(self, token: str) -> int:
        with self._lock:
            return self._bots[token].id

    def calls(self, method: str | None = None, *, token: str | None = None) -> list[Call]:
        with self._lock:
            return [
                call
                for call in self._calls
                if (method is None or call.method == method) and (token is None or call.token == token)
            ]

    def wait_for_calls(
        self, method: str, count: int = 1, *, token: str | None = None, timeout: float = 5.0
    ) -> list[Call]:
        """Blocks until `count` calls of `method` arrived (or `timeout`); answers them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self._calls if c.method == method and (token is None or c.token == token)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._lock.wait(remaining)

    def messages(self, chat_id: int, *, token: str | None = None) -> list[SentMessage]:
        """A chat's messages as they read now, oldest first (the bot's and the person's)."""
        with self._lock:
            bots = [self._bots[token]] if token is not None else list(self._bots.values())
            found = [m for bot in bots for (chat, _), m in bot.messages.items() if chat == chat_id]
            return sorted(found, key=lambda m: m.message_id)

    def message(self, chat_id: int, message_id: int, *, token: str) -> SentMessage:
        with self._lock:
            return self._bots[token].messages[(chat_id, message_id)]

    def webhook(self, token: str) -> Webhook | None:
        with self._lock:
            return self._bots[token].webhook

    # -- scripting --------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        error_code: int = 500,
        description: str = "Internal Server Error",
        retry_after: float | None = None,
    ) -> None:
        """The next `times` calls of `method` (any bot) answer this error instead of acting."""
        with self._lock:
            for _ in range(times):
                self._failures[method].append(_Failure(error_code, description, retry_after))

    def throttle_next(self, method: str, times: int = 1, *, retry_after: float = 1) -> None:
        """429 "Too Many Requests: retry after N" with `parameters.retry_after`, as Telegram's flood control."""
        self.fail_next(
            method,
            times,
            error_code=429,
            description=f"Too Many Requests: retry after {retry_after:g}",
            retry_after=retry_after,
        )

    def block_next(self, method: str = "sendMessage", times: int = 1) -> None:
        self.fail_next(method, times, error_code=403, description=_BLOCKED)

    def block_chat(self, chat_id: int) -> None:
        """From now on the person in `chat_id` has blocked every bot: sends answer 403."""
        with self._lock:
            self._blocked.add(chat_id)

    def lose_chat(self, chat_id: int) -> None:
        """From now on `chat_id` is unknown to Telegram: calls on it answer 400 "chat not found"."""
        with self._lock:
            self._lost.add(chat_id)

    # -- updates ----------------------------------------------------------------------------

    def message_update(
        self,
        token: str,
        chat_id: int,
        text: str,
        *,
        first_name: str = "Lead",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """An Update with a person's text message in a private chat (the chat id is the person's id).

        With `reply_to_message_id` it replies to that message of the chat (the bot's, usually).
        """
        with self._lock:
            bot = self._bots[token]
            message_id = self._next_message_id(bot, chat_id)
            user = _user(chat_id, first_name, last_name, username, language_code)
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": user,
                "chat": _private_chat(user),
                "date": int(time.time()),
                "text": text,
            }
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            if reply_to_message_id is not None:
                message["reply_to_message"] = self._message_json(bot, chat_id, reply_to_message_id)
            bot.messages[(chat_id, message_id)] = SentMessage(
                chat_id, message_id, text, None, None, reply_to_message_id, from_bot=False
            )
            return {"update_id": next(bot.update_ids), "message": message}

    def start_update(self, token: str, chat_id: int, code: str | None = None, **person: Any) -> dict[str, Any]:
        """`/start <code>`: what Telegram sends when a person opens `https://t.me/<bot>?start=<code>`."""
        return self.message_update(token, chat_id, f"/start {code}" if code else "/start", **person)

    def callback_update(
        self,
        token: str,
        chat_id: int,
        data: str,
        *,
        message_id: int,
        from_id: int | None = None,
        first_name: str = "Operator",
    ) -> dict[str, Any]:
        """A press on an inline button of message `message_id` (its callback data: `data`).

        `from_id` other than the chat models a forged or foreign press; `data` need
        not be on the message's buttons (a modified client can send anything).
        """
        with self._lock:
            bot = self._bots[token]
            query_id = f"{bot.id}{next(self._query_ids):08d}"
            bot.open_queries.add(query_id)
            return {
                "update_id": next(bot.update_ids),
                "callback_query": {
                    "id": query_id,
                    "from": _user(from_id if from_id is not None else chat_id, first_name, None, None, None),
                    "message": self._message_json(bot, chat_id, message_id),
                    "chat_instance": f"ci{chat_id}",
                    "data": data,
                },
            }

    def deliver(self, token: str, update: dict[str, Any], *, timeout: float = 10.0) -> tuple[int, bytes]:
        """POSTs `update` to the bot's webhook with its secret header, as Telegram does; answers (status, body)."""
        hook = self.webhook(token)
        if hook is None:
            raise RuntimeError("no webhook is set for this bot (setWebhook was never called)")
        return self.post_update(hook.url, update, secret_token=hook.secret_token, timeout=timeout)

    @staticmethod
    def post_update(
        url: str, update: dict[str, Any], *, secret_token: str | None = None, timeout: float = 10.0
    ) -> tuple[int, bytes]:
        """POSTs `update` to any URL (with the secret header when given); answers (status, body)."""
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers[SECRET_HEADER] = secret_token
        request = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read())

    # -- serving ----------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(request.path)
        match = _PATH.match(parsed.path)
        status, payload = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if match is not None:
            token, method = match.group("token"), match.group("method")
            try:
                params = _params(request, parsed.query)
            except ValueError:
                params = None
            with self._lock:
                if params is not None:
                    self._calls.append(Call(method, token, params, time.time()))
                    self._lock.notify_all()
                try:
                    if params is None:
                        raise _ApiError(400, "Bad Request: can't parse JSON object")
                    result = self._answer(token, method, params)
                    status, payload = 200, {"ok": True, "result": result}
                except _ApiError as error:
                    status = error.error_code
                    payload = {"ok": False, "error_code": error.error_code, "description": error.description}
                    if error.parameters:
                        payload["parameters"] = error.parameters
                except Exception as error:  # a request the fake cannot take: say so instead of hanging up
                    self.errors.append(f"{method}: {type(error).__name__}: {error}")
                    status = 500
                    payload = {"ok": False, "error_code": 500, "description": f"fake Bot API: {type(error).__name__}"}
        body = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _answer(self, token: str, method: str, params: dict[str, Any]) -> Any:
        bot = self._bots.get(token)
        if bot is None:
            raise _ApiError(401, "Unauthorized")
        handler = getattr(self, f"_method_{method}", None)
        if handler is None:
            raise _ApiError(404, "Not Found")
        scripted = self._failures[method]
        if scripted:
            failure = scripted.popleft()
            extra = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
            raise _ApiError(failure.error_code, failure.description, extra)
        return handler(bot, params)

    # Each _method_<name> runs under the lock, after the scripted failures.

    def _method_getMe(self, bot: _Bot, params: dict[str, Any]) -> Any:
        return {
            "id": bot.id,
            "is_bot": True,
            "first_name": bot.first_name,
            "username": bot.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _method_setWebhook(self, bot: _Bot, params: dict[str, Any]) -> Any:
        url = params.get("url")
        if not isinstance(url, str):
            raise _ApiError(400, "Bad Request: url is required")
        if url == "":
            bot.webhook = None
            return True
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            # Telegram wants https; the fake also takes http so loopback servers can receive.
            raise _ApiError(400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and not (isinstance(secret, str) and _SECRET_TOKEN.match(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        bot.webhook = Webhook(url, secret, tuple(allowed) if isinstance(allowed, list) else None)
        return True

    def _method_deleteWebhook(self, bot: _Bot, params: dict[str, Any]) -> Any:
        bot.webhook = None
        return True

    def _method_getWebhookInfo(self, bot: _Bot, params: dict[str, Any]) -> Any:
        hook = bot.webhook
        info: dict[str, Any] = {"url": hook.url if hook else "", "has_custom_certificate": False}
        info["pending_update_count"] = 0
        if hook is not None and hook.allowed_updates is not None:
            info["allowed_updates"] = list(hook.allowed_updates)
        return info

    def _method_sendMessage(self, bot: _Bot, params: dict[str, Any]) -> Any:
        chat_id = self._chat(params)
        text, parse_mode = self._text(params)
        markup = self._markup(params)
        reply_to = params.get("reply_to_message_id")
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id")
            if (chat_id, reply_to) not in bot.messages and not reply_parameters.get("allow_sending_without_reply"):
                raise _ApiError(400, "Bad Request: message to be replied not found")
        message_id = self._next_message_id(bot, chat_id)
        bot.messages[(chat_id, message_id)] = SentMessage(
            chat_id, message_id, text, parse_mode, markup, reply_to if isinstance(reply_to, int) else None
        )
        return self._message_json(bot, chat_id, message_id)

    def _method_editMessageText(self, bot: _Bot, params: dict[str, Any]) -> Any:
        chat_id, message = self._editable(bot, params)
        text, parse_mode = self._text(params)
        markup = self._markup(params)
        if (_rendering(text, parse_mode), markup) == (
            _rendering(message.text, message.parse_mode),
            message.reply_markup,
        ):
            raise _ApiError(400, _NOT_MODIFIED)
        message.text, message.parse_mode, message.reply_markup = text, parse_mode, markup
        message.edits += 1
        return self._message_json(bot, chat_id, message.message_id)

    def _method_editMessageReplyMarkup(self, bot: _Bot, params: dict[str, Any]) -> Any:
        chat_id, message = self._editable(bot, params)
        markup = self._markup(params)
        if markup == message.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        message.reply_markup = markup
        message.edits += 1
        return self._message_json(bot, chat_id, message.message_id)

    def _method_answerCallbackQuery(self, bot: _Bot, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in bot.open_queries:
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if isinstance(text, str) and len(text) > _CALLBACK_TEXT_MAX_LENGTH:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        bot.open_queries.discard(query_id)
        return True

    # -- checks shared by the methods ---------------------------------------------------------

    def _chat(self, params: dict[str, Any]) -> int:
        raw = params.get("chat_id")
        try:
            chat_id = int(raw) if isinstance(raw, int | str) else None
        except ValueError:
            chat_id = None
        if chat_id is None or chat_id in self._lost:
            raise _ApiError(400, _CHAT_NOT_FOUND)
        if chat_id in self._blocked:
            raise _ApiError(403, _BLOCKED)
        return chat_id

    @staticmethod
    def _text(params: dict[str, Any]) -> tuple[str, str | None]:
        text = params.get("text")
        parse_mode = params.get("parse_mode") or None
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if parse_mode is not None and str(parse_mode).upper() != "HTML":
            raise _ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r} (this fake speaks HTML)")
        if parse_mode is not None:
            problem = html_problem(text)
            if problem is not None:
                raise _ApiError(400, problem)
        if not _visible(text, parse_mode).strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if visible_length(text, parse_mode) > _MESSAGE_MAX_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        return text, parse_mode

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for button in (button for row in rows for button in row):
            if not isinstance(button, dict) or not button.get("text"):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed")
            data, url = button.get("callback_data"), button.get("url")
            if (data is None) == (url is None):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard button: exactly one action expected")
            if data is not None and not 1 <= len(str(data).encode()) <= _CALLBACK_DATA_MAX_BYTES:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if url is not None and urllib.parse.urlsplit(str(url)).scheme not in ("http", "https", "tg"):
                raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        # An empty keyboard is no keyboard, as in Telegram.
        return markup if any(rows) else None

    def _editable(self, bot: _Bot, params: dict[str, Any]) -> tuple[int, SentMessage]:
        chat_id = self._chat(params)
        message_id = params.get("message_id")
        message = bot.messages.get((chat_id, message_id)) if isinstance(message_id, int) else None
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return chat_id, message

    @staticmethod
    def _next_message_id(bot: _Bot, chat_id: int) -> int:
        bot.last_message_id[chat_id] += 1
        return bot.last_message_id[chat_id]

    @staticmethod
    def _message_json(bot: _Bot, chat_id: int, message_id: int) -> dict[str, Any]:
        stored = bot.messages.get((chat_id, message_id))
        sender = (
            {"id": bot.id, "is_bot": True, "first_name": bot.first_name, "username": bot.username}
            if stored is None or stored.from_bot
            else _user(chat_id, "Lead", None, None, None)
        )
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": sender,
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
        }
        if stored is not None:
            message["text"] = _visible(stored.text, stored.parse_mode)
            if stored.reply_markup is not None:
                message["reply_markup"] = stored.reply_markup
        return message


def _user(
    user_id: int, first_name: str, last_name: str | None, username: str | None, language_code: str | None
) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    for key, value in (("last_name", last_name), ("username", username), ("language_code", language_code)):
        if value is not None:
            user[key] = value
    return user


def _private_chat(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "type": "private"} | {
        key: user[key] for key in ("first_name", "last_name", "username") if key in user
    }


def _params(request: BaseHTTPRequestHandler, query: str) -> dict[str, Any]:
    """JSON, form or query-string parameters, as the Bot API accepts them (form values may hold JSON)."""
    length = int(request.headers.get("Content-Length") or 0)
    raw = request.rfile.read(length) if length else b""
    kind = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if raw and kind == "application/json":
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("a JSON object is expected")
        return body
    pairs = urllib.parse.parse_qsl(query) + urllib.parse.parse_qsl(raw.decode())
    params: dict[str, Any] = {}
    for key, value in pairs:
        try:
            params[key] = json.loads(value) if value[:1] in "[{" or value.lstrip("-").isdigit() else value
        except ValueError:
            params[key] = value
    return params
