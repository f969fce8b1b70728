"""A booking whose outcome was unknown and that the worker later finds in the CRM (PRODUCT.md §7.3) gets its
reminders with the phone it was booked with (PRODUCT.md §10.2) — as a booking confirmed at once does
(tests/engine/test_reminder_phone.py): before sending, the worker re-checks that very reservation, not
whatever phone the chat's profile holds by then. Real Redis, the in-process fake CRM."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from dancebot.conversation.session import Profile
from dancebot.conversation.verify import VerifyJob, run_due_verifications, schedule_verification
from dancebot.outbound import reminders
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.wiring import Conversation
from tests.engine.conftest import NOW

PHONE = "+79147770042"
OTHER = "+79140000099"


async def _reminders(rt: Runtime, chat_id: int) -> list[dict[str, Any]]:
    members = [json.loads(m) for m in await rt.redis.zrange(keys.REMINDERS, 0, -1)]
    return [m for m in members if m["chat_id"] == chat_id]


async def test_a_verified_booking_schedules_reminders_that_check_its_own_phone(rt: Runtime, conv: Conversation) -> None:
    chat_id = 31
    occ = next(o for o in await conv.crm.occurrences(NOW) if o.is_bookable and o.start - NOW > dt.timedelta(hours=30))
    job = VerifyJob(
        channel="telegram", chat_id=chat_id, occurrence=occ, name="Вера", phone=PHONE, lang="ru", trace_id="tvp"
    )
    # The chat's profile holds another number (the client booked a friend with the friend's phone).
    await rt.sessions.save_profile("telegram", chat_id, Profile(name="Анна", phone=OTHER))
    t0 = time.time()
    await schedule_verification(rt, job, now=t0)
    client_id, _ = await conv.crm.ensure_client("Вера", PHONE)  # the slow create landed
    template = next(t for t in await conv.crm.cache.templates() if t.id == occ.schedule_id)
    await conv.crm._client.create_booking(client_id, template, occ.date)

    assert await run_due_verifications(rt, conv.crm, now=t0 + 25) == 1
    members = await _reminders(rt, chat_id)
    assert members, "the verified booking got no reminders"
    assert {m.get("phone") for m in members} == {PHONE}  # the booking's phone, never the profile's

    # The reservation made with PHONE stands; the profile's OTHER has none: the reminder still goes.
    due = (occ.start - dt.timedelta(hours=24)).timestamp() + 60
    assert await reminders.send_due(rt, now=due, crm=conv.crm) == 1
