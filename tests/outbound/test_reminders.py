"""Reminders T−24 h and T−2 h (PRODUCT.md §10): scheduled with a booking, sent on time, never late, removed
with a cancel — on real Redis."""

from __future__ import annotations

import datetime as dt

from dancebot.outbound import reminders
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from tests.factories import TZ, occ

CLASS = occ(303, "2026-12-05", "19:00", 11, 101, 2)  # Sat 19:00, High Heels, Гоголя


async def _sent(rt: Runtime) -> list[OutboundJob]:
    return [OutboundJob.loads(raw) for raw in reversed(await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1))]


async def test_both_reminders_are_sent_at_their_time_with_the_class_and_address(rt: Runtime) -> None:
    booked_at = dt.datetime(2026, 12, 2, 15, 0, tzinfo=TZ)
    assert await reminders.schedule(rt, channel="telegram", chat_id=42, occurrence=CLASS, name="Анна", lang="ru",
                                    now=booked_at) == 2  # fmt: skip
    day_before = (CLASS.start - dt.timedelta(hours=24)).timestamp()
    assert await reminders.send_due(rt, now=day_before - 60) == 0  # not yet
    assert await reminders.send_due(rt, now=day_before + 60) == 1
    assert await reminders.send_due(rt, now=day_before + 120) == 0  # sent once
    two_hours = (CLASS.start - dt.timedelta(hours=2)).timestamp()
    assert await reminders.send_due(rt, now=two_hours + 10) == 1
    first, second = await _sent(rt)
    assert first.chat_id == 42 and first.purpose == "reminder"
    assert "завтра" in first.text and "19:00" in first.text and "Гоголя, 41" in first.text
    assert "Через 2 часа" in second.text and "High Heels" in second.text


async def test_a_booking_made_less_than_a_day_ahead_gets_only_the_two_hour_reminder(rt: Runtime) -> None:
    late = CLASS.start - dt.timedelta(hours=5)
    assert await reminders.schedule(rt, channel="telegram", chat_id=43, occurrence=CLASS, name="Анна", lang="en",
                                    now=late) == 1  # fmt: skip
    assert await reminders.send_due(rt, now=(CLASS.start - dt.timedelta(hours=2)).timestamp()) == 1
    assert "in 2 hours" in (await _sent(rt))[0].text


async def test_a_reminder_later_than_its_tolerance_is_dropped_not_sent_wrong(rt: Runtime) -> None:
    booked_at = dt.datetime(2026, 12, 2, 15, 0, tzinfo=TZ)
    await reminders.schedule(rt, channel="telegram", chat_id=44, occurrence=CLASS, name="Анна", lang="ru",
                             now=booked_at)  # fmt: skip
    worker_back = (CLASS.start - dt.timedelta(minutes=30)).timestamp()  # the worker was down for a day
    assert await reminders.send_due(rt, now=worker_back) == 0
    assert await _sent(rt) == []
    assert await rt.redis.zcard(keys.REMINDERS) == 0


async def test_cancelling_removes_the_bookings_reminders(rt: Runtime) -> None:
    booked_at = dt.datetime(2026, 12, 2, 15, 0, tzinfo=TZ)
    await reminders.schedule(rt, channel="telegram", chat_id=45, occurrence=CLASS, name="Анна", lang="ru",
                             now=booked_at)  # fmt: skip
    assert await reminders.remove(rt, channel="telegram", chat_id=45, occurrence_id=CLASS.occurrence_id) == 2
    assert await reminders.send_due(rt, now=CLASS.start.timestamp()) == 0
