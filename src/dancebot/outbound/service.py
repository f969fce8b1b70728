"""The `dancebot worker` process: outbound delivery plus the periodic chores of PRODUCT.md §10.

Two loops share one runtime: delivery (blocks on the queue) and housekeeping (promotes due retries,
writes queued audit rows to Postgres, plus the chores the wiring adds: reminders and timeout sweeps;
the 90-day retention is not done yet). Both stop cleanly on the stop event; a job in flight is finished.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping

from dancebot.logs import get_logger
from dancebot.outbound.senders import Sender
from dancebot.outbound.worker import OutboundWorker
from dancebot.runtime import Runtime
from dancebot.storage.audit import flush_audit

__all__ = ["Chore", "run_worker"]

log = get_logger(__name__)

Chore = Callable[[], Awaitable[object]]
HOUSEKEEPING_INTERVAL = 0.5


async def _delivery_loop(worker: OutboundWorker, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await worker.process_one(wait=0.5)
        except Exception:
            log.exception("worker.delivery_error")
            await asyncio.sleep(1)


async def _housekeeping_loop(chores: list[Chore], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for chore in chores:
            try:
                await chore()
            except Exception:
                log.exception("worker.chore_failed", chore=getattr(chore, "__name__", repr(chore)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HOUSEKEEPING_INTERVAL)


async def run_worker(
    rt: Runtime, senders: Mapping[str, Sender], stop: asyncio.Event, *, extra_chores: list[Chore] | None = None
) -> None:
    worker = OutboundWorker(rt.redis, senders, rt.audit)
    for sender in senders.values():
        await sender.start()
    await worker.recover()

    async def write_audit() -> None:
        while await flush_audit(rt.redis, rt.db) >= 500:
            pass

    chores: list[Chore] = [worker.promote_due, write_audit, *(extra_chores or [])]
    log.info("worker.started", senders=sorted(senders))
    try:
        await asyncio.gather(_delivery_loop(worker, stop), _housekeeping_loop(chores, stop))
    finally:
        await write_audit()
        for sender in senders.values():
            await sender.close()
        log.info("worker.stopped")
