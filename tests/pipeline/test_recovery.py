"""Session recovery (PRODUCT.md §5.7): a booking left in BOOKING_IN_PROGRESS for over a minute is verified
(the client told, the admin asked when the CRM does not show it) and the chat returns to IDLE; any state
older than 24 h returns to IDLE; ADMIN_RESPONDING over 4 h tells the client and returns to IDLE — in the
worker's sweep, and at start-up for what a stopped stack left behind."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest
from redis import Redis as SyncRedis

from dancebot.conversation.session import SESSION_TTL, Session, Slots
from dancebot.conversation.sweeps import sweep_sessions
from dancebot.conversation.verify import run_due_verifications
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.wiring import Conversation
from tests.conftest import ADMIN_CHAT_ID
from tests.factories import occ
from tests.pipeline.conftest import Pipeline, PipelineFactory

THU_HEELS = occ(304, "2026-12-03", "20:00", 11, 101, 2)
MINUTE, HOUR = 60, 3600


def stuck_booking(chat_id: int, age: float) -> Session:
    s = Session(channel="telegram", chat_id=chat_id, state="BOOKING_IN_PROGRESS", language="ru")
    s.slots = Slots(occurrence=THU_HEELS, style="high_heels", client_name="Анна", client_phone="+79141234567")
    s.state_since = time.time() - age
    return s


def collecting_for(chat_id: int, age: float) -> Session:
    s = Session(channel="telegram", chat_id=chat_id, state="COLLECTING_CONTACT", language="ru")
    s.slots = Slots(occurrence=THU_HEELS, style="high_heels", client_name="Анна")
    s.state_since = time.time() - age  # the client kept writing, so the key never expired
    return s


def admin_responding(chat_id: int, age: float) -> Session:
    s = Session(channel="telegram", chat_id=chat_id, state="ADMIN_RESPONDING", language="ru")
    s.state_since = time.time() - age
    return s


async def queued(rt: Runtime, chat_id: int) -> list[str]:
    jobs = [OutboundJob.loads(raw) for raw in reversed(await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1))]
    return [j.text for j in jobs if j.chat_id == chat_id]


# ---- in the sweep ---------------------------------------------------------------------------------


async def test_a_booking_stuck_over_a_minute_is_verified_and_the_chat_returns_to_idle(
    rt: Runtime, conv: Conversation
) -> None:
    await rt.sessions.save(stuck_booking(11, age=61))
    assert await sweep_sessions(rt, conv.runner) == 1
    assert (await rt.sessions.load("telegram", 11)).state == "IDLE"
    [told] = await queued(rt, 11)
    assert "проверяю" in told
    for later in (30, 120, 400, 1200):  # the CRM never shows it: the admin gets a "verify" request
        await run_due_verifications(rt, conv.crm, now=time.time() + later)
    item = json.loads((await rt.redis.lrange(keys.FALLBACK_QUEUE, 0, -1))[0])
    assert item["kind"] == "verify" and item["details"]["phone"] == "+79141234567"
    assert "Администратор проверит" in (await queued(rt, 11))[-1]


async def test_a_state_older_than_a_day_returns_to_idle_silently(rt: Runtime, conv: Conversation) -> None:
    await rt.sessions.save(collecting_for(12, age=25 * HOUR))
    await rt.sessions.save(collecting_for(13, age=23 * HOUR))
    assert await sweep_sessions(rt, conv.runner) == 1
    expired = await rt.sessions.load("telegram", 12)
    assert expired.state == "IDLE" and expired.slots == Slots()
    assert (await rt.sessions.load("telegram", 13)).state == "COLLECTING_CONTACT"
    assert await queued(rt, 12) == []


async def test_an_admin_conversation_over_four_hours_tells_the_client_and_ends(rt: Runtime, conv: Conversation) -> None:
    await rt.sessions.save(admin_responding(14, age=4 * HOUR + MINUTE))
    await rt.sessions.save(admin_responding(15, age=3 * HOUR))
    assert await sweep_sessions(rt, conv.runner) == 1
    assert (await rt.sessions.load("telegram", 14)).state == "IDLE"
    assert (await rt.sessions.load("telegram", 15)).state == "ADMIN_RESPONDING"
    [told] = await queued(rt, 14)
    assert "ответит чуть позже" in told


async def test_a_stuck_booking_takes_the_message_that_started_it_out_of_the_buffer(
    rt: Runtime, conv: Conversation
) -> None:
    """The turn of "да" died mid-booking and the app stayed down: the sweep resolves the booking, and when
    the app is back the "да" is not taken for a new answer; the message after it is."""
    from tests.pipeline.test_inbound import said

    yes, after = said(16, "да"), said(16, "а что взять с собой?")
    await rt.sessions.save(stuck_booking(16, age=2 * MINUTE))
    for msg in (yes, after):
        await rt.redis.rpush(keys.buffer("telegram", 16), msg.model_dump_json())
    await rt.redis.zadd(keys.INBOX_READY, {"telegram:16": time.time()})
    await rt.redis.set(keys.inbox_turn("telegram", 16), yes.dedup_id)
    assert await sweep_sessions(rt, conv.runner) == 1
    assert await rt.redis.llen(keys.buffer("telegram", 16)) == 1
    await conv.processor.drain()
    told = await queued(rt, 16)
    assert len(told) == 2 and "проверяю" in told[0] and "удобную одежду" in told[1].lower()


# ---- at start-up ----------------------------------------------------------------------------------


def _leave_behind(sessions: list[Session]) -> Callable[[SyncRedis], None]:
    def write(r: SyncRedis) -> None:
        for s in sessions:
            key = keys.session(s.channel, s.chat_id)
            r.set(key, s.model_dump_json(), ex=SESSION_TTL)
            r.zadd(keys.SESSION_INDEX, {key: time.time()})

    return write


async def _until(p: Pipeline, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out:\n{p.stack.log_text()[-2000:]}"
        await asyncio.sleep(0.1)


def _state(p: Pipeline, chat_id: int) -> str:
    with p.sync_redis() as r:
        raw = r.get(keys.session("telegram", chat_id))
    return Session.model_validate_json(raw).state if raw else "IDLE"


@pytest.mark.e2e
@pytest.mark.slow
async def test_what_a_stopped_stack_left_behind_is_recovered_when_it_starts(
    pipeline: PipelineFactory, chat: Callable[[], int]
) -> None:
    booking, stale, admin = chat(), chat(), chat()
    left = [stuck_booking(booking, 10 * MINUTE), collecting_for(stale, 30 * HOUR), admin_responding(admin, 5 * HOUR)]
    with pipeline(before=_leave_behind(left), env={"DANCEBOT_VERIFY_DELAYS": "1,1,1"}) as p:
        await _until(p, lambda: all(_state(p, c) == "IDLE" for c in (booking, stale, admin)))
        await _until(p, lambda: len(p.tg.sent_to(booking)) == 2)  # "checking…", then "the admin will check"
        await _until(p, lambda: bool(p.tg.sent_to(admin)))
        first, second = (m.text for m in p.tg.sent_to(booking))
        assert "проверяю" in first and "Администратор проверит" in second
        assert any("+79141234567" in m.text for m in p.tg.sent_to(ADMIN_CHAT_ID))
        assert "ответит чуть позже" in p.tg.sent_to(admin)[0].text
        await asyncio.sleep(1)
        assert p.tg.sent_to(stale) == []
        assert len(p.tg.sent_to(booking)) == 2 and len(p.tg.sent_to(admin)) == 1  # once, not once per sweep
