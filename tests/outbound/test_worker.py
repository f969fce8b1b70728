"""The outbound worker against real Redis and PostgreSQL and the fake Telegram Bot API on a real port
(PRODUCT.md §10): order, keyboards, crash recovery, the 0 s → 5 s → 30 s retry ladder, 429, 403, bad jobs,
dead letters, two workers at once.

The worker runs in burst mode (`drain`); a retry's delay is checked on its chat's `ready` score and then
brought forward instead of sleeping through it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from dancebot.outbound import dlq
from dancebot.outbound.messages import Button, OutboundJob
from dancebot.outbound.queue import enqueue, pending
from dancebot.outbound.ratelimit import ChannelLimits
from dancebot.outbound.senders import TelegramSender
from dancebot.outbound.worker import OutboundWorker
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.audit import flush_audit
from dancebot.storage.tables import dead_letter_messages
from tests.conftest import ADMIN_CHAT_ID, BOT_TOKEN
from tests.fakes.telegram import FakeTelegram, create_fake_telegram

CHAT = 600_000_001
MEMBER = f"telegram:{CHAT}"


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
async def sender(fake_tg: tuple[FakeTelegram, str]) -> AsyncIterator[TelegramSender]:
    sender = TelegramSender(BOT_TOKEN, fake_tg[1])
    await sender.start()
    yield sender
    await sender.close()


@pytest.fixture
def worker(rt: Runtime, sender: TelegramSender) -> OutboundWorker:
    return OutboundWorker(rt.redis, {"telegram": sender}, rt.audit)


def job(text: str, chat_id: int = CHAT, **fields: object) -> OutboundJob:
    return OutboundJob(chat_id=chat_id, text=text, trace_id="trace-worker-test", **fields)  # type: ignore[arg-type]


async def retry_due(rt: Runtime) -> float:
    """When the chat's next try is due (its `ready` score)."""
    score = await rt.redis.zscore(keys.OUTBOUND_READY, MEMBER)
    assert score is not None, "the chat is not waiting for a retry"
    return float(score)


async def waiting_job(rt: Runtime) -> OutboundJob:
    """The job at the head of the chat's queue."""
    raw = await rt.redis.lindex(keys.outbound_chat("telegram", CHAT), 0)
    assert raw is not None
    return OutboundJob.loads(raw)


async def bring_forward(rt: Runtime) -> None:
    await rt.redis.zadd(keys.OUTBOUND_READY, {MEMBER: time.time()})


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
    assert await pending(rt.redis) == 0


async def test_button_tap_is_answered(rt: Runtime, tg: FakeTelegram, worker: OutboundWorker) -> None:
    await enqueue(rt.redis, OutboundJob(kind="callback_answer", chat_id=CHAT, callback_query_id="cb-4242"))
    assert await worker.drain() == 1
    assert [a.callback_query_id for a in tg.callback_answers] == ["cb-4242"]
    assert tg.sent_to(CHAT) == []


async def test_a_job_held_by_a_dead_worker_is_delivered_once_by_another(
    rt: Runtime, tg: FakeTelegram, sender: TelegramSender
) -> None:
    first = OutboundWorker(rt.redis, {"telegram": sender}, rt.audit, worker_id="first")
    second = OutboundWorker(rt.redis, {"telegram": sender}, rt.audit, worker_id="second")
    await enqueue(rt.redis, job("Ваша запись подтверждена"), job("Ждём вас в субботу"))
    await first.heartbeat()
    assert await first.intake(0) == 2
    claim = await first.queue.claim()  # taken… and the first worker dies before sending it
    assert not isinstance(claim, float)

    assert await second.drain(patience=0) == 0  # the chat's job is in flight: nothing may overtake it
    assert await second.recover() == 0  # its heartbeat is alive: not taken from a live worker
    await rt.redis.delete(keys.worker_alive("first"))  # …until the heartbeat expires
    assert await second.recover() == 1
    assert await second.drain() == 2
    assert [m.text for m in tg.sent_to(CHAT)] == ["Ваша запись подтверждена", "Ждём вас в субботу"]
    assert await first.queue.ack(claim, "late-ack") is False  # the dead worker's claim is no longer its own
    assert await pending(rt.redis) == 0


async def test_server_errors_retry_after_0_5_30_seconds_then_dead_letter(
    rt: Runtime, tg: FakeTelegram, worker: OutboundWorker
) -> None:
    tg.fail_next(CHAT, n=4, kind="500")
    original = job("Напоминаем: сальса завтра в 19:00")
    await enqueue(rt.redis, original)

    await worker.drain(patience=1)  # the first try and its 0 s retry
    first, second = [c.received_at for c in tg.calls if c.method == "sendMessage"]
    assert second - first < 0.5
    for attempts, delay in ((2, 5.0), (3, 30.0)):
        due = await retry_due(rt)
        retry = await waiting_job(rt)
        assert retry.attempts == attempts and retry.job_id == original.job_id
        assert time.time() + delay - 1.5 <= due <= time.time() + delay + 0.5
        assert await worker.drain(patience=0) == 0  # not due yet: no early retry
        await bring_forward(rt)
        await worker.drain(patience=1)
    assert send_attempts(tg) == [500, 500, 500, 500]
    assert tg.sent_to(CHAT) == [] and await pending(rt.redis) == 0
    [row] = await dead_letters(rt)
    assert (row.chat_id, row.channel, row.attempts, row.trace_id) == (CHAT, "telegram", 4, "trace-worker-test")
    assert row.payload["job_id"] == original.job_id and row.payload["text"] == original.text
    assert "telegram error" in row.last_error
    [letter] = await dlq.list_dead(rt.redis)
    assert letter.job.job_id == original.job_id and letter.attempts == 4


async def test_a_retry_keeps_the_chats_order_and_other_chats_are_not_held_up(
    rt: Runtime, tg: FakeTelegram, worker: OutboundWorker
) -> None:
    other = CHAT + 1
    tg.fail_next(CHAT, n=2, kind="502")
    await enqueue(rt.redis, job("Первое"), job("Второе"), job("Другому клиенту", chat_id=other))
    await worker.drain(patience=1)  # "Первое" fails twice: 0 s retry, then 5 s
    assert [m.text for m in tg.sent_to(other)] == ["Другому клиенту"]
    assert tg.sent_to(CHAT) == []  # "Второе" waits behind "Первое"
    await bring_forward(rt)
    await worker.drain()
    assert [m.text for m in tg.sent_to(CHAT)] == ["Первое", "Второе"]
    assert send_attempts(tg).count(502) == 2


async def test_429_waits_retry_after_and_does_not_count_as_a_failure(
    rt: Runtime, tg: FakeTelegram, worker: OutboundWorker
) -> None:
    tg.fail_next(CHAT, n=1, kind="429", retry_after=3)
    await enqueue(rt.redis, job("Хип-хоп у Димы по вторникам"))
    before = time.time()
    await worker.drain(patience=1)
    due = await retry_due(rt)
    assert before + 3 - 0.5 <= due <= time.time() + 3 + 0.5
    assert (await waiting_job(rt)).attempts == 0
    await bring_forward(rt)
    await worker.drain()
    assert [m.text for m in tg.sent_to(CHAT)] == ["Хип-хоп у Димы по вторникам"]


async def test_blocked_bot_goes_to_dead_letters_at_once(rt: Runtime, tg: FakeTelegram, worker: OutboundWorker) -> None:
    tg.block(CHAT)
    await enqueue(rt.redis, job("Напоминаем о занятии"))
    await worker.drain()
    assert send_attempts(tg) == [403]
    assert await pending(rt.redis) == 0
    [row] = await dead_letters(rt)
    assert row.attempts == 1 and "blocked" in row.last_error


async def test_a_second_copy_of_a_delivered_job_is_not_sent(
    rt: Runtime, tg: FakeTelegram, worker: OutboundWorker
) -> None:
    """A producer whose push was retried after a lost reply, or a chore re-run after a crash, may queue the
    same job twice (same job id): the client gets it once."""
    reply = job("Вы записаны ✅")
    await enqueue(rt.redis, reply)
    await worker.drain()
    await enqueue(rt.redis, reply, job("А это новое сообщение"))
    await worker.drain()
    assert [m.text for m in tg.sent_to(CHAT)] == ["Вы записаны ✅", "А это новое сообщение"]


async def test_malformed_job_is_set_aside_and_logged_and_the_next_is_delivered(
    rt: Runtime, tg: FakeTelegram, worker: OutboundWorker
) -> None:
    await rt.redis.lpush(keys.OUTBOUND_QUEUE, b'{"v": 1, "chat_id": "not-a-number"')
    await enqueue(rt.redis, job("Стоимость разового занятия — 650 ₽"))
    with capture_logs() as logs:
        assert await worker.drain() == 1
    assert [m.text for m in tg.sent_to(CHAT)] == ["Стоимость разового занятия — 650 ₽"]
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["outbound.bad_job"]
    assert await rt.redis.lrange(keys.OUTBOUND_BAD, 0, -1) == [b'{"v": 1, "chat_id": "not-a-number"']
    assert await pending(rt.redis) == 0 and await dead_letters(rt) == []


async def test_jobs_queued_by_the_previous_version_are_delivered(
    rt: Runtime, tg: FakeTelegram, worker: OutboundWorker
) -> None:
    await rt.redis.lpush(keys.OUTBOUND_PROCESSING, job("Держал старый воркер").dumps())
    await rt.redis.zadd(keys.OUTBOUND_DELAYED, {job("Ждал повтора").dumps(): time.time() + 30})
    assert await worker.recover() == 2
    await worker.drain()
    assert sorted(m.text for m in tg.sent_to(CHAT)) == ["Держал старый воркер", "Ждал повтора"]


async def test_two_workers_send_every_job_once_in_each_chats_order(
    rt: Runtime, tg: FakeTelegram, sender: TelegramSender
) -> None:
    chats = [CHAT + 10 + i for i in range(20)]
    for n in range(5):
        await enqueue(rt.redis, *(job(f"сообщение {n}", chat_id=c) for c in chats))
    stop = asyncio.Event()
    workers = [OutboundWorker(rt.redis, {"telegram": sender}, rt.audit) for _ in range(2)]
    for w in workers:
        await w.heartbeat()
    running = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        await tg.wait_for(None, 100, timeout=30)
    finally:
        stop.set()
        await asyncio.gather(*running)
    for c in chats:
        assert [m.text for m in tg.sent_to(c)] == [f"сообщение {n}" for n in range(5)]
    assert len(tg.sent) == 100 and await pending(rt.redis) == 0


async def test_more_than_ten_dead_letters_alert_the_admin_once_and_can_be_requeued(
    rt: Runtime, tg: FakeTelegram, sender: TelegramSender
) -> None:
    async def on_dead_letter(size: int, dead: OutboundJob) -> None:
        await dlq.alert_if_piling_up(rt, size, dead.trace_id)

    worker = OutboundWorker(rt.redis, {"telegram": sender}, rt.audit, on_dead_letter=on_dead_letter)
    blocked = [CHAT + 100 + i for i in range(12)]
    for c in blocked:
        tg.block(c)
    await enqueue(rt.redis, *(job(f"Напоминание {i}", chat_id=c) for i, c in enumerate(blocked)))
    await worker.drain()
    assert len(await dlq.list_dead(rt.redis)) == 12
    await worker.drain()
    alerts = [m for m in tg.sent_to(ADMIN_CHAT_ID) if "dancebot dlq" in m.text]
    assert len(alerts) == 1 and "11" in alerts[0].text

    for c in blocked:
        tg.unblock(c)
    chosen = (await dlq.list_dead(rt.redis))[:3]
    assert await dlq.requeue(rt.redis, [d.job.job_id for d in chosen]) == [d.job.job_id for d in chosen]
    await worker.drain()
    assert sorted(m.text for c in blocked for m in tg.sent_to(c)) == sorted(d.job.text for d in chosen)
    assert len(await dlq.list_dead(rt.redis)) == 9


async def test_a_claim_whose_answer_was_lost_is_taken_back_by_its_own_worker(
    rt: Runtime, tg: FakeTelegram, worker: OutboundWorker
) -> None:
    """Redis restarted right after the claim script ran: the worker never learnt it holds the job."""
    await enqueue(rt.redis, job("Ждём вас завтра в 19:00"))
    await worker.intake(0)
    assert not isinstance(await worker.queue.claim(), float)  # the answer "lost": nobody sends it
    await worker.heartbeat()
    assert await worker.queue.recover(holding=()) == 0  # a fresh claim may still be on its way
    assert await worker.queue.recover(holding=[MEMBER], now=time.time() + 3600) == 0  # one it is sending
    assert await worker.queue.recover(holding=(), now=time.time() + 3600) == 1
    await bring_forward(rt)
    await worker.drain()
    assert [m.text for m in tg.sent_to(CHAT)] == ["Ждём вас завтра в 19:00"]


async def test_jobs_keep_the_order_they_were_queued_in_whichever_worker_files_them(
    rt: Runtime, tg: FakeTelegram, sender: TelegramSender
) -> None:
    unpaced = {"telegram": ChannelLimits(per_second=0)}  # order is the point here, not pacing
    workers = [OutboundWorker(rt.redis, {"telegram": sender}, rt.audit, limits=unpaced) for _ in range(3)]
    for n in range(30):
        await enqueue(rt.redis, job(f"сообщение {n}"))
        await workers[n % 3].intake(0)  # workers file whatever is queued, taking turns
    await workers[0].drain()
    assert [m.text for m in tg.sent_to(CHAT)] == [f"сообщение {n}" for n in range(30)]
