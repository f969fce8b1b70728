"""Cheap checks before any understanding (PRODUCT.md §4): replay window, dedup, spam limit.

Each returns a verdict rather than raising: dropping a message is normal flow, never an error the
sender sees. Telegram retries a delivery until it gets 200, so a drop still answers 200.
"""

from __future__ import annotations

import time
from datetime import UTC
from enum import StrEnum

from redis.asyncio import Redis

from dancebot.channels.message import UnifiedMessage
from dancebot.storage import keys

__all__ = ["DEDUP_TTL", "REPLAY_WINDOW", "SPAM_LIMIT", "SPAM_WINDOW", "Verdict", "check", "forget", "too_old"]

REPLAY_WINDOW = 300  # seconds
DEDUP_TTL = 300
SPAM_LIMIT = 5  # more than this many messages…
SPAM_WINDOW = 10  # …in this many seconds from one chat are dropped


class Verdict(StrEnum):
    PASS = "pass"
    REPLAY = "replay"
    DUPLICATE = "duplicate"
    SPAM = "spam"


async def check(redis: Redis, msg: UnifiedMessage, *, now: float | None = None) -> tuple[Verdict, bool]:
    """Verdict for the message, and whether this is the first spam drop in the window (log it once)."""
    now = time.time() if now is None else now
    if too_old(msg, now):
        return Verdict.REPLAY, False
    if not await redis.set(keys.seen(msg.channel, msg.chat_id, msg.dedup_id), 1, nx=True, ex=DEDUP_TTL):
        return Verdict.DUPLICATE, False
    if msg.message_type == "callback":
        return Verdict.PASS, False  # taps on our own buttons are not spam
    spam_key = keys.spam(msg.channel, msg.chat_id)
    pipe = redis.pipeline(transaction=True)
    pipe.zremrangebyscore(spam_key, 0, now - SPAM_WINDOW)
    pipe.zadd(spam_key, {f"{msg.dedup_id}:{now}": now})
    pipe.zcard(spam_key)
    pipe.expire(spam_key, SPAM_WINDOW)
    _, _, count, _ = await pipe.execute()
    if count > SPAM_LIMIT:
        first = bool(await redis.set(keys.spam_logged(msg.channel, msg.chat_id), 1, nx=True, ex=SPAM_WINDOW))
        return Verdict.SPAM, first
    return Verdict.PASS, False


def too_old(msg: UnifiedMessage, now: float) -> bool:
    """Outside the replay window: a delivery this old is dropped (and logged), never answered."""
    return now - msg.timestamp.astimezone(UTC).timestamp() > REPLAY_WINDOW


async def forget(redis: Redis, msg: UnifiedMessage) -> None:
    """Undo the dedup mark when processing failed, so Telegram's redelivery is processed."""
    await redis.delete(keys.seen(msg.channel, msg.chat_id, msg.dedup_id))
