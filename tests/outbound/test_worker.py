"""The outbound worker against real Redis and PostgreSQL and the fake Telegram Bot API on a real port
(PRODUCT.md §10): order, keyboards, crash recovery, the 0 s → 5 s → 30 s retry ladder, 429, 403, bad jobs.

The worker runs in burst mode (`drain`); delayed retries are promoted with a future `now` instead of
sleeping through the delays.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from dancebot.outbound.messages import Button, OutboundJob
from dancebot.outbound.queue import enqueue
from dancebot.outbound.senders import TelegramSender
from dancebot.outbound.worker import OutboundWorker
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.audit import flush_audit
from dancebot.storage.tables import dead_letter_messages
from tests.conftest import BOT_TOKEN
from tests.fakes.telegram import FakeTelegram, create_fake_telegram

CHAT = 600_000_001


@pytest.fixture(scope="module")
def fake_tg() -> Iterator[tuple[FakeTelegram, str]]:
    fake = create_fake_telegram(BOT_TOKEN)
    with fake.serve_in_thread() as url:
        yield fake, url


@pytest.fixture
def tg(fake_tg: tuple[FakeTelegram, str]) -> FakeTelegram:
    fake_tg[0].clear()
    return fake_tg[0]


@pytest.fixture
async def worker(rt: Runtime, fake_tg: tuple[FakeTelegram, str]) -> AsyncIterator[OutboundWorker]:
    sender = TelegramSender(BOT_TOKEN, fake_tg[1])
    await sender.start()
    try:
        yield OutboundWorker(rt.redis, {"telegram": sender}, rt.audit)
    finally:
        await sender.close()


def job(text: str, **fields: object) -> OutboundJob:
    return OutboundJob(chat_id=CHAT, text=text, trace_id="trace-worker-test", **fields)  # type: ignore[arg-type]


async def delayed(rt: Runtime) -> list[tuple[OutboundJob, float]]:
    """The retry ZSET: each job with its due time."""
    return [
        (OutboundJob.loads(raw), due)
        for raw, due in await rt.redis.zrange(keys.OUTBOUND_DELAYED, 0, -1, withscores=True)
    ]


async def dead_letters(rt: Runtime) -> list:
    await flush_audit(rt.redis, rt.db)
    async with rt.db.connect() as conn:
        return list((await conn.execute(select(dead_letter_messages).order_by(dead_letter_messages.c.id))).all())


def send_attempts(tg: FakeTelegram) -> list[int]:
    return [c.status for c in tg.calls if c.method == "sendMessage"]


async def test_drain_delivers_in_order_with_keyboards(rt: Runtime, tg: FakeTelegram, worker: OutboundWorker) -> None:
    buttons = ((Button(text="Центр", data="branch:center"), Button(text="Гоголя", data="branch:gogolya")),)
    await enqueue(
        rt.redis,
        job("Здравствуйте! Это студия «Ритм»."),
        job("В какой филиал вам удобнее?", buttons=buttons),
        job("Оставьте номер телефона, пожалуйста", request_contact=True),
    )
    assert await worker.drain() == 3
    sent = tg.sent_to(CHAT)
    assert [m.text for m in sent] == [
        "Здравствуйте! Это студия «Ритм».",
        "В какой филиал вам удобнее?",
        "Оставьте номер телефона, пожалуйста",
    ]
    assert sent[0].reply_markup is None
    keyboard = sent[1].reply_markup["inline_keyboard"]  # type: ignore[index]
    assert [[(b["text"], b["callback_data"]) for b in row] for row in keyboard] == [
        [("Центр", "branch:center"), ("Гоголя", "branch:gogolya")]
    ]
    assert sent[2].reply_markup["keyboard"][0][0]["request_contact"] is True  # type: ignore[index]
    assert await rt.redis.llen(keys.OUTBOUND_QUEUE) == 0
    assert await rt.redis.llen(keys.OUTBOUND_PROCESSING) == 0


async def test_button_tap_is_answered(rt: Runtime, tg: FakeTelegram, worker: OutboundWorker) -> None:
    await enqueue(rt.redis, OutboundJob(kind="callback_answer", chat_id=CHAT, callback_query_id="cb-4242"))
    assert await worker.drain() == 1
    assert [a.callback_query_id for a in tg.callback_answers] == ["cb-4242"]
    assert tg.sent_to(CHAT) == []


async def test_job_held_by_a_crashed_worker_is_delivered_after_recover(
    rt: Runtime, tg: FakeTelegram, worker: OutboundWorker
) -> None:
    await rt.redis.lpush(keys.OUTBOUND_PROCESSING, job("Ваша запись подтверждена").dumps())
    assert await worker.drain() == 0  # nobody takes a held job without recovery
    assert await worker.recover() == 1
    assert await worker.drain() == 1
    assert [m.text for m in tg.sent_to(CHAT)] == ["Ваша запись подтверждена"]
    assert await rt.redis.llen(keys.OUTBOUND_PROCESSING) == 0


async def test_server_errors_retry_after_0_5_30_seconds_then_dead_letter(
    rt: Runtime, tg: FakeTelegram, worker: OutboundWorker
) -> None:
    tg.fail_next(CHAT, n=4, kind="500")
    original = job("Напоминаем: сальса завтра в 19:00")
    await enqueue(rt.redis, original)

    expected_delays = [0.0, 5.0, 30.0]
    for attempt, delay in enumerate(expected_delays, start=1):
        before = time.time()
        await worker.drain()
        [(retry, due)] = await delayed(rt)
        assert retry.attempts == attempt and retry.job_id == original.job_id
        assert before + delay - 0.5 <= due <= time.time() + delay + 0.5
        if delay:
            assert await worker.drain() == 0  # not due yet: no early retry
        assert await worker.promote_due(now=due + 0.1) == 1

    await worker.drain()
    assert send_attempts(tg) == [500, 500, 500, 500]
    assert tg.sent_to(CHAT) == [] and await delayed(rt) == []
    [row] = await dead_letters(rt)
    assert (row.chat_id, row.channel, row.attempts, row.trace_id) == (CHAT, "telegram", 4, "trace-worker-test")
    assert row.payload["job_id"] == original.job_id and row.payload["text"] == original.text
    assert "telegram error" in row.last_error


async def test_a_retry_that_succeeds_is_delivered_once(rt: Runtime, tg: FakeTelegram, worker: OutboundWorker) -> None:
    tg.fail_next(CHAT, n=1, kind="502")
    await enqueue(rt.redis, job("Места на хилс в субботу есть"))
    await worker.drain()
    await worker.drain()  # the 0 s retry is due at once
    assert [m.text for m in tg.sent_to(CHAT)] == ["Места на хилс в субботу есть"]
    assert send_attempts(tg) == [502, 200]
    assert await delayed(rt) == [] and await dead_letters(rt) == []


async def test_429_waits_retry_after(rt: Runtime, tg: FakeTelegram, worker: OutboundWorker) -> None:
    tg.fail_next(CHAT, n=1, kind="429", retry_after=3)
    await enqueue(rt.redis, job("Хип-хоп у Димы по вторникам"))
    before = time.time()
    await worker.drain()
    [(retry, due)] = await delayed(rt)
    assert retry.attempts == 1
    assert before + 3 - 0.5 <= due <= time.time() + 3 + 0.5
    await worker.promote_due(now=due + 0.1)
    await worker.drain()
    assert [m.text for m in tg.sent_to(CHAT)] == ["Хип-хоп у Димы по вторникам"]


async def test_blocked_bot_goes_to_dead_letters_at_once(rt: Runtime, tg: FakeTelegram, worker: OutboundWorker) -> None:
    tg.block(CHAT)
    await enqueue(rt.redis, job("Напоминаем о занятии"))
    await worker.drain()
    assert send_attempts(tg) == [403]
    assert await delayed(rt) == []
    [row] = await dead_letters(rt)
    assert row.attempts == 1 and "blocked" in row.last_error


async def test_malformed_job_is_dropped_and_logged_and_the_next_is_delivered(
    rt: Runtime, tg: FakeTelegram, worker: OutboundWorker
) -> None:
    await rt.redis.lpush(keys.OUTBOUND_QUEUE, b'{"v": 1, "chat_id": "not-a-number"')
    await enqueue(rt.redis, job("Стоимость разового занятия — 650 ₽"))
    with capture_logs() as logs:
        assert await worker.drain() == 2
    assert [m.text for m in tg.sent_to(CHAT)] == ["Стоимость разового занятия — 650 ₽"]
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["outbound.bad_job"]
    assert await rt.redis.llen(keys.OUTBOUND_PROCESSING) == 0
    assert await delayed(rt) == [] and await dead_letters(rt) == []
