"""The daily digest's timing and claim (PRODUCT.md §11.1): off without an hour, nothing before it, once a
day, and a digest PostgreSQL could not compute is tried again — never given up for the day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dancebot.outbound.digest import daily_digest
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import db, keys
from tests.conftest import ADMIN_CHAT_ID

TZ = ZoneInfo("Asia/Vladivostok")
MORNING = dt.datetime(2026, 12, 2, 8, 59, tzinfo=TZ)
NINE = dt.datetime(2026, 12, 2, 9, 0, tzinfo=TZ)


async def digests(rt: Runtime) -> list[OutboundJob]:
    jobs = [OutboundJob.loads(raw) for raw in await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1)]
    return [j for j in jobs if j.purpose == "digest"]


async def test_off_without_an_hour_and_quiet_before_it(rt: Runtime) -> None:
    assert await daily_digest(rt, now=NINE) == "off"
    rt.settings = rt.settings.model_copy(update={"daily_digest_hour": 9})
    assert await daily_digest(rt, now=MORNING) == "not_yet"
    assert await digests(rt) == []


async def test_once_a_day_and_again_after_a_failure(rt: Runtime) -> None:
    rt.settings = rt.settings.model_copy(update={"daily_digest_hour": 9})
    working = rt.db
    rt.db = db.create_engine("postgresql://nobody@/nowhere?host=/nonexistent-socket-dir")
    try:
        assert await daily_digest(rt, now=NINE) == "failed"
        assert await daily_digest(rt, now=NINE) == "failed"  # still waiting to be tried again, not "taken"
    finally:
        await rt.db.dispose()
        rt.db = working
    await rt.redis.delete(keys.daily_job("digest", "2026-12-02"))  # five minutes later the claim is gone
    assert await daily_digest(rt, now=NINE) == "sent"
    assert await daily_digest(rt, now=NINE + dt.timedelta(hours=5)) == "taken"
    [digest] = await digests(rt)
    assert digest.chat_id == ADMIN_CHAT_ID and digest.text.startswith("📊 Итоги за вт 01.12")
    assert len(digest.text.splitlines()) <= 10
    assert await daily_digest(rt, now=NINE + dt.timedelta(days=1)) == "sent"  # the next day's
