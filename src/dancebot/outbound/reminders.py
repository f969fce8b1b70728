"""Class reminders (PRODUCT.md §10): T−24 h and T−2 h, only those still ahead, in a Redis ZSET.

The worker's chore `send_due` claims due reminders one by one (ZREM decides who sends it, so several
workers never send one twice) and queues them as ordinary outbound jobs. Cancelling a booking removes
its reminders through a per-booking index.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import cast

from dancebot.crm.models import Occurrence
from dancebot.logs import get_logger
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.queue import enqueue
from dancebot.runtime import Runtime
from dancebot.storage import keys

__all__ = ["OFFSETS", "TOLERANCE", "remove", "schedule", "send_due"]

log = get_logger(__name__)

OFFSETS = {"24h": timedelta(hours=24), "2h": timedelta(hours=2)}
# The SLA (PRODUCT.md §10): 24 h ± 30 min, 2 h ± 5 min. A reminder later than that (the worker was down) is
# dropped rather than sent wrong ("через 2 часа" when the class has started).
TOLERANCE = {"24h": 30 * 60, "2h": 5 * 60}
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
    rt: Runtime, *, channel: str, chat_id: int, occurrence: Occurrence, name: str, lang: str, now: datetime
) -> int:
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
            },
            ensure_ascii=False,
        )
        await rt.redis.zadd(keys.REMINDERS, {member: due.timestamp()})
        await rt.redis.sadd(index, member)
        await rt.redis.expireat(index, int(occurrence.start.timestamp()) + 3600)
        added += 1
    return added


async def remove(rt: Runtime, *, channel: str, chat_id: int, occurrence_id: str) -> int:
    index = keys.reminder_index(channel, chat_id, occurrence_id)
    members = await rt.redis.smembers(index)
    if members:
        await rt.redis.zrem(keys.REMINDERS, *members)
    await rt.redis.delete(index)
    return len(members)


async def send_due(rt: Runtime, now: float | None = None) -> int:
    now = time.time() if now is None else now
    # (member bytes, score) pairs: withscores=True, decode_responses=False; redis-py types every variant.
    due = cast(
        "list[tuple[bytes, float]]",
        await rt.redis.zrangebyscore(keys.REMINDERS, 0, now, start=0, num=200, withscores=True),
    )
    sent = 0
    for member, due_at in due:
        if not await rt.redis.zrem(keys.REMINDERS, member):
            continue  # another worker took it
        item = json.loads(member)
        if now - due_at > TOLERANCE.get(item["kind"], 0):
            log.warning("reminder.too_late", kind=item["kind"], chat_id=item["chat_id"])
            continue
        job = OutboundJob(chat_id=int(item["chat_id"]), channel=item["channel"], text=item["text"], purpose="reminder")
        await enqueue(rt.redis, job)
        await rt.audit.message(
            trace_id=job.job_id,
            channel=job.channel,
            chat_id=job.chat_id,
            direction="out",
            text=job.text,
            state="REMINDER",
        )
        sent += 1
    return sent
