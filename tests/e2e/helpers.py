"""Small waits for end-to-end tests: replies at the fake Telegram, rows in Postgres."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.storage.tables import messages
from tests.fakes.telegram import FakeTelegram, SentMessage


async def replies(
    tg: FakeTelegram, chat_id: int, count: int = 1, *, timeout: float = 10.0, since: int = 0
) -> list[str]:
    found: list[SentMessage] = await tg.wait_for(chat_id, count, timeout, since=since)
    return [m.text for m in found]


async def quiet(tg: FakeTelegram, chat_id: int, seconds: float = 1.0) -> list[str]:
    """What reached the chat within `seconds` — for asserting that nothing (more) was sent."""
    await asyncio.sleep(seconds)
    return [m.text for m in tg.sent_to(chat_id)]


async def message_rows(engine: AsyncEngine, chat_id: int, count: int, *, timeout: float = 10.0) -> list[Any]:
    """Rows of `messages` for the chat, once at least `count` have been written by the worker."""
    deadline = time.monotonic() + timeout
    while True:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(select(messages).where(messages.c.chat_id == chat_id).order_by(messages.c.id))
            ).all()
        if len(rows) >= count or time.monotonic() > deadline:
            return list(rows)
        await asyncio.sleep(0.1)
