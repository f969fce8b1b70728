"""Bookings with an unknown outcome (PRODUCT.md §7.3): the worker re-reads the CRM at growing intervals and
never creates again. Found → one receipt and the reminders; never found → the admin verifies."""

from __future__ import annotations

import asyncio
import json
import time

from dancebot.conversation.verify import VerifyJob, run_due_verifications, schedule_verification
from dancebot.crm.models import Occurrence
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.wiring import Conversation
from tests.conftest import ADMIN_CHAT_ID
from tests.engine.conftest import NOW

PHONE = "+79147770011"


async def _replies(rt: Runtime, chat_id: int) -> list[OutboundJob]:
    jobs = [OutboundJob.loads(raw) for raw in reversed(await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1))]
    return [j for j in jobs if j.chat_id == chat_id]


async def _job(conv: Conversation, chat_id: int) -> tuple[VerifyJob, Occurrence]:
    occ = next(o for o in await conv.crm.occurrences(NOW) if o.is_bookable and o.style_id == 11)
    job = VerifyJob(
        channel="telegram", chat_id=chat_id, occurrence=occ, name="Вера", phone=PHONE, lang="ru", trace_id="tv"
    )
    return job, occ


async def test_a_booking_that_lands_late_gets_one_receipt_even_with_two_workers(
    rt: Runtime, conv: Conversation
) -> None:
    job, occ = await _job(conv, 21)
    t0 = time.time()
    await schedule_verification(rt, job, now=t0)
    assert await run_due_verifications(rt, conv.crm, now=t0 + 5) == 0  # not due yet
    assert await run_due_verifications(rt, conv.crm, now=t0 + 25) == 1  # first read: not there
    assert await _replies(rt, 21) == [] and await rt.redis.zcard(keys.VERIFY) == 1

    client_id, _ = await conv.crm.ensure_client("Вера", PHONE)  # the slow create lands now
    template = next(t for t in await conv.crm.cache.templates() if t.id == occ.schedule_id)
    await conv.crm._client.create_booking(client_id, template, occ.date)

    later = t0 + 25 + 61
    done = await asyncio.gather(*(run_due_verifications(rt, conv.crm, now=later) for _ in range(2)))
    assert sum(done) == 1  # two workers, one read
    [receipt] = await _replies(rt, 21)
    assert "записаны" in receipt.text and occ.start.strftime("%d.%m") in receipt.text
    assert await rt.redis.zcard(keys.VERIFY) == 0
    reminders = [json.loads(m) for m in await rt.redis.zrange(keys.REMINDERS, 0, -1)]
    assert any(r["chat_id"] == 21 and r["occurrence_id"] == occ.occurrence_id for r in reminders)
    assert await rt.redis.llen(keys.FALLBACK_QUEUE) == 0
    assert len(conv.fake_crm.active_reservations(schedule_id=occ.schedule_id, day=occ.date, client_id=client_id)) == 1


async def test_never_found_goes_to_the_admin_and_the_client_is_told_once(rt: Runtime, conv: Conversation) -> None:
    job, _ = await _job(conv, 22)
    t0 = time.time()
    await schedule_verification(rt, job, now=t0)
    for later in (25, 90, 300, 1000, 2000):
        await run_due_verifications(rt, conv.crm, now=t0 + later)
    [told] = await _replies(rt, 22)
    assert "администратор" in told.text.lower()
    [item] = [json.loads(raw) for raw in await rt.redis.lrange(keys.FALLBACK_QUEUE, 0, -1)]
    assert item["kind"] == "verify" and item["details"]["phone"] == PHONE
    assert any(PHONE in j.text for j in await _replies(rt, ADMIN_CHAT_ID))
