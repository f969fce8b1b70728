"""Durable accept and turns off the request path (PRODUCT.md §4.4), in process on real Redis and
PostgreSQL with the in-process fake Impulse: what is accepted waits in the chat's buffer until its turn;
turns run in order per chat and many chats at once; a turn ends in one commit, so a message is answered
once however often it is accepted, committed or retried. (A process killed mid-turn: `test_crashes.py`.)"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import select

from dancebot.channels.gate import Verdict
from dancebot.channels.message import UnifiedMessage
from dancebot.conversation import inbox
from dancebot.conversation.handoff import AdminCommands
from dancebot.conversation.inbound import MAX_FAILURES, InboundProcessor
from dancebot.conversation.session import Profile, Session
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.audit import flush_audit
from dancebot.storage.tables import errors
from dancebot.wiring import Conversation
from tests.conftest import ADMIN_CHAT_ID
from tests.e2e.helpers import message_rows

_ids = itertools.count(1)


def said(chat_id: int, text: str, *, message_id: int | None = None) -> UnifiedMessage:
    """A client's Telegram message as the channel parses it (sent now: inside the replay window)."""
    return UnifiedMessage(
        channel="telegram",
        chat_id=chat_id,
        message_id=str(message_id or next(_ids)),
        timestamp=dt.datetime.now(dt.UTC),
        text=text,
        first_name="Анна",
    )


async def queued(rt: Runtime, chat_id: int | None = None) -> list[OutboundJob]:
    jobs = [OutboundJob.loads(raw) for raw in reversed(await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1))]
    return [j for j in jobs if chat_id is None or j.chat_id == chat_id]


@pytest.fixture
async def dispatcher(conv: Conversation) -> AsyncIterator[Callable[[], None]]:
    """The app's dispatcher running in the background; calling the fixture's value stops it."""
    stop = asyncio.Event()
    task = asyncio.create_task(conv.processor.run(stop))
    yield stop.set
    stop.set()
    await task


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def replies(rt: Runtime, chat_id: int, n: int = 1) -> Callable[[], Awaitable[bool]]:
    """A check: the chat has at least `n` messages queued."""

    async def check() -> bool:
        return len([j for j in await queued(rt, chat_id) if j.kind == "message"]) >= n

    return check


async def test_an_accepted_message_waits_in_its_buffer_until_its_turn(rt: Runtime, conv: Conversation) -> None:
    assert await conv.processor.accept(said(101, "сколько стоит разовое занятие?")) is Verdict.PASS
    assert await rt.redis.llen(keys.buffer("telegram", 101)) == 1
    assert await queued(rt) == []  # accepted, not yet answered: the webhook has already returned
    assert await conv.processor.drain() == 1
    [reply] = await queued(rt, 101)
    assert "₽" in reply.text
    assert await rt.redis.llen(keys.buffer("telegram", 101)) == 0 and await inbox.waiting(rt.redis) == 0
    await flush_audit(rt.redis, rt.db)
    rows = await message_rows(rt.db, 101, 2)
    assert [(r.direction, r.text) for r in rows] == [("in", "сколько стоит разовое занятие?"), ("out", reply.text)]
    assert rows[0].trace_id == rows[1].trace_id


async def test_the_gate_still_decides_before_anything_is_accepted(rt: Runtime, conv: Conversation) -> None:
    msg = said(102, "привет")
    assert await conv.processor.accept(msg) is Verdict.PASS
    assert await conv.processor.accept(msg) is Verdict.DUPLICATE  # Telegram redelivers
    old = msg.model_copy(update={"message_id": "900", "timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)})
    assert await conv.processor.accept(old) is Verdict.REPLAY
    assert await rt.redis.llen(keys.buffer("telegram", 102)) == 1


async def test_turns_keep_each_chats_order_and_many_chats_run_at_once(
    rt: Runtime, conv: Conversation, dispatcher: Callable[[], None]
) -> None:
    chats = list(range(200, 220))
    questions = ["привет", "где вы находитесь?", "сколько стоит разовое?"]
    for text in questions:
        for c in chats:
            assert await conv.processor.accept(said(c, text)) is Verdict.PASS

    for c in chats:
        await until(replies(rt, c, 3))
    for c in chats:
        texts = [j.text for j in await queued(rt, c)]
        assert len(texts) == 3
        assert "Ритм" in texts[0] and "Гоголя" in texts[1] and "₽" in texts[2]


async def test_a_slow_crm_turn_does_not_hold_up_other_chats(
    rt: Runtime, conv: Conversation, dispatcher: Callable[[], None]
) -> None:
    assert conv.fake_crm is not None
    await rt.redis.delete(keys.cache("schedule"))
    conv.fake_crm.hang_seconds = 3.0
    conv.fake_crm.set_mode("hang")
    try:
        await conv.processor.accept(said(301, "какое расписание на хилс на завтра?"))
        await asyncio.sleep(0.2)
        await conv.processor.accept(said(302, "что взять на первое занятие?"))

        await until(replies(rt, 302))
        assert await queued(rt, 301) == []  # the schedule question is still waiting on the CRM
    finally:
        conv.fake_crm.set_mode(None)
    await until(replies(rt, 301))


async def test_a_message_accepted_twice_is_answered_once(rt: Runtime, conv: Conversation) -> None:
    msg = said(401, "привет")
    await inbox.accept(rt.redis, msg)
    await inbox.accept(rt.redis, msg)  # a push retried after its answer was lost
    await conv.processor.drain()
    assert len(await queued(rt, 401)) == 1
    assert await rt.redis.llen(keys.buffer("telegram", 401)) == 0


async def test_a_commit_run_twice_writes_once(rt: Runtime) -> None:
    msg = said(402, "привет")
    await inbox.accept(rt.redis, msg)
    raw = await inbox.head(rt.redis, "telegram", 402)
    assert raw is not None
    session = Session(channel="telegram", chat_id=402)
    reply = OutboundJob(chat_id=402, text="Здравствуйте!")
    args = {"channel": "telegram", "chat_id": 402, "message": (raw, msg.dedup_id), "session": session}
    assert await inbox.commit(rt.redis, jobs=[reply], **args) is True  # type: ignore[arg-type]
    assert await inbox.commit(rt.redis, jobs=[reply], **args) is False  # type: ignore[arg-type]
    assert [j.text for j in await queued(rt)] == ["Здравствуйте!"]


async def test_messages_during_a_booking_wait_and_are_answered_after_it_in_order(
    rt: Runtime, conv: Conversation, dispatcher: Callable[[], None]
) -> None:
    crm = conv.fake_crm
    assert crm is not None
    chat = 601
    await conv.processor.accept(said(chat, "запишите меня на хилс в чт в 20 к насте, Анна 89141230601"))
    await until(replies(rt, chat))
    crm.hang_seconds = 2.0
    crm.store_then_hang(1)  # the CRM takes 2 s to answer the booking
    await conv.processor.accept(said(chat, "да"))

    async def booking() -> bool:
        return (await rt.sessions.load("telegram", chat)).state == "BOOKING_IN_PROGRESS"

    await until(booking)
    await conv.processor.accept(said(chat, "а что взять с собой?"))
    await conv.processor.accept(said(chat, "и где вы находитесь?"))
    await until(replies(rt, chat, 4))
    texts = [j.text for j in await queued(rt, chat) if j.kind == "message"]
    assert "записаны" in texts[1]  # the receipt first…
    assert "удобную одежду" in texts[2].lower() and "Гоголя" in texts[3]  # …then the waiting questions, in order


async def test_a_message_that_keeps_failing_is_set_aside_and_the_chat_goes_on(rt: Runtime, conv: Conversation) -> None:
    class Flaky:
        """The conversation, except that one message always breaks (a bug)."""

        async def handle(
            self, msg: UnifiedMessage, session: Session, profile: Profile | None = None
        ) -> list[OutboundJob]:
            if msg.text == "💥":
                raise RuntimeError("engine bug")
            return await conv.runner.handle(msg, session, profile)

        system = conv.runner.system

    processor = InboundProcessor(rt, Flaky(), AdminCommands(rt, conv.runner))
    await processor.accept(said(701, "💥"))
    await processor.accept(said(701, "привет"))
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(RuntimeError):
            await processor.drain()
    await processor.drain()
    assert [("Ритм" in j.text) for j in await queued(rt, 701)] == [True]
    await flush_audit(rt.redis, rt.db)
    async with rt.db.connect() as conn:
        [row] = (await conn.execute(select(errors))).all()
    assert (
        row.source == "inbound" and "engine bug" in row.message and "💥" in json.dumps(row.details, ensure_ascii=False)
    )


async def test_every_unreadable_message_is_set_aside_with_its_own_row(rt: Runtime, conv: Conversation) -> None:
    """Two messages in one chat that no longer parse (a hand-edited buffer, an old version's shape): each
    leaves the buffer with an errors row of its own, and the chat goes on."""
    for garbage in (b'{"channel": "telegram", "chat_id": 702}', b"not json at all"):
        await rt.redis.rpush(keys.buffer("telegram", 702), garbage)
    await conv.processor.accept(said(702, "привет"))
    await conv.processor.drain()
    assert [("Ритм" in j.text) for j in await queued(rt, 702)] == [True]
    await flush_audit(rt.redis, rt.db)
    async with rt.db.connect() as conn:
        rows = (await conn.execute(select(errors))).all()
    assert sorted(r.details["raw"] for r in rows) == ["not json at all", '{"channel": "telegram", "chat_id": 702}']


async def test_an_admin_command_delivered_twice_reaches_the_client_once(rt: Runtime, conv: Conversation) -> None:
    await conv.processor.process(said(801, "позовите администратора"))
    command = said(ADMIN_CHAT_ID, "/reply 801 Здравствуйте, чем помочь?", message_id=9001)
    assert await conv.processor.accept(command) is Verdict.PASS
    assert await conv.processor.accept(command) is Verdict.DUPLICATE
    await conv.processor.drain()
    assert [j.text for j in await queued(rt, 801)].count("Администратор: Здравствуйте, чем помочь?") == 1


async def test_buffers_filled_before_the_ready_index_are_found_at_start(
    rt: Runtime, conv: Conversation, dispatcher: Callable[[], None]
) -> None:
    """A version that only buffered (no ready index) left messages behind: the dispatcher finds them."""
    stop_first = dispatcher
    stop_first()
    await rt.redis.rpush(keys.buffer("telegram", 901), said(901, "привет").model_dump_json())
    stop = asyncio.Event()
    task = asyncio.create_task(conv.processor.run(stop))
    try:
        await until(replies(rt, 901))
    finally:
        stop.set()
        await task


async def test_turns_waiting_on_a_slow_crm_hold_no_place_of_the_turns_that_could_run(
    rt: Runtime, conv: Conversation
) -> None:
    """Room for two turns at once (as under overload, when the limit shrinks to its floor), four schedule
    questions waiting on a hung CRM: a fifth chat's question is still answered at once (`waits.outside`)."""
    assert conv.fake_crm is not None
    processor = InboundProcessor(rt, conv.runner, AdminCommands(rt, conv.runner), concurrency=2)
    stop = asyncio.Event()
    task = asyncio.create_task(processor.run(stop))
    await rt.redis.delete(keys.cache("schedule"))
    conv.fake_crm.hang_seconds = 4.0
    conv.fake_crm.set_mode("hang")
    try:
        for chat in (311, 312, 313, 314):
            await processor.accept(said(chat, "какое расписание на хилс на завтра?"))
        await asyncio.sleep(0.3)  # all four now wait on the CRM
        started = time.monotonic()
        await processor.accept(said(315, "где вы находитесь?"))
        await until(replies(rt, 315), timeout=3.0)
        assert time.monotonic() - started < 2.0  # not behind the hung CRM (4 s)
        assert all([await queued(rt, c) == [] for c in (311, 312, 313, 314)])  # still waiting
    finally:
        conv.fake_crm.set_mode(None)
        for chat in (311, 312, 313, 314):
            await until(replies(rt, chat))
        stop.set()
        await task
