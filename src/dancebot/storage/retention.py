"""Retention (PRODUCT.md §12.1): audit rows older than 90 days leave PostgreSQL, once a day.

Every worker runs the chore each housekeeping round; `SET daily:retention:{date} NX` lets exactly one of
them do the day's purge, whatever the number of workers. A purge that fails (PostgreSQL down) gives the
day back after five minutes, so a later round — of any worker — tries again. Rows go in batches so no statement holds a
large table for long.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Final

from redis.asyncio import Redis
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.logs import get_logger
from dancebot.storage import keys
from dancebot.storage.tables import metadata

__all__ = ["BATCH", "RETENTION_DAYS", "RETRY_AFTER", "daily_retention", "purge_older_than"]

log = get_logger(__name__)

RETENTION_DAYS: Final = 90
BATCH: Final = 5000
RETRY_AFTER: Final = 300  # seconds after a failed purge (PostgreSQL down) before the next try
_CLAIM_TTL: Final = 2 * 24 * 3600


async def purge_older_than(engine: AsyncEngine, cutoff: dt.datetime, *, batch: int = BATCH) -> dict[str, int]:
    """Delete every audit row created before `cutoff`; returns the count per table."""
    deleted: dict[str, int] = {}
    for table in metadata.sorted_tables:
        total = 0
        while True:
            async with engine.begin() as conn:
                ids = select(table.c.id).where(table.c.created_at < cutoff).limit(batch).scalar_subquery()
                result = await conn.execute(delete(table).where(table.c.id.in_(ids)))
            total += result.rowcount
            if result.rowcount < batch:
                break
        deleted[table.name] = total
    return deleted


async def daily_retention(
    redis: Redis, engine: AsyncEngine, *, now: float | None = None, days: int = RETENTION_DAYS
) -> dict[str, int] | None:
    """Run today's purge if no worker has yet; None when it was not this call's to run."""
    now = time.time() if now is None else now
    today = dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()
    claim = keys.daily_job("retention", today)
    if not await redis.set(claim, str(now), nx=True, ex=_CLAIM_TTL):
        return None
    cutoff = dt.datetime.fromtimestamp(now, dt.UTC) - dt.timedelta(days=days)
    started = time.perf_counter()
    try:
        deleted = await purge_older_than(engine, cutoff)
    except Exception as exc:
        await redis.set(claim, "failed", ex=RETRY_AFTER)  # not done: a round after RETRY_AFTER tries again
        log.warning("retention.failed", error=type(exc).__name__)
        return None
    log.info(
        "retention.done",
        day=today,
        cutoff=cutoff.isoformat(),
        deleted=deleted,
        ms=int((time.perf_counter() - started) * 1000),
    )
    return deleted
