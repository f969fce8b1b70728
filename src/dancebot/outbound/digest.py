"""The daily digest to the admin chat (PRODUCT.md §11.1): yesterday in at most ten lines, once a day.

At `DAILY_DIGEST_HOUR` (the studio's local time; unset → no digest) the first worker round past that
hour claims the day (`SET daily:digest:{date} NX`), so two workers never send it twice; a digest that
cannot be computed (PostgreSQL down) gives the day back after five minutes. The figures are the report's
(`storage/report.py`) for yesterday, plus the requests still open now.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Final, Literal

from dancebot.logs import get_logger
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.queue import enqueue
from dancebot.runtime import Runtime
from dancebot.storage import keys, report

__all__ = ["Outcome", "daily_digest", "digest_text"]

log = get_logger(__name__)

_CLAIM_TTL: Final = 2 * 24 * 3600
RETRY_AFTER: Final = 300
_FAILED: Final = b"failed"  # the claim while a failed digest waits to be tried again
_WEEKDAYS: Final = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")


Outcome = Literal["off", "not_yet", "sent", "taken", "failed"]


async def daily_digest(rt: Runtime, *, now: dt.datetime | None = None) -> Outcome:
    """Send today's digest if it is time and no worker has yet: "sent" by this call, "taken" by another
    (or earlier), "failed" (to be tried again), "not_yet" before the hour, "off" without hour or chat."""
    hour, admin = rt.settings.daily_digest_hour, rt.settings.admin_chat_id
    if hour is None or admin is None:
        return "off"
    local = (now or rt.now()).astimezone(rt.tz)
    if local.hour < hour:
        return "not_yet"
    claim = keys.daily_job("digest", local.date().isoformat())
    if not await rt.redis.set(claim, str(time.time()), nx=True, ex=_CLAIM_TTL):
        return "failed" if await rt.redis.get(claim) == _FAILED else "taken"
    yesterday = local.date() - dt.timedelta(days=1)
    try:
        figures = await report.compute(rt.db, report.Period(yesterday, yesterday, rt.tz), admin_chat_id=admin)
    except Exception as exc:
        await rt.redis.set(claim, _FAILED, ex=RETRY_AFTER)  # a later round of any worker tries again
        log.warning("digest.failed", error=type(exc).__name__)
        return "failed"
    await enqueue(rt.redis, OutboundJob(chat_id=admin, text=digest_text(figures, yesterday), purpose="digest"))
    log.info("digest.queued", day=yesterday.isoformat())
    return "sent"


def digest_text(figures: dict[str, Any], day: dt.date) -> str:
    """At most ten lines: bookings, what waits for the admin, the cost."""
    b, h, fb, llm = figures["bookings"], figures["handoff"], figures["fallback"], figures["llm"]
    lines = [
        f"📊 Итоги за {_WEEKDAYS[day.weekday()]} {day:%d.%m}",
        f"Диалогов: {figures['conversations']['total']}",
        f"Записей через бота: {b['completed']} (попыток: {b['attempts']})",
        f"Передано администратору: {h['count']}, без ответа: {h['unanswered']}",
        f"Открытых заявок сейчас: {fb['open']}" + (" — /requests" if fb["open"] else ""),
        f"Расход LLM: ${llm['cost_usd']:.2f}"
        + (f", срабатываний Budget Guard: {n}" if (n := llm["budget_triggers"]) else ""),
    ]
    if figures["dead_letters"]:
        lines.append(f"Недоставленных сообщений: {figures['dead_letters']} — /dlq")
    lines.append("Подробнее: dancebot report")
    return "\n".join(lines)
