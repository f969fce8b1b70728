"""The app's side of the outbound queue: every reply is a job on a Redis list (PRODUCT.md §10)."""

from __future__ import annotations

from redis.asyncio import Redis

from dancebot.outbound.messages import OutboundJob
from dancebot.storage import keys

__all__ = ["enqueue"]


async def enqueue(redis: Redis, *jobs: OutboundJob) -> None:
    """LPUSH in order; the worker takes from the right, so jobs leave in the order given."""
    if jobs:
        await redis.lpush(keys.OUTBOUND_QUEUE, *(j.dumps() for j in jobs))
