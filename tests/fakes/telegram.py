"""A fake Telegram Bot API server for tests and benchmarks (PRODUCT.md §16).

It answers what python-telegram-bot sends (`POST {base}/bot{token}/{method}`, form-encoded with nested
values as JSON; JSON bodies and query strings work too, as on the real server) with the envelopes the
real API returns, so the worker's error handling meets the real thing: 401 wrong token, 404 unknown
method, 400 for empty/too-long text, unparsable entities and bad keyboards (`telegram_markup`),
403 for blocked chats, injected 429 (`parameters.retry_after`), 500 and 502. Every call is recorded.

Three ways to run it:
- in process: `fake.bot()` is a real PTB `Bot` whose `HTTPXRequest` gets `httpx_kwargs={"transport":
  httpx.ASGITransport(app=fake.app)}` — PTB hands those kwargs to its `AsyncClient`, so no socket and
  no subclass are needed;
- in a thread on a real port, for processes under test: `with fake.serve_in_thread() as url:`;
- in its own process, from the repository root: `python -m tests.fakes.telegram --port 8081`, read
  through the `/_fake/` control API (`telegram_http`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from telegram import Bot
from telegram.request import HTTPXRequest

from tests.fakes.telegram_http import build_app, make_server
from tests.fakes.telegram_markup import ApiError, parse_entities, validate_reply_markup

__all__ = [
    "ApiCall",
    "ApiError",
    "CallbackAnswer",
    "ChatAction",
    "FakeTelegram",
    "FaultKind",
    "SentMessage",
    "create_fake_telegram",
    "main",
]

FaultKind = Literal["429", "500", "502"]
MAX_TEXT_LENGTH = 4096
TOKEN_PATTERN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_FIRST_BOT_MESSAGE_ID = 100_000  # far from the ids tests give inbound messages
_CHAT_ACTIONS = frozenset(
    {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
     "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the fake accepted: `text` as sent, `visible_text` as the user sees it."""

    seq: int  # 1, 2, 3… over all chats since start; `since` filters on it
    chat_id: int
    message_id: int
    text: str
    visible_text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    received_at: float  # time.monotonic(): comparable across processes on one host
    received_at_wall: float


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    callback_query_id: str
    text: str | None
    show_alert: bool
    received_at: float


@dataclass(frozen=True, slots=True)
class ChatAction:
    chat_id: int
    action: str
    received_at: float


@dataclass(frozen=True, slots=True)
class ApiCall:
    """Every Bot API request, failed ones included: retries show up here, not in `sent`."""

    method: str
    params: dict[str, Any]
    status: int
    received_at: float


@dataclass(slots=True)
class _Fault:
    kind: FaultKind
    remaining: int
    chat_id: int | None
    method: str | None
    retry_after: int


class FakeTelegram:
    """In-memory Bot API state; `app` serves it over HTTP (see `telegram_http`)."""

    def __init__(self, token: str, bot_username: str = "ritm_studio_bot") -> None:
        if not TOKEN_PATTERN.fullmatch(token):
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        self.bot_username = bot_username
        self.sent: list[SentMessage] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[ChatAction] = []
        self.calls: list[ApiCall] = []
        self.edits: list[tuple[int, int, dict[str, Any] | None]] = []  # (chat, message id, new markup)
        self.blocked: set[int] = set()
        self.webhook: dict[str, Any] = {}
        self._faults: list[_Fault] = []
        self._last_message_id: Counter[int] = Counter()
        self._seq = 0
        self.app = build_app(self)

    # --- test controls -------------------------------------------------------------------------------

    def fail_next(
        self,
        chat_id: int | None = None,
        n: int = 1,
        kind: FaultKind = "429",
        retry_after: int = 1,
        *,
        method: str | None = "sendMessage",
    ) -> None:
        """Fail the next `n` matching calls; `chat_id`/`method` None match any chat/method."""
        if n < 1 or retry_after < 1 or kind not in ("429", "500", "502"):
            raise ValueError(f"bad fault: n={n} kind={kind} retry_after={retry_after}")
        self._faults.append(_Fault(kind, n, chat_id, method, retry_after))

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sends to this chat get 403 until `unblock`."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    def clear(self) -> None:
        """Forget recordings, faults, blocks and the webhook; message ids keep growing, as in Telegram."""
        for records in (self.sent, self.callback_answers, self.chat_actions, self.calls, self._faults, self.edits):
            records.clear()
        self.blocked.clear()
        self.webhook.clear()

    def sent_to(self, chat_id: int | None = None, since: int = 0) -> list[SentMessage]:
        """Messages with `seq > since`, optionally for one chat."""
        return [m for m in self.sent if m.seq > since and chat_id in (None, m.chat_id)]

    async def wait_for(
        self,
        chat_id: int | None,
        count: int = 1,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> list[SentMessage]:
        """Wait until `count` messages reached the chat; polls, so the fake may run in another thread."""
        deadline = time.monotonic() + timeout
        while len(found := self.sent_to(chat_id, since)) < count:
            if time.monotonic() >= deadline:
                texts = [m.text for m in found]
                raise TimeoutError(f"chat {chat_id}: {len(found)}/{count} messages after {timeout}s: {texts}")
            await asyncio.sleep(0.005)
        return found

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(Counter(c.method for c in self.calls)),
            "errors": dict(Counter(str(c.status) for c in self.calls if c.status != 200)),
            "sent": len(self.sent),
            "last_seq": self._seq,
            "callback_answers": len(self.callback_answers),
            "chat_actions": len(self.chat_actions),
            "pending_faults": sum(f.remaining for f in self._faults),
            "blocked": sorted(self.blocked),
            "webhook": dict(self.webhook),
        }

    # --- clients and servers -------------------------------------------------------------------------

    def bot(self, token: str | None = None) -> Bot:
        """A real PTB `Bot` talking to this fake through `httpx.ASGITransport` (no socket)."""

        def request() -> HTTPXRequest:
            transport = httpx.ASGITransport(app=self.app)
            return HTTPXRequest(httpx_kwargs={"transport": transport, "trust_env": False})

        return Bot(
            token or self.token,
            base_url="http://fake-telegram/bot",
            request=request(),
            get_updates_request=request(),
        )

    @contextmanager
    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve on a real port (0 = a free one) in a daemon thread; yields the base URL."""
        urls: list[str] = []
        ready = threading.Event()

        def on_ready(url: str) -> None:
            urls.append(url)
            ready.set()

        server = make_server(self.app, host, port, on_ready)

        def run() -> None:
            try:
                asyncio.run(server.serve())
            finally:
                ready.set()  # also when startup failed (port taken…)

        thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        thread.start()
        try:
            ready.wait(30)
            if not urls:
                raise RuntimeError(f"fake telegram did not start on {host}:{port}")
            yield urls[0]
        finally:
            server.should_exit = True
            thread.join(10)

    # --- Bot API methods ------------------------------------------------------------------------------

    def handle(
        self, token: str, method: str, params: dict[str, Any], parse_error: ApiError | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Answer and record one Bot API request: (HTTP status, Telegram's JSON envelope)."""
        try:
            if token != self.token:  # Telegram: 401 for a well-formed but unknown token, else 404
                well_formed = TOKEN_PATTERN.fullmatch(token)
                raise ApiError(401, "Unauthorized") if well_formed else ApiError(404, "Not Found")
            if parse_error is not None:
                raise parse_error
            status, body = 200, {"ok": True, "result": self._call(method, params)}
        except ApiError as err:
            status, body = err.status, err.body()
        canonical = _METHODS.get(method.lower(), (method,))[0]
        self.calls.append(ApiCall(canonical, params, status, time.monotonic()))
        return status, body

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        entry = _METHODS.get(method.lower())  # method names are case-insensitive in Telegram
        if entry is None:
            raise ApiError(404, "Not Found")
        name, handler = entry
        chat_id = params.get("chat_id")
        self._inject_fault(name, chat_id if isinstance(chat_id, int) else None)
        return handler(self, params)

    def me(self) -> dict[str, Any]:
        return {
            "id": int(self.token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Ритм",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _inject_fault(self, method: str, chat_id: int | None) -> None:
        fault = next((f for f in self._faults if f.method in (None, method) and f.chat_id in (None, chat_id)), None)
        if fault is None:
            return
        fault.remaining -= 1
        if fault.remaining == 0:
            self._faults.remove(fault)
        if fault.kind == "429":
            description = f"Too Many Requests: retry after {fault.retry_after}"
            raise ApiError(429, description, {"retry_after": fault.retry_after})
        raise ApiError(int(fault.kind), "Internal Server Error" if fault.kind == "500" else "Bad Gateway")

    def _check_blocked(self, chat_id: int) -> None:
        if chat_id in self.blocked:
            kind = _chat_type(chat_id)
            reason = "blocked by the user" if kind == "private" else f"kicked from the {kind} chat"
            raise ApiError(403, f"Forbidden: bot was {reason}")

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        self._check_blocked(chat_id)
        text = str(params.get("text", "")).strip()  # Telegram trims, then parses entities
        parse_mode = params.get("parse_mode") or None
        visible = parse_entities(text, parse_mode).strip()
        if not visible:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(visible) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        markup = validate_reply_markup(params.get("reply_markup"), private=_chat_type(chat_id) == "private")
        self._last_message_id[chat_id] += 1
        self._seq += 1
        message_id = _FIRST_BOT_MESSAGE_ID + self._last_message_id[chat_id]
        now = time.time()
        self.sent.append(
            SentMessage(self._seq, chat_id, message_id, text, visible, parse_mode, markup, time.monotonic(), now)
        )
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self.me(),
            "chat": {"id": chat_id, "type": _chat_type(chat_id)},
            "date": int(now),
            "text": visible,
        }
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        return message

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace (or, with none given, remove) the inline keyboard of a message the bot sent."""
        chat_id = _chat_id(params)
        self._check_blocked(chat_id)
        message_id = params.get("message_id")
        index = next(
            (i for i, m in enumerate(self.sent) if m.chat_id == chat_id and str(m.message_id) == str(message_id)),
            None,
        )
        if index is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        old = self.sent[index]
        raw = params.get("reply_markup")
        markup = validate_reply_markup(raw, private=_chat_type(chat_id) == "private") if raw else None
        if markup is not None and "inline_keyboard" not in markup:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        had = old.reply_markup if old.reply_markup and "inline_keyboard" in old.reply_markup else None
        if markup == had:
            raise ApiError(400, "Bad Request: message is not modified")
        self.sent[index] = dataclasses.replace(old, reply_markup=markup)
        self.edits.append((chat_id, old.message_id, markup))
        message: dict[str, Any] = {
            "message_id": old.message_id,
            "from": self.me(),
            "chat": {"id": chat_id, "type": _chat_type(chat_id)},
            "date": int(old.received_at_wall),
            "text": old.visible_text,
        }
        if markup:
            message["reply_markup"] = markup
        return message

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat_id = _chat_id(params)
        self._check_blocked(chat_id)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self.chat_actions.append(ChatAction(chat_id, str(action), time.monotonic()))
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        if not query_id:
            raise ApiError(400, 'Bad Request: parameter "callback_query_id" is required')
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        answer = CallbackAnswer(str(query_id), text, params.get("show_alert") is True, time.monotonic())
        self.callback_answers.append(answer)
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url", ""))
        if url and not url.startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook.clear()
        if url:
            self.webhook.update(url=url, secret_token=params.get("secret_token"))
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }


_METHODS: dict[str, tuple[str, Callable[[FakeTelegram, dict[str, Any]], Any]]] = {
    name.lower(): (name, handler)
    for name, handler in (
        ("getMe", lambda fake, _params: fake.me()),
        ("sendMessage", FakeTelegram._send_message),
        ("sendChatAction", FakeTelegram._send_chat_action),
        ("answerCallbackQuery", FakeTelegram._answer_callback_query),
        ("editMessageReplyMarkup", FakeTelegram._edit_message_reply_markup),
        ("setWebhook", FakeTelegram._set_webhook),
        ("deleteWebhook", FakeTelegram._delete_webhook),
        ("getWebhookInfo", FakeTelegram._get_webhook_info),
    )
}


def _chat_type(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -1_000_000_000_000 else "group"


def _chat_id(params: dict[str, Any]) -> int:
    value = params.get("chat_id")
    if value is None or value == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if not isinstance(value, int) or isinstance(value, bool) or value == 0:
        raise ApiError(400, "Bad Request: chat not found")  # users' @usernames do not resolve
    return value


def create_fake_telegram(token: str = "123456:TEST", *, bot_username: str = "ritm_studio_bot") -> FakeTelegram:
    return FakeTelegram(token, bot_username)


def _announce(url: str) -> None:
    print(f"fake telegram listening on {url}", flush=True)  # the line scripts wait for


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.fakes.telegram --port 8081 [--token T]`; Ctrl-C/SIGTERM stop it."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.telegram", description="Fake Telegram Bot API server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default="123456:TEST")
    args = parser.parse_args(argv)
    fake = create_fake_telegram(args.token)
    asyncio.run(make_server(fake.app, args.host, args.port, _announce).serve())


if __name__ == "__main__":
    main()
