"""`POST /webhook/telegram` as a plain ASGI handler (web/telegram.py): every answer Telegram can get, driven
through the ASGI interface itself (the e2e tests cover the same path through uvicorn and a real stack).

The accept step is a recording stand-in here: what is tested is the HTTP layer's decision before and after
it — which requests reach it, and what the sender is told when it fails."""

from __future__ import annotations

import json
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from dancebot.channels.gate import Verdict
from dancebot.channels.message import UnifiedMessage
from dancebot.channels.telegram_updates import text_update
from dancebot.config import Settings
from dancebot.web import telegram as tg_webhook
from dancebot.web.body import MAX_BODY

SECRET = "s3cret-token-for-the-asgi-test"


class Accepting:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.accepted: list[UnifiedMessage] = []
        self.fail = fail

    async def accept(self, msg: UnifiedMessage) -> Verdict:
        if self.fail is not None:
            raise self.fail
        self.accepted.append(msg)
        return Verdict.PASS


class Errors:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    async def error(self, **row: Any) -> None:
        self.rows.append(row)


class Rt:
    def __init__(self) -> None:
        self.audit = Errors()


async def call(
    body: bytes | list[bytes], *, secret: str | None = SECRET, declared: int | None = None, disconnect: bool = False,
    processor: Accepting | None = None, rt: Rt | None = None,
) -> tuple[int | None, dict[str, Any] | None]:  # fmt: skip
    chunks = body if isinstance(body, list) else [body]
    headers = [(b"content-type", b"application/json")]
    if secret is not None:
        headers.append((b"x-telegram-bot-api-secret-token", secret.encode()))
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {"type": "http", "method": "POST", "path": tg_webhook.PATH, "headers": headers}
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    if disconnect:
        messages = [{"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await tg_webhook.handle(
        scope,
        receive,
        send,
        secret=SECRET,
        rt=rt or Rt(),
        processor=processor or Accepting(),  # type: ignore[arg-type]
    )
    if not sent:
        return None, None
    start, content = sent
    lengths = [v for k, v in start["headers"] if k == b"content-length"]
    assert lengths == [str(len(content["body"])).encode()]
    return start["status"], json.loads(content["body"])


def update_bytes(text: str = "привет", chat_id: int = 4242) -> bytes:
    return json.dumps(text_update(1, chat_id, 7, text), ensure_ascii=False).encode()


async def test_a_message_is_accepted_and_answered_with_the_gates_verdict() -> None:
    processor = Accepting()
    status, answer = await call(update_bytes("хочу на сальсу"), processor=processor)
    assert (status, answer) == (200, {"ok": True, "result": "pass"})
    assert [(m.chat_id, m.text) for m in processor.accepted] == [(4242, "хочу на сальсу")]


async def test_a_body_in_several_chunks_is_read_whole() -> None:
    processor = Accepting()
    raw = update_bytes("а в субботу есть что-нибудь?")
    status, _ = await call([raw[:10], raw[10:50], raw[50:]], processor=processor)
    assert status == 200 and processor.accepted[0].text == "а в субботу есть что-нибудь?"


@pytest.mark.parametrize("secret", [None, "", SECRET[:-1], SECRET + "x", SECRET.upper()])
async def test_a_wrong_or_missing_secret_is_refused_before_the_body_is_read(secret: str | None) -> None:
    processor = Accepting()
    status, answer = await call(update_bytes(), secret=secret, processor=processor)
    assert status == 401 and answer == {"ok": False, "error": "invalid secret token"}
    assert processor.accepted == []


async def test_an_oversized_body_is_refused_by_its_header_and_while_streaming() -> None:
    processor = Accepting()
    assert (await call(b"{}", declared=MAX_BODY + 1, processor=processor))[0] == 413
    assert (await call([b"x" * (MAX_BODY // 2)] * 3, processor=processor))[0] == 413
    assert processor.accepted == []


async def test_a_body_that_is_not_json_gets_400() -> None:
    assert await call(b"{not json") == (400, {"ok": False, "error": "body is not JSON"})


async def test_json_that_is_not_an_update_is_acknowledged_and_kept_as_an_error_row() -> None:
    rt, processor = Rt(), Accepting()
    status, answer = await call(b'{"update_id": "seven", "message": []}', rt=rt, processor=processor)
    assert status == 200 and answer is not None and answer["ignored"] is True
    assert [r["kind"] for r in rt.audit.rows] == ["unreadable_update"] and '"seven"' in rt.audit.rows[0]["raw"]
    assert processor.accepted == []


async def test_an_update_kind_we_do_not_handle_is_acknowledged_and_ignored() -> None:
    status, answer = await call(b'{"update_id": 5, "my_chat_member": {}}')
    assert (status, answer) == (200, {"ok": True, "ignored": True})


async def test_a_failure_to_accept_answers_500_so_telegram_delivers_it_again() -> None:
    status, answer = await call(update_bytes(), processor=Accepting(fail=RedisConnectionError("gone")))
    assert status == 500 and answer is not None and answer["ok"] is False


async def test_a_sender_gone_before_its_body_arrived_gets_nothing_and_nothing_is_accepted() -> None:
    processor = Accepting()
    assert await call(b"", disconnect=True, processor=processor) == (None, None)
    assert processor.accepted == []


async def test_before_the_app_has_started_a_webhook_gets_503_so_telegram_retries(settings: Settings) -> None:
    from dancebot.web.app import create_app

    app = create_app(settings)  # no lifespan run: no runtime, no dispatcher yet
    scope = {"type": "http", "method": "POST", "path": tg_webhook.PATH, "headers": []}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": update_bytes(), "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 503
