"""The 90-day retention (PRODUCT.md §12.1) on real PostgreSQL and Redis, with the day passed in: rows older
than 90 days go from every table, newer ones stay; one run per day whatever the number of workers; a
run that meets PostgreSQL down is tried again later."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, insert, select

from dancebot.runtime import Runtime
from dancebot.storage import db, keys
from dancebot.storage.retention import RETRY_AFTER, daily_retention, purge_older_than
from dancebot.storage.tables import errors, messages, metadata

DAY = 24 * 3600
T = dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.UTC)


async def add_rows(rt: Runtime, created: dt.datetime, n: int) -> None:
    async with rt.db.begin() as conn:
        await conn.execute(
            insert(messages),
            [{"created_at": created, "channel": "telegram", "chat_id": 7, "direction": "in", "text": "привет"}] * n,
        )
        await conn.execute(insert(errors), [{"created_at": created, "source": "test", "kind": "x", "message": "m"}] * n)


async def count(rt: Runtime, table: object = messages) -> int:
    async with rt.db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_rows_older_than_ninety_days_go_from_every_table(rt: Runtime) -> None:
    await add_rows(rt, T - dt.timedelta(days=91), 7)
    await add_rows(rt, T - dt.timedelta(days=89), 3)
    deleted = await purge_older_than(rt.db, T - dt.timedelta(days=90), batch=2)  # several batches
    assert deleted["messages"] == 7 and deleted["errors"] == 7
    assert set(deleted) == {t.name for t in metadata.sorted_tables}
    assert await count(rt) == 3 and await count(rt, errors) == 3


async def test_it_runs_once_a_day_however_many_workers_ask(rt: Runtime) -> None:
    await add_rows(rt, T - dt.timedelta(days=95), 4)
    runs = await asyncio.gather(*(daily_retention(rt.redis, rt.db, now=T.timestamp()) for _ in range(3)))
    assert [r is not None for r in runs].count(True) == 1
    await add_rows(rt, T - dt.timedelta(days=95), 2)
    assert await daily_retention(rt.redis, rt.db, now=T.timestamp() + 3600) is None  # same day: done
    assert await count(rt) == 2
    tomorrow = await daily_retention(rt.redis, rt.db, now=T.timestamp() + DAY)
    assert tomorrow is not None and tomorrow["messages"] == 2 and await count(rt) == 0


async def test_a_run_that_meets_postgres_down_is_tried_again_later(rt: Runtime) -> None:
    await add_rows(rt, T - dt.timedelta(days=95), 1)
    broken = db.create_engine("postgresql://nobody@/nowhere?host=/nonexistent-socket-dir")
    try:
        assert await daily_retention(rt.redis, broken, now=T.timestamp()) is None
    finally:
        await broken.dispose()
    assert await daily_retention(rt.redis, rt.db, now=T.timestamp() + 60) is None  # not at once: in a while
    ttl = await rt.redis.ttl(keys.daily_job("retention", T.date().isoformat()))
    assert 0 < ttl <= RETRY_AFTER
    await rt.redis.delete(keys.daily_job("retention", T.date().isoformat()))  # the while has passed
    assert await daily_retention(rt.redis, rt.db, now=T.timestamp() + RETRY_AFTER + 1) is not None
    assert await count(rt) == 0
