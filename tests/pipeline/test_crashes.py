"""Nothing is lost, nothing is sent twice (PRODUCT.md §4.4, §10.1): processes killed mid-way, Redis
restarted mid-booking, Telegram failing for a while, many new chats at once — with `dancebot serve` and
`dancebot worker` as processes, real Redis and PostgreSQL, the fake Telegram and Impulse servers."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import pytest

from dancebot.channels.telegram_updates import text_update
from dancebot.conversation.session import Session
from dancebot.storage import db, keys
from tests.conversations.harness import Client, assert_receipt, assert_summary, text_of
from tests.e2e.helpers import message_rows
from tests.fakes.telegram import FakeTelegram
from tests.pipeline.conftest import Pipeline, PipelineFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GOGOLYA = "ул. Гоголя, 41"


async def settled(p: Pipeline, timeout: float = 60.0) -> None:
    """Until every accepted message has had its turn and every reply was handed to Telegram, then 1 s
    more, so a duplicate would have time to show up."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(p.stack.outbound_drained):
        assert time.monotonic() < deadline, f"the pipeline did not settle in {timeout}s:\n{p.stack.log_text()[-3000:]}"
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def texts(tg: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text for m in tg.sent_to(chat_id)]


def worker_ids(p: Pipeline) -> dict[str, str]:
    """Which worker process announced which worker id (its `worker.started` log line)."""
    found = {}
    for name in p.stack.procs:
        if name.startswith("worker"):
            log = (p.stack.log_dir / f"{name}.log").read_text(encoding="utf-8", errors="replace")  # type: ignore[operator]
            ids = re.findall(r'"worker": "(\w+)", "event": "worker.started"', log)
            if ids:
                found[name] = ids[-1]
    return found


async def test_a_worker_killed_between_take_and_ack_delivers_the_reply_exactly_once(
    pipeline: PipelineFactory, chat: Callable[[], int]
) -> None:
    with pipeline(workers=2) as p:
        c = chat()
        p.gate.hold(c)  # the worker's send to this chat stalls on its way to Telegram
        assert p.stack.post(text_update(p.stack.next_id(), c, 1, "Здравствуйте!")).json()["result"] == "pass"
        await wait_until(lambda: p.gate.held[c] == 1, 30, "the send to be in flight")
        with p.sync_redis() as r:
            holder = r.hget(keys.OUTBOUND_OWNER, f"telegram:{c}")
        assert holder is not None
        victim = next(name for name, wid in worker_ids(p).items() if wid == holder.decode().split("|")[0])
        p.stack.kill(victim)  # SIGKILL between take and ack
        await wait_until(lambda: p.gate.dropped[c] == 1, 10, "the stalled request to be dropped")
        p.gate.release(c)
        assert texts(p.tg, c) == []  # Telegram never got it
        await wait_until(lambda: bool(texts(p.tg, c)), 40, "the surviving worker to deliver it")
        p.stack.start(victim)  # the killed worker comes back: it must not send it again
        await settled(p)
        replies = texts(p.tg, c)
        assert len(replies) == 1 and "Ритм" in replies[0]


async def test_the_app_killed_right_after_the_ack_answers_after_the_restart_once(
    pipeline: PipelineFactory, chat: Callable[[], int]
) -> None:
    with pipeline() as p:
        c = chat()
        p.crm.hang_seconds = 5.0
        p.crm.set_mode("hang")  # the turn waits on the CRM: the app is killed in the middle of it
        update = text_update(p.stack.next_id(), c, 1, "какое расписание на хилс на завтра?")
        assert p.stack.post(update).json()["result"] == "pass"
        p.stack.kill("serve")
        p.crm.set_mode(None)
        assert texts(p.tg, c) == []
        p.stack.start("serve")
        await asyncio.to_thread(p.stack.wait_healthy)
        await wait_until(lambda: bool(texts(p.tg, c)), 40, "the answer after the restart")
        await settled(p)
        replies = texts(p.tg, c)
        assert len(replies) == 1 and "High Heels" in replies[0] and "03.12" in replies[0]
        assert p.stack.post(update).json()["result"] == "duplicate"  # Telegram's redelivery changes nothing


async def test_the_app_killed_with_messages_waiting_answers_each_once_in_order(
    pipeline: PipelineFactory, chat: Callable[[], int]
) -> None:
    with pipeline() as p:
        chats = [chat() for _ in range(3)]
        p.crm.hang_seconds = 5.0
        p.crm.set_mode("hang")
        for c in chats:
            p.stack.post(text_update(p.stack.next_id(), c, 1, "что есть на хилс завтра?"))
            p.stack.post(text_update(p.stack.next_id(), c, 2, "а сколько стоит разовое?"))
        p.stack.kill("serve")
        p.crm.set_mode(None)
        p.stack.start("serve")
        await asyncio.to_thread(p.stack.wait_healthy)
        await settled(p)
        for c in chats:
            replies = texts(p.tg, c)
            assert len(replies) == 2, replies
            assert "03.12" in replies[0] and "₽" in replies[1]  # the schedule first, then the price


async def test_the_app_killed_in_the_middle_of_a_booking_books_once_and_tells_the_client(
    pipeline: PipelineFactory, chat: Callable[[], int]
) -> None:
    """The app died while the CRM was storing the booking: after the restart the client is told the booking
    is being checked, no second create is sent, and the verification finds it and sends the receipt."""
    with pipeline(env={"DANCEBOT_VERIFY_DELAYS": "1,2,3"}) as p:
        client = Client(p.stack, p.tg, p.crm, chat())
        summary = text_of(await client.say(f"запишите меня на хилс в чт в 20 к насте, Анна {client.phone}"))
        assert "Всё верно?" in summary
        p.crm.store_late(1, after=4.0)  # the CRM takes 4 s to store the booking, then answers
        since = len(texts(p.tg, client.chat_id))
        p.stack.post(text_update(p.stack.next_id(), client.chat_id, 777, "да"))
        await wait_until(lambda: bool(client.crm_requests("reservation", "update")), 20, "the create to be sent")
        p.stack.kill("serve")  # mid-booking: the CRM will store it, the bot will never hear back
        creates = len(client.crm_requests("reservation", "update"))
        p.stack.start("serve")
        await asyncio.to_thread(p.stack.wait_healthy)
        await wait_until(lambda: any("записаны" in t for t in texts(p.tg, client.chat_id)[since:]), 60, "the receipt")
        await settled(p)
        after = texts(p.tg, client.chat_id)[since:]
        assert "проверяю" in after[0] and "записаны" in after[-1] and len(after) == 2, after
        assert len(client.crm_requests("reservation", "update")) == creates == 1
        assert len(client.reservations()) == 1


async def test_a_redis_restart_between_two_messages_of_a_booking_loses_nothing(
    pipeline: PipelineFactory, chat: Callable[[], int]
) -> None:
    with pipeline() as p:
        client = Client(p.stack, p.tg, p.crm, chat())
        summary = text_of(await client.say(f"запишите меня на хилс в чт в 20 к насте, Анна {client.phone}"))
        assert_summary(summary, name="Анна", phone=client.e164, klass="High Heels", day="03.12", time="20:00",
                       where=GOGOLYA)  # fmt: skip
        p.redis.restart()  # AOF on: the session waiting for "да" must survive
        with p.sync_redis() as r:
            raw = r.get(keys.session("telegram", client.chat_id))
        assert raw is not None and Session.model_validate_json(raw).state == "CONFIRM_BOOKING"
        receipt = text_of(await client.say("да"))  # the first command on each pooled connection meets a dead socket
        assert_receipt(receipt, klass="High Heels", day="03.12", time="20:00", where=GOGOLYA)
        assert len(client.reservations()) == 1
        p.gate.outage(4.0)  # a reply stuck in the queues (its retry waits) while Redis restarts once more
        before = len(texts(p.tg, client.chat_id))
        p.stack.post(text_update(p.stack.next_id(), client.chat_id, 99, "спасибо!"))
        await wait_until(lambda: any(r.chat_id == client.chat_id for r in p.gate.rejected), 10, "the send to fail")
        p.redis.restart()
        await settled(p)
        assert len(texts(p.tg, client.chat_id)) == before + 1  # delivered after the outage, once
        assert len(client.reservations()) == 1


async def test_telegram_answering_502_for_ten_seconds_delays_every_reply_but_loses_none(
    pipeline: PipelineFactory, chat: Callable[[], int]
) -> None:
    with pipeline() as p:
        chats = [chat() for _ in range(4)]
        p.gate.outage(10.0, status=502)
        for c in chats:
            p.stack.post(text_update(p.stack.next_id(), c, 1, "Привет!"))
            p.stack.post(text_update(p.stack.next_id(), c, 2, "где вы находитесь?"))
        await asyncio.sleep(2)
        assert all(texts(p.tg, c) == [] for c in chats)  # nothing got through the outage
        assert len([r for r in p.gate.rejected if r.status == 502]) >= len(chats)
        await settled(p, timeout=90)
        for c in chats:
            replies = texts(p.tg, c)
            assert len(replies) == 2, replies  # each reply once, in the chat's order
            assert "Ритм" in replies[0] and "Гоголя" in replies[1]
        with p.sync_redis() as r:
            assert r.hlen(keys.DEAD_LETTERS) == 0


async def test_thirty_new_chats_at_once_are_each_answered_once(
    pipeline: PipelineFactory, chat: Callable[[], int]
) -> None:
    with pipeline() as p:
        chats = [chat() for _ in range(30)]
        updates = [text_update(p.stack.next_id(), c, 1, "добрый день! сколько стоит занятие?") for c in chats]
        results = await asyncio.gather(*(asyncio.to_thread(p.stack.post, u) for u in updates))
        assert [r.json()["result"] for r in results] == ["pass"] * 30
        await settled(p)
        for c in chats:
            replies = texts(p.tg, c)
            assert len(replies) == 1 and "₽" in replies[0], replies
        engine = db.create_engine(p.database_url)
        try:
            for c in chats:  # the conversation log has each message and its answer once
                rows = await message_rows(engine, c, 2)
                assert [r.direction for r in rows] == ["in", "out"]
        finally:
            await engine.dispose()
