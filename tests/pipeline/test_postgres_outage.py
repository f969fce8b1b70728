"""PostgreSQL away for 30 s in the middle of a conversation (PRODUCT.md §12.3): the client notices nothing,
the audit rows wait in Redis, and once the server is back every message is in `messages` exactly once,
in order. The stack runs on a PostgreSQL server of this test's own, really stopped and started."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from dancebot.storage import db, keys
from dancebot.storage.tables import messages
from tests.conversations.harness import Client, text_of
from tests.pipeline.conftest import PipelineFactory
from tests.pipeline.servers import dedicated_postgres

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_a_thirty_second_postgres_outage_loses_and_duplicates_no_audit_row(
    pipeline: PipelineFactory, chat: Callable[[], int], tmp_path: Path
) -> None:
    with dedicated_postgres(tmp_path / "pg") as pg, pipeline(database_url=pg.url) as p:
        client = Client(p.stack, p.tg, p.crm, chat())
        said = ["Здравствуйте!", "сколько стоит разовое занятие?"]
        for line in said:
            await client.say(line)
        pg.stop()
        stopped = time.monotonic()
        during = ["а где вы находитесь?", "можно прийти без опыта?", "хочу на хилс в чт в 20, Анна " + client.phone]
        for line in during:
            assert text_of(await client.say(line))  # answered as usual while PostgreSQL is away
        with p.sync_redis() as r:
            waiting = r.llen(keys.AUDIT_QUEUE)
        assert waiting >= 2 * len(during)  # the rows wait in Redis
        await asyncio.sleep(max(0.0, 30 - (time.monotonic() - stopped)))
        pg.start()
        await client.say("спасибо!")
        said += [*during, "спасибо!"]

        engine = db.create_engine(pg.url)
        try:
            deadline = time.monotonic() + 30
            while True:
                async with engine.connect() as conn:
                    query = select(messages.c.direction, messages.c.text).where(messages.c.chat_id == client.chat_id)
                    rows = (await conn.execute(query.order_by(messages.c.id))).all()
                with p.sync_redis() as r:
                    drained = r.llen(keys.AUDIT_QUEUE) == 0  # the last turn's other rows (transitions…) too
                if (len(rows) >= len(said) + len(client.received()) and drained) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
        finally:
            await engine.dispose()
        assert [t for d, t in rows if d == "in"] == said
        assert [t for d, t in rows if d == "out"] == client.received()
        with p.sync_redis() as r:
            assert r.llen(keys.AUDIT_QUEUE) == 0 and r.llen(keys.AUDIT_REJECTED) == 0
