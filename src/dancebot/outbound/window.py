"""The WhatsApp 24-hour customer service window (PRODUCT.md §10.3), tracked per client in Redis.

Meta lets a business send free-form messages only within 24 hours of the client's last message; outside
it only approved templates go out. The webhook records every inbound message's time here (`touch`); the
sender asks `is_open` before each send. Meta has the last word: a send refused with 131047 closes the
window here too (`close`), so the next attempt goes the template (or fallback) way at once.

One ZSET holds every client: member the WhatsApp number, score the unix time of their last message.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

__all__ = ["MARGIN", "WINDOW", "WINDOW_KEY", "close", "is_open", "last_inbound", "touch"]

WINDOW = 24 * 3600
MARGIN = 60  # a send this close to the end could reach Meta after it: treat the window as closed
WINDOW_KEY = "wa:window"  # ZSET WhatsApp number -> unix time of the client's last inbound message


async def touch(redis: Redis, chat_id: int, at: float) -> None:
    """The client wrote at `at` (the message's own timestamp); an older redelivery never moves it back."""
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(WINDOW_KEY, {str(chat_id): at}, gt=True)
    pipe.zremrangebyscore(WINDOW_KEY, "-inf", time.time() - WINDOW)  # long-closed windows: forget them
    await pipe.execute()


async def last_inbound(redis: Redis, chat_id: int) -> float | None:
    score = await redis.zscore(WINDOW_KEY, str(chat_id))
    return float(score) if score is not None else None


async def is_open(redis: Redis, chat_id: int, now: float | None = None) -> bool:
    last = await last_inbound(redis, chat_id)
    now = time.time() if now is None else now
    return last is not None and now < last + WINDOW - MARGIN


async def close(redis: Redis, chat_id: int) -> None:
    """Meta says the window is closed (error 131047), whatever we had recorded."""
    await redis.zrem(WINDOW_KEY, str(chat_id))
