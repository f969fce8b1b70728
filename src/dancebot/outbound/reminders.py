"""Class reminders (PRODUCT.md §10.2): T−24 h and T−2 h, only those still ahead, in a Redis ZSET.

The worker's chore `send_due` takes due reminders one by one: removing it from the ZSET, queueing its
outbound job (whose id is derived from the reminder) and its audit row happen in one script, so two
workers, or a worker killed mid-way and restarted, never queue one twice and never lose one. Before
that, the CRM is asked whether the reservation still exists (when it can be asked). Cancelling a
booking through the bot removes its reminders through a per-booking index. The clock is the runtime's
(`Runtime.clock`, frozen by DANCEBOT_FROZEN_NOW in tests), or the `now` passed in.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from dancebot.crm.errors import CRMError
from dancebot.crm.models import BookedClass, Occurrence
from dancebot.logs import get_logger
from dancebot.outbound import templates
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.queue import WAKE_LUA
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.audit import Audit

__all__ = ["OFFSETS", "TOLERANCE", "BookingsReader", "remove", "schedule", "send_due"]

log = get_logger(__name__)


class BookingsReader(Protocol):
    """What the reservation check needs of the CRM (`CRMService`)."""

    async def client_bookings(self, phone_e164: str, now: datetime | None = None) -> list[BookedClass]: ...


OFFSETS = {"24h": timedelta(hours=24), "2h": timedelta(hours=2)}
# The SLA (PRODUCT.md §10): 24 h ± 30 min, 2 h ± 5 min. A reminder later than that (the worker was down) is
# dropped rather than sent wrong ("через 2 часа" when the class has started).
TOLERANCE = {"24h": 30 * 60, "2h": 5 * 60}
# KEYS: reminders, outbound queue, audit queue   ARGV: reminder, job, audit row
_SEND = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LPUSH', KEYS[3], ARGV[3])
__WAKE__
return 1
""".replace("__WAKE__", WAKE_LUA.format(key=keys.OUTBOUND_WAKE))
_TEXTS = {
    "ru": {
        "24h": "Напоминаем: завтра {when} — {klass}, {where}. Ждём вас 💃",
        "2h": "Через 2 часа занятие: {klass}, {when}, {where}. До встречи!",
    },
    "en": {
        "24h": "Reminder: tomorrow {when} — {klass}, {where}. See you 💃",
        "2h": "Your class is in 2 hours: {klass}, {when}, {where}. See you!",
    },
}


async def schedule(
    rt: Runtime,
    *,
    channel: str,
    chat_id: int,
    occurrence: Occurrence,
    name: str,
    lang: str,
    now: datetime,
    phone: str | None = None,
) -> int:
    """Add the booking's reminders still ahead of `now`; `phone` (else the chat's profile) lets the worker
    check the reservation before sending."""
    from dancebot.conversation import render  # rendering lives with the conversation

    texts = _TEXTS.get(lang, _TEXTS["ru"])
    fields = {
        "when": render.when_label(occurrence, lang),
        "klass": render.class_label(occurrence, rt.kb, lang),
        "where": render.branch_address(occurrence, rt.kb),
        "name": name,
    }
    index = keys.reminder_index(channel, chat_id, occurrence.occurrence_id)
    added = 0
    pipe = rt.redis.pipeline(transaction=True)  # all of them or none, in one round trip
    for kind, offset in OFFSETS.items():
        due = occurrence.start - offset
        if due <= now:
            continue
        member = json.dumps(
            {
                "v": 1,
                "kind": kind,
                "channel": channel,
                "chat_id": chat_id,
                "occurrence_id": occurrence.occurrence_id,
                "text": texts[kind].format(**fields),
                "template": templates.for_reminder(channel, kind, occurrence.start, fields),  # WhatsApp
                **({"phone": phone} if phone else {}),
            },
            ensure_ascii=False,
        )
        pipe.zadd(keys.REMINDERS, {member: due.timestamp()})
        pipe.sadd(index, member)
        pipe.expireat(index, int(occurrence.start.timestamp()) + 3600)
        added += 1
    if added:
        await pipe.execute()
    return added


async def remove(rt: Runtime, *, channel: str, chat_id: int, occurrence_id: str) -> int:
    index = keys.reminder_index(channel, chat_id, occurrence_id)
    members = await rt.redis.smembers(index)
    if members:
        await rt.redis.zrem(keys.REMINDERS, *members)
    await rt.redis.delete(index)
    return len(members)


async def send_due(rt: Runtime, now: float | None = None, *, crm: BookingsReader | None = None) -> int:
    """Queue every reminder that is due at `now` (default: the runtime's clock); returns how many.

    Each is claimed and queued in one script (`_SEND`): two workers, or a worker restarted mid-way, never
    queue one twice. One later than its tolerance is dropped; so is one whose reservation the CRM no longer
    has (cancelled in the CRM itself), when the CRM can be asked — a CRM that is down does not stop it."""
    now = rt.now().timestamp() if now is None else now
    # (member bytes, score) pairs: withscores=True, decode_responses=False; redis-py types every variant.
    due = cast(
        "list[tuple[bytes, float]]",
        await rt.redis.zrangebyscore(keys.REMINDERS, 0, now, start=0, num=200, withscores=True),
    )
    script = rt.redis.register_script(_SEND)
    sent = 0
    for member, due_at in due:
        try:
            item = json.loads(member)
            late = now - due_at > TOLERANCE.get(item["kind"], 0)
        except (ValueError, KeyError, TypeError):
            log.error("reminder.unreadable", member=str(member)[:200])
            await rt.redis.zrem(keys.REMINDERS, member)
            continue
        if late:
            if await rt.redis.zrem(keys.REMINDERS, member):
                log.warning("reminder.too_late", kind=item["kind"], chat_id=item["chat_id"])
            continue
        if crm is not None and not await _still_booked(rt, crm, item):
            if await rt.redis.zrem(keys.REMINDERS, member):
                log.info("reminder.booking_gone", kind=item["kind"], chat_id=item["chat_id"])
            continue
        job = OutboundJob(
            job_id=hashlib.sha256(member).hexdigest()[:32],  # the same reminder is the same job, whoever queues it
            chat_id=int(item["chat_id"]),
            channel=item["channel"],
            text=item["text"],
            purpose="reminder",
            template=templates.call_of(item),
        )
        row = Audit.message_row(
            trace_id=job.job_id, channel=job.channel, chat_id=job.chat_id, direction="out", text=job.text,
            state="REMINDER",
        )  # fmt: skip
        if await script(keys=[keys.REMINDERS, keys.OUTBOUND_QUEUE, keys.AUDIT_QUEUE], args=[member, job.dumps(), row]):
            log.info("reminder.queued", kind=item["kind"], chat_id=job.chat_id, late_s=int(now - due_at))
            sent += 1
    return sent


async def _still_booked(rt: Runtime, crm: BookingsReader, item: dict[str, Any]) -> bool:
    """False only when the CRM was read and the client's reservations no longer hold the class."""
    phone = item.get("phone") or (await rt.sessions.load_profile(item["channel"], int(item["chat_id"]))).phone
    if not phone:
        return True  # nothing to ask the CRM with
    try:
        booked = await crm.client_bookings(phone)
    except CRMError as exc:
        log.info("reminder.crm_unavailable", error=type(exc).__name__)
        return True
    return any(b.occurrence_id == item["occurrence_id"] for b in booked)
