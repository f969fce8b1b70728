"""Timeouts swept by the worker (PRODUCT.md §5.7) and messages buffered during a booking."""

from __future__ import annotations

import asyncio
import json
import time

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.session import Slots
from dancebot.conversation.sweeps import sweep_sessions
from dancebot.conversation.verify import run_due_verifications
from dancebot.crm.models import Occurrence
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.wiring import Conversation
from tests.conftest import ADMIN_CHAT_ID
from tests.engine.conftest import NOW


async def _queued(rt: Runtime) -> list[OutboundJob]:
    return [OutboundJob.loads(raw) for raw in reversed(await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1))]


async def _occurrence(conv: Conversation) -> Occurrence:
    return next(o for o in await conv.crm.occurrences(NOW) if o.is_bookable)


async def _confirm_session(rt: Runtime, conv: Conversation, chat_id: int, age: float) -> None:
    s = await rt.sessions.load("telegram", chat_id)
    s.enter("CONFIRM_BOOKING")
    s.state_since = time.time() - age
    s.language = "ru"
    s.slots = Slots(
        occurrence=await _occurrence(conv), style="high_heels", client_name="Анна", client_phone="+79141234567"
    )
    await rt.sessions.save(s)


async def test_an_unconfirmed_summary_is_asked_once_after_an_hour_and_dropped_after_three(
    rt: Runtime, conv: Conversation
) -> None:
    await _confirm_session(rt, conv, 11, age=59 * 60)
    assert await sweep_sessions(rt, conv.runner) == 0
    await _confirm_session(rt, conv, 11, age=61 * 60)
    assert await sweep_sessions(rt, conv.runner) == 1
    assert await sweep_sessions(rt, conv.runner) == 0  # one re-prompt, not one per sweep
    jobs = await _queued(rt)
    assert len(jobs) == 1 and jobs[0].chat_id == 11 and "Ещё актуально?" in jobs[0].text
    assert [b.data.split(":")[0] for row in jobs[0].buttons for b in row] == ["yes", "no"]

    s = await rt.sessions.load("telegram", 11)
    s.state_since = time.time() - 3 * 3600 - 1
    await rt.sessions.save(s)
    assert await sweep_sessions(rt, conv.runner) == 1
    s = await rt.sessions.load("telegram", 11)
    assert s.state == "IDLE" and s.slots == Slots()
    assert "не подтвердили" in (await _queued(rt))[-1].text


async def test_a_booking_turn_that_died_becomes_a_verify_request_for_the_admin(rt: Runtime, conv: Conversation) -> None:
    await _confirm_session(rt, conv, 12, age=0)
    s = await rt.sessions.load("telegram", 12)
    s.enter("BOOKING_IN_PROGRESS")
    s.state_since = time.time() - 60
    await rt.sessions.save(s)
    assert await sweep_sessions(rt, conv.runner) == 1
    assert (await rt.sessions.load("telegram", 12)).state == "IDLE"
    assert any(j.chat_id == 12 and "проверяю" in j.text for j in await _queued(rt))  # told, not left waiting
    assert await rt.redis.llen(keys.FALLBACK_QUEUE) == 0  # not yet: the CRM is read again first
    now = time.time()
    for later in (30, 120, 400, 1200):  # every verification read finds nothing
        assert await run_due_verifications(rt, conv.crm, now=now + later) == 1
    assert await rt.redis.zcard(keys.VERIFY) == 0
    item = json.loads((await rt.redis.lrange(keys.FALLBACK_QUEUE, 0, -1))[0])
    assert item["kind"] == "verify" and item["details"]["phone"] == "+79141234567"
    jobs = await _queued(rt)
    assert any(j.chat_id == 12 and "администратор проверит" in j.text.lower() for j in jobs)
    assert any(j.chat_id == ADMIN_CHAT_ID and "+79141234567" in j.text for j in jobs)


async def test_the_admin_hears_again_after_two_hours_and_the_client_after_four(rt: Runtime, conv: Conversation) -> None:
    s = await rt.sessions.load("telegram", 13)
    s.enter("HANDOFF_TO_ADMIN")
    s.state_since = time.time() - 2 * 3600 - 5
    await rt.sessions.save(s)
    assert await sweep_sessions(rt, conv.runner) == 1
    assert any(j.chat_id == ADMIN_CHAT_ID and "2 часа" in j.text for j in await _queued(rt))
    s = await rt.sessions.load("telegram", 13)
    s.enter("ADMIN_RESPONDING")
    s.state_since = time.time() - 4 * 3600 - 5
    await rt.sessions.save(s)
    assert await sweep_sessions(rt, conv.runner) == 1
    assert (await rt.sessions.load("telegram", 13)).state == "IDLE"
    assert "ответит чуть позже" in (await _queued(rt))[-1].text


async def test_a_message_during_a_booking_waits_and_is_answered_after_it(rt: Runtime, conv: Conversation) -> None:
    chat = 14
    s = await rt.sessions.load("telegram", chat)
    s.enter("BOOKING_IN_PROGRESS")
    await rt.sessions.save(s)
    lock = rt.redis.lock(keys.lock("telegram", chat), timeout=30)
    await lock.acquire()  # the booking turn holds the chat
    msg = UnifiedMessage(
        channel="telegram",
        chat_id=chat,
        message_id="77",
        timestamp=NOW.now(NOW.tzinfo),
        text="что взять на первое занятие?",
    )
    task = asyncio.create_task(conv.processor.process(msg))
    deadline = time.monotonic() + 10
    while not await rt.redis.llen(keys.buffer("telegram", chat)) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    assert await rt.redis.llen(keys.buffer("telegram", chat)) == 1
    assert await _queued(rt) == []  # nothing answered while the booking runs
    s.enter("IDLE")  # the booking turn ends…
    await rt.sessions.save(s)
    await lock.release()
    await asyncio.wait_for(task, 10)
    replies = [j for j in await _queued(rt) if j.kind == "message"]
    assert len(replies) == 1 and "удобную одежду" in replies[0].text.lower()
    assert await rt.redis.llen(keys.buffer("telegram", chat)) == 0


async def test_a_typed_number_picks_the_button_with_that_number(rt: Runtime, conv: Conversation) -> None:
    """PRODUCT.md §5.3 "numbered list / buttons": the engine maps "2" to the second offered button."""
    s = await rt.sessions.load("telegram", 15)
    first = UnifiedMessage(channel="telegram", chat_id=15, message_id="1", timestamp=NOW, text="хочу на хилс")
    jobs = await conv.runner.handle(first, s)
    offered = [b.data for row in jobs[0].buttons for b in row]
    second = UnifiedMessage(channel="telegram", chat_id=15, message_id="2", timestamp=NOW, text="2")
    await conv.runner.handle(second, s)
    assert s.state == "COLLECTING_CONTACT"
    assert s.slots.occurrence is not None
    assert s.slots.occurrence.occurrence_id == offered[1].removeprefix("pick:")


async def test_crm_down_while_collecting_asks_for_a_phone_then_records_one_complete_request(
    rt: Runtime, conv: Conversation
) -> None:
    """Degradation L1 (PRODUCT.md §9.3): nothing lost, and the admin gets a request with a phone to call back."""
    assert conv.fake_crm is not None
    await conv.crm.invalidate_schedule()  # nothing cached: the CRM must be asked
    conv.fake_crm.set_mode("500")
    s = await rt.sessions.load("telegram", 16)
    say = lambda i, text: UnifiedMessage(  # noqa: E731
        channel="telegram", chat_id=16, message_id=str(i), timestamp=NOW, text=text
    )
    first = await conv.runner.handle(say(1, "хочу на хилс в пятницу"), s)
    assert "номер" in first[0].text and first[0].request_contact
    assert await rt.redis.llen(keys.FALLBACK_QUEUE) == 0  # no request nobody can answer
    second = await conv.runner.handle(say(2, "Анна 89141234567"), s)
    assert "администратор" in second[0].text.lower() and s.state == "IDLE"
    items = [json.loads(raw) for raw in await rt.redis.lrange(keys.FALLBACK_QUEUE, 0, -1)]
    assert len(items) == 1 and items[0]["details"]["phone"] == "+79141234567"
    assert "хилс" in items[0]["details"]["request"]
    conv.fake_crm.set_mode(None)
