"""Reminders T−24 h and T−2 h (PRODUCT.md §10.2) on real Redis with the clock passed in: sent on time
within their tolerance (24 h ± 30 min, 2 h ± 5 min) and never later, once however many workers ask,
removed with a cancel, and dropped when the CRM no longer holds the reservation."""

from __future__ import annotations

import asyncio
import datetime as dt

from dancebot.outbound import reminders
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.audit import flush_audit
from dancebot.wiring import Conversation
from tests.e2e.helpers import message_rows
from tests.factories import NOW, TZ, occ

CLASS = occ(303, "2026-12-05", "19:00", 11, 101, 2)  # Sat 19:00, High Heels, Гоголя
DAY_BEFORE = (CLASS.start - dt.timedelta(hours=24)).timestamp()
TWO_HOURS = (CLASS.start - dt.timedelta(hours=2)).timestamp()
MINUTE = 60


async def _sent(rt: Runtime) -> list[OutboundJob]:
    return [OutboundJob.loads(raw) for raw in reversed(await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1))]


async def _book(rt: Runtime, chat_id: int, *, lang: str = "ru", phone: str | None = None) -> int:
    booked_at = dt.datetime(2026, 12, 2, 15, 0, tzinfo=TZ)
    return await reminders.schedule(
        rt, channel="telegram", chat_id=chat_id, occurrence=CLASS, name="Анна", lang=lang, now=booked_at, phone=phone
    )


async def test_both_reminders_are_sent_at_their_time_with_the_class_and_address(rt: Runtime) -> None:
    assert await _book(rt, 42) == 2
    assert await reminders.send_due(rt, now=DAY_BEFORE - 60) == 0  # not yet
    assert await reminders.send_due(rt, now=DAY_BEFORE + 60) == 1
    assert await reminders.send_due(rt, now=DAY_BEFORE + 120) == 0  # sent once
    assert await reminders.send_due(rt, now=TWO_HOURS + 10) == 1
    first, second = await _sent(rt)
    assert first.chat_id == 42 and first.purpose == "reminder"
    assert "завтра" in first.text and "19:00" in first.text and "Гоголя, 41" in first.text
    assert "Через 2 часа" in second.text and "High Heels" in second.text
    await flush_audit(rt.redis, rt.db)
    rows = await message_rows(rt.db, 42, 2)
    assert [(r.direction, r.state, r.text) for r in rows] == [("out", "REMINDER", j.text) for j in (first, second)]


async def test_the_runtime_clock_decides_when_no_moment_is_given(rt: Runtime) -> None:
    await _book(rt, 46)
    rt.clock = lambda: dt.datetime.fromtimestamp(DAY_BEFORE - 60, TZ)
    assert await reminders.send_due(rt) == 0
    rt.clock = lambda: dt.datetime.fromtimestamp(DAY_BEFORE + 25 * MINUTE, TZ)
    assert await reminders.send_due(rt) == 1


async def test_each_reminder_goes_out_within_its_tolerance_and_never_later(rt: Runtime) -> None:
    for chat, (late_24h, late_2h) in {47: (29, 4), 48: (31, 6)}.items():
        await _book(rt, chat)
        await reminders.send_due(rt, now=DAY_BEFORE + late_24h * MINUTE)
        await reminders.send_due(rt, now=TWO_HOURS + late_2h * MINUTE)
    sent = await _sent(rt)
    assert [(j.chat_id, "завтра" in j.text) for j in sent] == [(47, True), (47, False)]  # 48: both too late
    assert await rt.redis.zcard(keys.REMINDERS) == 0  # dropped, not kept for later


async def test_a_booking_made_less_than_a_day_ahead_gets_only_the_two_hour_reminder(rt: Runtime) -> None:
    late = CLASS.start - dt.timedelta(hours=5)
    assert await reminders.schedule(rt, channel="telegram", chat_id=43, occurrence=CLASS, name="Анна", lang="en",
                                    now=late) == 1  # fmt: skip
    assert await reminders.send_due(rt, now=TWO_HOURS) == 1
    assert "in 2 hours" in (await _sent(rt))[0].text


async def test_a_reminder_later_than_its_tolerance_is_dropped_not_sent_wrong(rt: Runtime) -> None:
    await _book(rt, 44)
    worker_back = (CLASS.start - dt.timedelta(minutes=30)).timestamp()  # the worker was down for a day
    assert await reminders.send_due(rt, now=worker_back) == 0
    assert await _sent(rt) == []
    assert await rt.redis.zcard(keys.REMINDERS) == 0


async def test_cancelling_removes_the_bookings_reminders(rt: Runtime) -> None:
    await _book(rt, 45)
    assert await reminders.remove(rt, channel="telegram", chat_id=45, occurrence_id=CLASS.occurrence_id) == 2
    assert await reminders.send_due(rt, now=DAY_BEFORE + 60) == 0
    assert await reminders.send_due(rt, now=TWO_HOURS + 60) == 0


async def test_workers_asking_at_once_queue_each_reminder_once(rt: Runtime) -> None:
    for chat in range(50, 60):
        await _book(rt, chat)
    counts = await asyncio.gather(*(reminders.send_due(rt, now=DAY_BEFORE + 60) for _ in range(4)))
    assert sum(counts) == 10
    assert sorted(j.chat_id for j in await _sent(rt)) == list(range(50, 60))


async def test_the_reservation_is_checked_in_the_crm_before_a_reminder(rt: Runtime, conv: Conversation) -> None:
    assert conv.fake_crm is not None
    occurrence = next(
        o for o in await conv.crm.occurrences(NOW) if o.is_bookable and o.start > NOW + dt.timedelta(days=1)
    )
    kept, gone, unknown = "+79140000001", "+79140000002", "+79140000003"
    for chat, phone in ((61, kept), (62, gone), (63, unknown)):
        result = await conv.crm.book(occurrence=occurrence, name="Анна", phone_e164=phone, channel="telegram",
                                     chat_id=chat, trace_id=f"t{chat}")  # fmt: skip
        assert result.status == "booked"
        await reminders.schedule(rt, channel="telegram", chat_id=chat, occurrence=occurrence, name="Анна", lang="ru",
                                 now=NOW, phone=phone if chat != 63 else None)  # fmt: skip
    client = await conv.crm.find_client(gone)
    assert client is not None
    for r in conv.fake_crm.active_reservations(client_id=client.id):
        r["archived"] = True  # the administrator cancelled it in the CRM, not through the bot
    due = (occurrence.start - dt.timedelta(hours=24)).timestamp() + 60
    assert await reminders.send_due(rt, now=due, crm=conv.crm) == 2
    assert sorted(j.chat_id for j in await _sent(rt)) == [61, 63]  # 63: no phone known, sent unchecked

    conv.fake_crm.set_mode("500")  # the CRM is down: every two-hour reminder goes, unchecked
    try:
        two_hours = (occurrence.start - dt.timedelta(hours=2)).timestamp() + 60
        assert await reminders.send_due(rt, now=two_hours, crm=conv.crm) == 3
    finally:
        conv.fake_crm.set_mode(None)
