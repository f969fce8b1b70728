"""The worker's daily and timed chores with two `dancebot worker` processes (PRODUCT.md §10.2, §12): each
reminder goes out once — two workers, then both restarted later in the day — and the 90-day retention runs
once a day however many workers there are. The conversation clock is frozen (DANCEBOT_FROZEN_NOW) and
moved forward between the two runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis import Redis as SyncRedis
from sqlalchemy import func, insert, select, text

from dancebot.storage import db, keys
from dancebot.storage.tables import messages, tool_calls
from tests.conftest import Servers, _create_database, _drop_database
from tests.pipeline.conftest import Pipeline, PipelineFactory
from tests.stack_fixtures import NOW

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLASS_START = NOW + dt.timedelta(hours=24) - dt.timedelta(minutes=10)  # its 24 h reminder came due 10 min ago


def reminder(chat_id: int, kind: str, due: dt.datetime) -> tuple[str, float]:
    member = json.dumps(
        {
            "v": 1,
            "kind": kind,
            "channel": "telegram",
            "chat_id": chat_id,
            "occurrence_id": "304:2026-12-03",
            "text": f"Напоминание {kind}: High Heels, чт 03.12 в 14:50, Гоголя, 41",
        },
        ensure_ascii=False,
    )
    return member, due.timestamp()


async def until(p: Pipeline, check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{p.stack.log_text()[-2000:]}"
        await asyncio.sleep(0.1)


async def test_each_reminder_goes_out_once_with_two_workers_and_a_restart(
    pipeline: PipelineFactory, chat: Callable[[], int]
) -> None:
    chats = [chat() for _ in range(5)]

    def booked(r: SyncRedis) -> None:
        for c in chats:
            for kind, before in (("24h", dt.timedelta(hours=24)), ("2h", dt.timedelta(hours=2))):
                member, due = reminder(c, kind, CLASS_START - before)
                r.zadd(keys.REMINDERS, {member: due})

    def sent(kind: str) -> list[int]:
        return [m.chat_id for m in p.tg.sent if f"Напоминание {kind}" in m.text]

    with pipeline(workers=2, before=booked) as p:
        await until(p, lambda: len(sent("24h")) == 5, "the day-before reminders")
        for name in ("worker0", "worker1"):
            p.stack.stop(name)
        # 22 hours later: both workers start again, with the clock at the two-hour mark
        p.stack.env["DANCEBOT_FROZEN_NOW"] = (CLASS_START - dt.timedelta(hours=2, minutes=-1)).isoformat()
        for name in ("worker0", "worker1"):
            p.stack.start(name)
            p.stack.wait_for_log(name, "worker.started", count=2)
        await until(p, lambda: len(sent("2h")) == 5, "the two-hour reminders")
        await until(p, p.stack.outbound_drained, "the queue to drain")
        await asyncio.sleep(1.5)  # several sweeps of both workers
        assert sorted(sent("24h")) == sorted(chats) and sorted(sent("2h")) == sorted(chats)
        with p.sync_redis() as r:
            assert r.zcard(keys.REMINDERS) == 0


@pytest.fixture
async def fresh_database(servers: Servers) -> AsyncIterator[str]:
    """A database of this test alone: no other stack's retention runs on it."""
    server = servers.database_url
    url = await _create_database(server)
    yield url
    await _drop_database(server, url)


async def test_the_daily_retention_runs_once_with_two_workers(pipeline: PipelineFactory, fresh_database: str) -> None:
    engine = db.create_engine(fresh_database)
    await db.migrate(engine)
    now = dt.datetime.now(dt.UTC)
    old, kept = now - dt.timedelta(days=91), now - dt.timedelta(days=89)
    marker = uuid.uuid4().hex[:8]

    async def rows(table: object) -> int:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(table).where(text("trace_id LIKE :m")).params(m=f"{marker}%")
            return int((await conn.execute(query)).scalar_one())

    async with engine.begin() as conn:
        for created, n in ((old, 30), (kept, 20)):
            await conn.execute(
                insert(messages),
                [{"created_at": created, "trace_id": f"{marker}-{i}", "channel": "telegram", "chat_id": 1,
                  "direction": "in", "text": "старое"} for i in range(n)],
            )  # fmt: skip
        await conn.execute(
            insert(tool_calls),
            [{"created_at": old, "trace_id": marker, "function": "find_client", "status": "ok", "latency_ms": 3}],
        )
    try:
        with pipeline(workers=2, database_url=fresh_database) as p:
            await until(p, lambda: p.stack.log_text().count('"event": "retention.done"') >= 1, "the retention")
            assert await rows(messages) == 20 and await rows(tool_calls) == 0
            late = {"created_at": old, "trace_id": f"{marker}-late", "channel": "telegram", "chat_id": 1}
            async with engine.begin() as conn:  # another old row after today's run…
                await conn.execute(insert(messages), [{**late, "direction": "in"}])
            for name in ("worker0", "worker1"):  # …and both workers restarted the same day
                p.stack.stop(name)
                p.stack.start(name)
                p.stack.wait_for_log(name, "worker.started", count=2)
            await asyncio.sleep(2)
            assert p.stack.log_text().count('"event": "retention.done"') == 1  # once today, by one worker
            assert await rows(messages) == 21  # waits for tomorrow's run
    finally:
        await engine.dispose()
