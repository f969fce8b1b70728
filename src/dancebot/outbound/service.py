"""The `dancebot worker` process: outbound delivery plus the periodic chores of PRODUCT.md §10.

Two loops share one runtime: delivery (`OutboundWorker.run`: intake, fair and rate-limited sending) and
housekeeping, every half second: the worker's heartbeat, taking back what dead workers held, audit rows
to PostgreSQL, the daily 90-day retention, plus the chores the wiring adds (reminders, timeout sweeps,
booking verifications). The first round runs at once, so a restarted worker recovers sessions and jobs
before anything else. Both loops stop cleanly on the stop event; sends in flight are finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping

from dancebot.logs import get_logger
from dancebot.outbound import dlq
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.ratelimit import DEFAULT_LIMITS, ChannelLimits
from dancebot.outbound.senders import Sender
from dancebot.outbound.worker import OutboundWorker
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.audit import flush_audit
from dancebot.storage.retention import daily_retention

__all__ = ["Chore", "run_worker"]

log = get_logger(__name__)

Chore = Callable[[], Awaitable[object]]
HOUSEKEEPING_INTERVAL = 0.5
RECOVER_EVERY = 2.0  # seconds between looks for dead workers' jobs


async def _housekeeping_loop(chores: list[Chore], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for chore in chores:
            try:
                await chore()
            except Exception:
                log.exception("worker.chore_failed", chore=getattr(chore, "__name__", repr(chore)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HOUSEKEEPING_INTERVAL)


async def _start_senders(senders: Mapping[str, Sender], stop: asyncio.Event) -> bool:
    """Start every sender, retrying while its channel is unreachable (a worker started during a Telegram
    outage waits for it instead of exiting); False if stopped first."""
    for name, sender in senders.items():
        delay = 1.0
        while True:
            try:
                await sender.start()
                break
            except Exception as exc:
                log.warning("worker.sender_start_failed", sender=name, error=type(exc).__name__, retry_in=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    return False
                delay = min(delay * 2, 30.0)
    return True


async def run_worker(
    rt: Runtime,
    senders: Mapping[str, Sender],
    stop: asyncio.Event,
    *,
    extra_chores: list[Chore] | None = None,
    limits: Mapping[str, ChannelLimits] = DEFAULT_LIMITS,
) -> None:
    async def on_dead_letter(size: int, job: OutboundJob) -> None:
        await dlq.alert_if_piling_up(rt, size, job.trace_id)

    worker = OutboundWorker(rt.redis, senders, rt.audit, limits=limits, on_dead_letter=on_dead_letter)
    if not await _start_senders(senders, stop):
        return
    await worker.recover()
    last_recover = time.monotonic()

    async def heartbeat() -> None:
        nonlocal last_recover
        await worker.heartbeat()
        if time.monotonic() - last_recover >= RECOVER_EVERY:
            last_recover = time.monotonic()
            await worker.recover()

    async def write_audit() -> None:
        while await flush_audit(rt.redis, rt.db) >= 500:
            pass

    async def retention() -> None:
        await daily_retention(rt.redis, rt.db)

    chores: list[Chore] = [heartbeat, write_audit, retention, *(extra_chores or [])]
    log.info("worker.started", senders=sorted(senders), worker=worker.worker_id)
    try:
        await asyncio.gather(worker.run(stop), _housekeeping_loop(chores, stop))
    finally:
        with contextlib.suppress(Exception):
            await write_audit()
            await rt.redis.delete(keys.worker_alive(worker.worker_id))
        for sender in senders.values():
            await sender.close()
        log.info("worker.stopped")
