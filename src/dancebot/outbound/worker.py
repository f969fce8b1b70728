"""The worker's delivery (PRODUCT.md §10.1): jobs from `queue:outbound` to the channels, fairly and safely.

Two loops per worker (`run`): intake files new jobs into their chats' queues (one script, in the order
they were queued; idle, it blocks until a producer signals); the sender claims the next job some chat
may send now — the claim script keeps the per-chat order, the shared rate limits and the
one-job-in-flight-per-chat rule (`queue.py`) — and sends up to `concurrency` of them at once.

After the send the job is acknowledged; a failure retries after 0 s → 5 s → 30 s at the head of its
chat's queue (later jobs of that chat wait: order is kept), then becomes a dead letter (`dlq.py` and
`dead_letter_messages`). A Telegram 429 waits `retry_after` without counting as a failure; a blocked
bot (403) or a bad request is a dead letter at once.

A worker announces itself with a heartbeat; when one dies between claim and ack, `recover` (run by every
worker) gives its job back after the heartbeat expired, so it is delivered once — only a crash in the
instant between the channel's answer and the ack can repeat a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from dancebot.logs import bind_trace, get_logger
from dancebot.outbound import dlq
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.queue import Claim, OutboundQueue
from dancebot.outbound.ratelimit import DEFAULT_LIMITS, ChannelLimits
from dancebot.outbound.senders import Sender, SendError
from dancebot.storage import trail
from dancebot.storage.audit import Audit

__all__ = ["HEARTBEAT_TTL", "RETRY_DELAYS", "OutboundWorker"]

log = get_logger(__name__)

RETRY_DELAYS: Final = (0.0, 5.0, 30.0)  # before attempts 2, 3, 4; after that the job is a dead letter
HEARTBEAT_TTL: Final = 10.0  # a worker silent this long is dead: its jobs go back to their chats
CONCURRENCY: Final = 16  # sends in flight per worker (each to a different chat)
_IDLE_POLL: Final = 0.5
_ROUTE_BATCH: Final = 1000  # jobs one route files at most
_STOP_GRACE: Final = 15.0

DeadLetterHook = Callable[[int, OutboundJob], Awaitable[object]]
_T = TypeVar("_T")


class OutboundWorker:
    def __init__(
        self,
        redis: Redis,
        senders: Mapping[str, Sender],
        audit: Audit,
        *,
        limits: Mapping[str, ChannelLimits] = DEFAULT_LIMITS,
        worker_id: str | None = None,
        concurrency: int = CONCURRENCY,
        on_dead_letter: DeadLetterHook | None = None,
    ) -> None:
        self._senders = senders
        self._audit = audit
        self._queue = OutboundQueue(redis, worker_id or uuid.uuid4().hex[:12], limits)
        self._concurrency = concurrency
        self._on_dead_letter = on_dead_letter
        self._wake = asyncio.Event()
        self._holding: set[str] = set()  # chats whose job this worker is sending now

    @property
    def worker_id(self) -> str:
        return self._queue.worker_id

    @property
    def queue(self) -> OutboundQueue:
        return self._queue

    # ---- housekeeping ---------------------------------------------------------------------------

    async def heartbeat(self) -> None:
        await self._queue.heartbeat(HEARTBEAT_TTL)

    async def recover(self) -> int:
        """Take back what dead workers held (and jobs left by the version before per-chat queues)."""
        await self.heartbeat()
        moved = await self._queue.recover_legacy() + await self._queue.recover(holding=set(self._holding))
        if moved:
            log.warning("outbound.recovered", jobs=moved)
            self._wake.set()
        return moved

    # ---- intake ---------------------------------------------------------------------------------

    async def intake(self, wait: float) -> int:
        """File queued jobs into their chats' queues; when there are none, wait ≤ `wait` s for a producer's
        signal first. Returns how many were filed."""
        routed = await self._route()
        if not routed and wait > 0 and await self._queue.wait_for_jobs(wait):
            routed = await self._route()
        return routed

    async def _route(self) -> int:
        routed, bad = await self._queue.route_all(most=_ROUTE_BATCH)
        if bad:
            log.error("outbound.bad_job", set_aside=bad)
        if routed:
            self._wake.set()
        return routed

    # ---- delivery -------------------------------------------------------------------------------

    async def _deliver(self, claim: Claim) -> None:
        self._holding.add(claim.member)
        try:
            await self._deliver_held(claim)
        finally:
            self._holding.discard(claim.member)

    async def _deliver_held(self, claim: Claim) -> None:
        try:
            job = OutboundJob.loads(claim.raw)  # validated when it was filed; a job edited by hand may not be
        except ValueError:
            log.error("outbound.bad_job", raw=str(claim.raw)[:200])
            bad = OutboundJob(chat_id=claim.chat_id, text=claim.raw.decode(errors="replace")[:4000])
            letter = dlq.entry(bad, error="unreadable job", attempts=0, at=time.time())
            await _persist(lambda: self._queue.dead_letter(claim, bad.job_id, letter))
            return
        bind_trace(job.trace_id or "-", chat_id=job.chat_id, channel=job.channel)
        sender = self._senders.get(job.channel)
        started = time.perf_counter()
        try:
            if sender is None:
                raise SendError(f"no sender for channel {job.channel}", permanent=True)
            await sender.send(job)
        except SendError as exc:
            await self._failed(claim, job, exc)
        except Exception as exc:  # a sender bug must not kill the loop or lose the job
            log.exception("outbound.sender_crashed")
            await self._failed(claim, job, SendError(f"{type(exc).__name__}: {exc}"))
        else:
            with trail.collect() as rows:  # the delivery's tool_calls row goes with the ack, not on its own
                log.info(
                    "outbound.sent",
                    job=job.job_id,
                    purpose=job.purpose,
                    ms=int((time.perf_counter() - started) * 1000),
                )
            await _persist(lambda: self._queue.ack(claim, job.job_id, rows=rows))

    async def _failed(self, claim: Claim, job: OutboundJob, exc: SendError) -> None:
        now = time.time()
        if exc.retry_after is not None and not exc.permanent:  # the channel said when: not the job's fault
            await _persist(lambda: self._queue.retry(claim, job, now + (exc.retry_after or 0), now))
            log.warning("outbound.rate_limited", job=job.job_id, retry_after=exc.retry_after)
            return
        attempts = job.attempts + 1
        if exc.permanent or attempts > len(RETRY_DELAYS):
            await self._dead_letter(claim, job, attempts, str(exc), now)
            return
        delay = RETRY_DELAYS[attempts - 1]
        retry = job.model_copy(update={"attempts": attempts})
        await _persist(lambda: self._queue.retry(claim, retry, now + delay, now))
        log.warning("outbound.retry", job=job.job_id, attempt=attempts, delay_s=delay, error=str(exc))

    async def _dead_letter(self, claim: Claim, job: OutboundJob, attempts: int, error: str, now: float) -> None:
        log.error("outbound.dead_letter", job=job.job_id, attempts=attempts, error=error)
        letter = dlq.entry(job, error=error, attempts=attempts, at=now)
        size = await _persist(lambda: self._queue.dead_letter(claim, job.job_id, letter))
        await self._audit.dead_letter(
            trace_id=job.trace_id,
            channel=job.channel,
            chat_id=job.chat_id,
            payload=job.model_dump(mode="json"),
            attempts=attempts,
            last_error=error,
        )
        if size > 0 and self._on_dead_letter is not None:
            await self._on_dead_letter(size, job)

    async def send_next(self) -> bool | float:
        """Claim and deliver one job: True, or how long until one may be claimable (-1: nothing waits)."""
        got = await self._queue.claim()
        if isinstance(got, float):
            return got
        await self._deliver(got)
        return True

    # ---- modes ----------------------------------------------------------------------------------

    async def process_one(self, wait: float = 1.0) -> bool:
        """File at most one new job (waiting ≤ `wait` s), then deliver one claimable job; False if idle."""
        filed = await self.intake(wait)
        return await self.send_next() is True or bool(filed)

    async def drain(self, *, max_jobs: int = 10_000, patience: float = 5.0) -> int:
        """Burst mode (tests, `dancebot chat`): deliver everything queued now, waiting out per-chat pacing
        for at most `patience` seconds; returns how many jobs were delivered or given up."""
        await self.heartbeat()
        done = 0
        deadline = time.monotonic() + patience
        while done < max_jobs:
            while await self.intake(0):
                pass
            got = await self.send_next()
            if got is True:
                done += 1
                continue
            if got < 0 or time.monotonic() + got > deadline:
                break
            await asyncio.sleep(got)
        return done

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: intake and sending, up to `concurrency` sends at once; sends in flight finish."""

        async def wake_on_stop() -> None:
            await stop.wait()
            self._wake.set()

        waker = asyncio.create_task(wake_on_stop())
        try:
            await asyncio.gather(self._intake_loop(stop), self._send_loop(stop))
        finally:
            waker.cancel()

    async def _intake_loop(self, stop: asyncio.Event) -> None:
        """Route, then wait for a producer's signal (or the idle poll) before routing again: producers push
        jobs and the signal in one step, so a route right after one that found less than a batch would
        find nothing (it was half of the worker's routes under load). A full batch routes again at once."""
        more = True
        while not stop.is_set():
            try:
                if not more:
                    await self._queue.wait_for_jobs(_IDLE_POLL)
                more = False  # a failed route waits for the next signal or poll, as an empty one does
                more = await self._route() >= _ROUTE_BATCH
            except RedisError as exc:
                log.warning("outbound.intake_redis_error", error=type(exc).__name__)
                await asyncio.sleep(1)
            except Exception:
                log.exception("outbound.intake_error")
                await asyncio.sleep(1)

    async def _send_loop(self, stop: asyncio.Event) -> None:
        """Claim as many jobs as there are free places (one round trip for all of them), send each in a task
        of its own; wait for a place, a producer's signal or a chat's pacing otherwise."""
        sending: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            free = self._concurrency - len(sending)
            if free <= 0:
                await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
                continue
            self._wake.clear()
            try:
                got = await self._queue.claim_many(free)
            except Exception as exc:
                log.warning("outbound.claim_failed", error=type(exc).__name__)
                await asyncio.sleep(1)
                continue
            if isinstance(got, list):
                for claim in got:
                    task = asyncio.create_task(self._send_task(claim))
                    sending.add(task)
                    task.add_done_callback(sending.discard)
                continue
            wait = _IDLE_POLL if got < 0 else min(got, _IDLE_POLL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
        if sending:
            await asyncio.wait(sending, timeout=_STOP_GRACE)

    async def _send_task(self, claim: Claim) -> None:
        try:
            await self._deliver(claim)
        except Exception:  # Redis away during the ack/retry: the job stays claimed and is recovered later
            log.exception("outbound.delivery_error")
        finally:
            self._wake.set()


async def _persist(step: Callable[[], Awaitable[_T]], attempts: int = 60) -> _T:
    """A step that records a send's outcome: retried while Redis is away (beyond the client's own retries),
    because a job left claimed by a live worker would never be recovered."""
    for attempt in range(1, attempts + 1):
        try:
            return await step()
        except RedisError as exc:
            if attempt == attempts:
                raise
            log.warning("outbound.record_retry", error=type(exc).__name__, attempt=attempt)
            await asyncio.sleep(1)
    raise AssertionError("unreachable")
