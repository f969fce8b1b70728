"""The worker's outbound loop: reliable delivery from `queue:outbound` (PRODUCT.md §10).

A job moves atomically to a processing list (BLMOVE) and leaves it only after the send succeeded or the
job was rescheduled/dead-lettered, so a crash never loses it: `recover()` re-queues what a dead worker
held. Failures retry after 0 s → 5 s → 30 s through a delayed ZSET, then go to `dead_letter_messages`;
a Telegram 429 waits `retry_after`; a blocked bot (403) goes to the dead letters at once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import cast

from redis.asyncio import Redis

from dancebot.logs import bind_trace, get_logger
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.senders import Sender, SendError
from dancebot.storage import keys
from dancebot.storage.audit import Audit

__all__ = ["RETRY_DELAYS", "OutboundWorker"]

log = get_logger(__name__)

RETRY_DELAYS = (0.0, 5.0, 30.0)  # before attempts 2, 3, 4; after that the job is a dead letter


class OutboundWorker:
    def __init__(self, redis: Redis, senders: Mapping[str, Sender], audit: Audit) -> None:
        self._redis = redis
        self._senders = senders
        self._audit = audit

    async def recover(self) -> int:
        """Put back every job a previous worker held when it died."""
        moved = 0
        while await self._redis.lmove(keys.OUTBOUND_PROCESSING, keys.OUTBOUND_QUEUE, "RIGHT", "RIGHT"):
            moved += 1
        if moved:
            log.warning("outbound.recovered", jobs=moved)
        return moved

    async def promote_due(self, now: float | None = None) -> int:
        """Move retries whose time has come from the delayed ZSET back to the queue."""
        now = time.time() if now is None else now
        # Members only, as bytes (no scores asked for, decode_responses=False); redis-py types every variant.
        due = cast("list[bytes]", await self._redis.zrangebyscore(keys.OUTBOUND_DELAYED, 0, now, start=0, num=100))
        for raw in due:
            if await self._redis.zrem(keys.OUTBOUND_DELAYED, raw):
                await self._redis.rpush(keys.OUTBOUND_QUEUE, raw)  # to the consuming end: retries go first
        return len(due)

    async def process_one(self, wait: float = 1.0) -> bool:
        """Take one job (waiting up to `wait` s) and deliver it; False when the queue stayed empty."""
        raw = await self._redis.blmove(
            keys.OUTBOUND_QUEUE,
            keys.OUTBOUND_PROCESSING,
            wait,  # type: ignore[arg-type]  # BLMOVE's timeout is a double (Redis ≥ 6); redis-py annotates int
            "RIGHT",
            "LEFT",
        )
        if raw is None:
            return False
        try:
            job = OutboundJob.loads(raw)
        except ValueError:
            log.error("outbound.bad_job", raw=str(raw)[:200])
            await self._redis.lrem(keys.OUTBOUND_PROCESSING, 1, raw)  # type: ignore[arg-type]  # takes bytes; annotated str
            return True
        bind_trace(job.trace_id or "-", chat_id=job.chat_id, channel=job.channel)
        await self._deliver(job)
        await self._redis.lrem(keys.OUTBOUND_PROCESSING, 1, raw)  # type: ignore[arg-type]  # takes bytes; annotated str
        return True

    async def _deliver(self, job: OutboundJob) -> None:
        sender = self._senders.get(job.channel)
        started = time.perf_counter()
        try:
            if sender is None:
                raise SendError(f"no sender for channel {job.channel}", permanent=True)
            await sender.send(job)
        except SendError as exc:
            await self._failed(job, exc)
        except Exception as exc:  # a sender bug must not kill the loop or lose the job
            log.exception("outbound.sender_crashed")
            await self._failed(job, SendError(f"{type(exc).__name__}: {exc}"))
        else:
            log.info("outbound.sent", job=job.job_id, purpose=job.purpose, ms=_ms(started))

    async def _failed(self, job: OutboundJob, exc: SendError) -> None:
        attempts = job.attempts + 1
        if exc.permanent or attempts > len(RETRY_DELAYS):
            await self._dead_letter(job, attempts, str(exc))
            return
        delay = exc.retry_after if exc.retry_after is not None else RETRY_DELAYS[attempts - 1]
        retry = job.model_copy(update={"attempts": attempts})
        await self._redis.zadd(keys.OUTBOUND_DELAYED, {retry.dumps(): time.time() + delay})
        log.warning("outbound.retry", job=job.job_id, attempt=attempts, delay_s=delay, error=str(exc))

    async def _dead_letter(self, job: OutboundJob, attempts: int, error: str) -> None:
        log.error("outbound.dead_letter", job=job.job_id, attempts=attempts, error=error)
        await self._audit.dead_letter(
            trace_id=job.trace_id,
            channel=job.channel,
            chat_id=job.chat_id,
            payload=job.model_dump(mode="json"),
            attempts=attempts,
            last_error=error,
        )

    async def drain(self, *, max_jobs: int = 10_000) -> int:
        """Burst mode (tests, `dancebot chat`): deliver everything queued now, then return."""
        done = 0
        await self.promote_due()
        while done < max_jobs and await self.process_one(wait=0.01):
            done += 1
        return done


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
