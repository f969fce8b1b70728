"""Inbound messages, from the webhook to committed turns (PRODUCT.md §4).

`accept` is the one entry point of every channel (Telegram, WhatsApp, the console): the admin chat's
commands are deduplicated; a client's message passes the gate (replay, dedup, spam); then it is durably
accepted into its chat's buffer (`inbox`). The webhook answers right after, never after the turn.

Turns run off the request path (`run`, the app's dispatcher): for each chat with waiting messages, under
the chat's Redis lock, one message at a time and in order; many chats at once: as many as keep the event
loop on time (turns waiting on the CRM cost nothing), at most `concurrency` — so a webhook never waits
behind a crowd of computing turns when more arrives than the process can handle; the backlog waits in
Redis.
Each turn ends with one atomic commit (session, replies, audit rows, the message leaving the buffer and
its "done" marker), so a process killed at any point loses no message and answers none twice; at
start-up the dispatcher simply finds the chats still waiting. The lock is a lease renewed while the turn
runs, so a killed process holds a chat for seconds, not a minute.

A chat in BOOKING_IN_PROGRESS needs nothing special: its next messages wait in the buffer until the
booking turn has committed. A BOOKING_IN_PROGRESS found when the lock is free is a dead turn: it takes
the unknown-outcome path at once (`sweeps.resolve_stuck_booking`).

`process` = `accept`, then run the chat's waiting turns in the calling task: `dancebot chat` and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from typing import Final, Protocol

from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from dancebot import waits
from dancebot.channels import gate
from dancebot.channels.message import Channel, UnifiedMessage
from dancebot.conversation import inbox
from dancebot.conversation.session import Profile, Session
from dancebot.conversation.states import State
from dancebot.conversation.sweeps import SystemEvents, resolve_stuck_booking
from dancebot.logs import bind_trace, get_logger
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys, trail
from dancebot.storage.audit import Audit

__all__ = ["LOCK_LEASE", "MAX_CONCURRENT_TURNS", "InboundProcessor", "RequestsInFlight"]

log = get_logger(__name__)

LOCK_LEASE: Final = 15.0  # seconds; renewed every third of it while a turn runs
MAX_CONCURRENT_TURNS: Final = 256  # at most this many turns at once (the lag decides how many compute)
MAX_FAILURES: Final = 3  # a message whose turn fails this often is set aside (errors row), not retried forever
_POLL: Final = 0.25  # the dispatcher looks at the ready index at least this often (other processes' accepts)
_BUSY_RETRY: Final = 0.1  # a chat whose lock another process holds is tried again after this
_FAILED_RETRY: Final = 1.0
_SHUTDOWN_GRACE: Final = 25.0  # turns in flight at shutdown may finish (a booking waits ≤ 30 s on the CRM)
_LAG_PROBE: Final = 0.01  # seconds between two looks at how late the event loop runs
_LAG_HIGH: Final = 0.006  # later than this, too many turns compute at once: the limit shrinks
_LAG_LOW: Final = 0.002  # earlier than this with the limit reached: the loop has room, it grows
_MIN_TURNS: Final = 2
_TURN_SPACING: Final = 0.005  # while webhooks are in flight, one turn starts computing at most this often
_MIN_SPACING: Final = 0.0005  # … or, while the acks are fast, this often (`RequestsInFlight.observe`)
_ACK_TARGET: Final = 0.008  # seconds a webhook request may take in the app before turns are paced harder


class RequestsInFlight:
    """Webhook requests this process is answering now (counted by the web layer), and the pacing of turns
    around them. In one event loop an ack queues behind every computing turn's steps: under overload acks
    took seconds (issue 10). So a turn about to compute goes at once when no request is in flight, and
    otherwise takes the next free slot, one every `spacing` — acks keep the loop first and turns a steady
    share, never starved as they were when turns simply waited for a quiet moment.

    The spacing follows the acks: a request answered slower than `_ACK_TARGET` widens it by half (up to
    `_TURN_SPACING`, the pace that held acks fast at twice the capacity), one answered in under half the
    target narrows it a little (down to `_MIN_SPACING`). The fixed pace capped turns near 200/s whenever
    requests were in flight, even with CPU to spare."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._next_slot = 0.0
        self.spacing = _TURN_SPACING

    def enter(self) -> float:
        """A request starts; returns its start, for `leave`."""
        self._count += 1
        self._idle.clear()
        return time.monotonic()

    def leave(self, started: float | None = None) -> None:
        self._count -= 1
        if self._count <= 0:
            self._count = 0
            self._idle.set()
        if started is not None:
            self.observe(time.monotonic() - started)

    def observe(self, seconds: float) -> None:
        """How long a request took: the pacing's feedback."""
        if seconds > _ACK_TARGET:
            self.spacing = min(_TURN_SPACING, self.spacing * 1.5)
        elif seconds < _ACK_TARGET / 2:
            self.spacing = max(_MIN_SPACING, self.spacing * 0.95)

    async def give_way(self) -> None:
        while self._count:
            now = time.monotonic()
            if now >= self._next_slot:
                self._next_slot = now + self.spacing
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self._next_slot - now)


class ConversationHandler(SystemEvents, Protocol):
    async def handle(
        self, msg: UnifiedMessage, session: Session, profile: Profile | None = None
    ) -> list[OutboundJob]: ...


class AdminHandler(Protocol):
    async def handle(self, msg: UnifiedMessage) -> list[OutboundJob]: ...


class InboundProcessor:
    def __init__(
        self,
        rt: Runtime,
        conversation: ConversationHandler,
        admin: AdminHandler,
        *,
        concurrency: int = MAX_CONCURRENT_TURNS,
    ) -> None:
        self._rt = rt
        self._conversation = conversation
        self._admin = admin
        self._concurrency = concurrency
        self._wake = asyncio.Event()
        self._active: dict[str, asyncio.Task[None]] = {}
        self._not_before: dict[str, float] = {}  # member → monotonic time before which it is not retried
        self._limit = float(_MIN_TURNS)  # turns at once now: adapts to how late the event loop runs
        self._outside = 0  # turns of `_active` waiting on the CRM or the LLM (`waits.outside`): not counted
        self.requests = RequestsInFlight()  # the web layer counts its webhook requests here

    # ---- the entry point ------------------------------------------------------------------------

    async def accept(self, msg: UnifiedMessage) -> gate.Verdict:
        """Check and durably accept one inbound message; its turn runs later, off the request path.

        A client's message is checked and accepted in one atomic Redis call (`inbox.accept_checked`);
        an admin command is only deduplicated. If accepting fails after the dedup mark, the mark is
        removed so the channel's redelivery is processed — a request is never lost to our own error."""
        bind_trace(msg.trace_id, channel=msg.channel, chat_id=msg.chat_id)
        redis = self._rt.redis
        tap = self._tap_answer(msg)
        if self._is_admin(msg):
            seen = keys.seen(msg.channel, msg.chat_id, msg.dedup_id)
            if await redis.set(seen, 1, nx=True, ex=gate.DEDUP_TTL) is None:
                return gate.Verdict.DUPLICATE  # a redelivered /reply must not reach the client twice
            try:
                await inbox.accept(redis, msg, jobs=[tap] if tap else [])
            except BaseException:
                await gate.forget(redis, msg)
                raise
        else:  # logged when its turn runs ("inbound.message"): under overload every ack's cost counts
            verdict, first_spam, _ = await inbox.accept_checked(redis, msg, jobs=[tap] if tap else [])
            if verdict is not gate.Verdict.PASS:
                if verdict is not gate.Verdict.SPAM or first_spam:
                    log.info("inbound.dropped", reason=verdict.value, message_id=msg.message_id)
                return verdict
        self._wake.set()
        return gate.Verdict.PASS

    async def process(self, msg: UnifiedMessage) -> gate.Verdict:
        """`accept`, then run the chat's waiting turns in this task (the console and tests)."""
        verdict = await self.accept(msg)
        if verdict is gate.Verdict.PASS:
            await self._run_chat(msg.channel, msg.chat_id, wait_for_lock=True, limit=None)
        return verdict

    # ---- the dispatcher -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run waiting turns until `stop`: first what earlier processes accepted, then what arrives."""
        found = await inbox.reindex(self._rt.redis)
        backlog = await inbox.waiting(self._rt.redis)
        log.info("inbound.dispatcher_started", chats_waiting=backlog, reindexed=found)
        probe = asyncio.create_task(self._adapt(stop))
        try:
            while not stop.is_set():
                try:
                    await self._schedule()
                except RedisError as exc:
                    log.warning("inbound.dispatch_redis_error", error=type(exc).__name__)
                    await asyncio.sleep(_POLL)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), _POLL)
                self._wake.clear()
        finally:
            probe.cancel()
            await self._finish()

    async def _adapt(self, stop: asyncio.Event) -> None:
        """Set how many turns run at once from how late the event loop runs a short sleep (AIMD).

        Turns run in the same loop as the webhook: every step of every running turn that is ready goes
        before a request's next step, so too many at once and an ack waits behind them all (each ack
        crosses the loop two or three times). Late → the limit shrinks, whatever else is in flight; on
        time with the limit reached → it grows by one. Turns waiting on the CRM or the LLM are not counted
        (`waits.outside`): a slow CRM never takes the places of the turns that could compute. Within
        [2, concurrency]."""
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(_LAG_PROBE)
            late = time.perf_counter() - started - _LAG_PROBE
            if late > _LAG_HIGH:
                self._limit = max(float(_MIN_TURNS), self._limit * 0.8)
            elif late < _LAG_LOW and self._running >= int(self._limit):
                self._limit = min(float(self._concurrency), self._limit + 1)
                self._wake.set()

    @property
    def _running(self) -> int:
        """Turns that hold a place: started, and not waiting on the CRM or the LLM."""
        return len(self._active) - self._outside

    def _note_outside(self, delta: int) -> None:
        """A turn starts (+1) or stops (-1) waiting on the CRM or the LLM; a place frees up or is taken."""
        self._outside += delta
        if delta > 0:
            self._wake.set()

    async def drain(self) -> int:
        """Run every turn waiting now, in this task; returns how many chats were handled (tests)."""
        handled = 0
        for member in await inbox.ready_chats(self._rt.redis, 10_000):
            channel, chat_id = inbox.parse_member(member)
            await self._run_chat(channel, chat_id, wait_for_lock=True, limit=None)
            handled += 1
        return handled

    async def _schedule(self) -> None:
        free = int(self._limit) - self._running
        if free <= 0:
            return
        now = time.monotonic()
        self._not_before = {m: t for m, t in self._not_before.items() if t > now}
        limit = len(self._active) + len(self._not_before) + free
        for member in await inbox.ready_chats(self._rt.redis, limit):
            if free <= 0:
                break
            if member in self._active or member in self._not_before:
                continue
            self._active[member] = asyncio.create_task(self._chat_task(member), name=f"turn:{member}")
            free -= 1

    async def _chat_task(self, member: str) -> None:
        waits.TurnWaits(self._note_outside).install()  # this task's context only
        retry_after = 0.0
        try:
            channel, chat_id = inbox.parse_member(member)
            if await self._run_chat(channel, chat_id, wait_for_lock=False, limit=1) is None:
                retry_after = _BUSY_RETRY  # another process holds the chat
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.warning("inbound.redis_unavailable", error=type(exc).__name__)
            retry_after = _FAILED_RETRY
        except ValueError:
            log.error("inbound.bad_ready_member", member=member)
            await self._rt.redis.zrem(keys.INBOX_READY, member)
        except Exception:
            log.exception("inbound.turn_failed")
            retry_after = _FAILED_RETRY
        finally:
            self._active.pop(member, None)
            if retry_after:
                self._not_before[member] = time.monotonic() + retry_after
            self._wake.set()

    async def _finish(self) -> None:
        """At shutdown: let turns in flight end (what is not committed waits for the next start)."""
        if not self._active:
            return
        log.info("inbound.dispatcher_stopping", turns_in_flight=len(self._active))
        _, pending = await asyncio.wait(list(self._active.values()), timeout=_SHUTDOWN_GRACE)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    # ---- one chat -------------------------------------------------------------------------------

    async def _run_chat(self, channel: Channel, chat_id: int, *, wait_for_lock: bool, limit: int | None) -> int | None:
        """Handle up to `limit` waiting messages of one chat under its lock; None when the lock is busy.
        The lock, the first message, the session and the profile come in one round trip, and the commit of
        the last message handled also releases the lock."""
        lock = inbox.ChatLock(self._rt.redis, channel, chat_id, lease=LOCK_LEASE)
        opened = await lock.open(wait=LOCK_LEASE * 4 if wait_for_lock else 0.0)
        if opened is None:
            return None
        keeper = asyncio.create_task(_keep_lease(lock))
        handled = 0
        try:
            while True:
                if opened.head is None:
                    await inbox.release_if_empty(self._rt.redis, channel, chat_id)
                    break
                last = limit is not None and handled + 1 >= limit
                await self._handle(channel, chat_id, opened, lock if last else None)
                handled += 1
                if last:
                    break
                opened = await lock.read()
        finally:
            keeper.cancel()
            if not lock.released:
                with contextlib.suppress(RedisError):
                    await lock.release()
        return handled

    async def _handle(
        self, channel: Channel, chat_id: int, opened: inbox.Opened, release: inbox.ChatLock | None
    ) -> None:
        """One buffered message: its turn, committed; a message that keeps failing is set aside. `release`:
        the commit also releases the chat's lock (the last message this turn takes)."""
        redis = self._rt.redis
        raw = opened.head
        assert raw is not None
        try:
            msg = UnifiedMessage.model_validate_json(raw)
        except ValidationError as exc:
            log.error("inbound.unreadable", error_count=exc.error_count())
            dedup = "-" + hashlib.sha256(raw).hexdigest()[:16]  # each its own: a second one gets its row too
            await self._set_aside(channel, chat_id, raw, dedup, "unreadable message", release=release)
            return
        bind_trace(msg.trace_id, channel=msg.channel, chat_id=msg.chat_id)
        if not self._is_admin(msg):
            log.info(
                "inbound.message",
                type=msg.message_type,
                text=msg.text or msg.callback_data or msg.contact_phone,
                edit=msg.is_edit,
            )
        begun = opened.begun  # marked by the opening script, unless it could not tell (an edit)
        if begun is None:
            begun = await inbox.begin(redis, channel, chat_id, msg.dedup_id)
        if not begun:
            log.info("inbound.already_done", message_id=msg.message_id)
            await inbox.commit(redis, channel=channel, chat_id=chat_id, message=(raw, msg.dedup_id), session=None,
                               release=release)  # fmt: skip
            return
        try:
            await self._turn(msg, opened, raw, release)
        except (RedisConnectionError, RedisTimeoutError):
            raise  # Redis itself is away: the message waits, nothing to count
        except Exception as exc:
            failures = await redis.incr(keys.inbox_failures(channel, chat_id, msg.dedup_id))
            await redis.expire(keys.inbox_failures(channel, chat_id, msg.dedup_id), 24 * 3600)
            log.warning("inbound.turn_error", failures=failures, error=type(exc).__name__)
            if failures < MAX_FAILURES:
                raise
            await self._set_aside(
                channel, chat_id, raw, msg.dedup_id, f"{type(exc).__name__}: {exc}", msg.trace_id, release=release
            )

    async def _set_aside(
        self,
        channel: Channel,
        chat_id: int,
        raw: bytes,
        dedup_id: str,
        error: str,
        trace_id: str | None = None,
        *,
        release: inbox.ChatLock | None = None,
    ) -> None:
        """Take a message that cannot be handled out of the buffer, with an errors row: it must not block
        the chat. Its text stays in the row's details."""
        row = Audit.error_row(
            trace_id=trace_id,
            source="inbound",
            kind="set_aside",
            message=error[:500],
            raw=raw.decode(errors="replace")[:2000],
        )
        await inbox.commit(self._rt.redis, channel=channel, chat_id=chat_id, message=(raw, dedup_id), session=None,
                           rows=[row], release=release)  # fmt: skip

    async def _turn(
        self, msg: UnifiedMessage, opened: inbox.Opened, raw: bytes, release: inbox.ChatLock | None
    ) -> None:
        started = time.perf_counter()
        rt = self._rt
        channel, chat_id = msg.channel, msg.chat_id
        if self._is_admin(msg):
            jobs = await self._admin.handle(msg)
            rows = [self._in_row(msg, "ADMIN"), *self._out_rows(jobs, "ADMIN")]
            await inbox.commit(rt.redis, channel=channel, chat_id=chat_id, message=(raw, msg.dedup_id),
                               session=None, jobs=jobs, rows=rows, release=release)  # fmt: skip
            return
        session, profile = rt.sessions.parse(channel, chat_id, opened.session, opened.profile)
        if session.state == State.BOOKING_IN_PROGRESS:  # we hold the lock: the booking's turn is dead
            log.warning("inbound.booking_turn_died", since=round(time.time() - session.state_since, 1))
            await resolve_stuck_booking(rt, self._conversation, session)
            if await rt.redis.exists(keys.inbox_done(channel, chat_id, msg.dedup_id)):
                return  # that was the message which had started the booking: now answered
            session, profile = await rt.sessions.load_with_profile(channel, chat_id)
            await inbox.begin(rt.redis, channel, chat_id, msg.dedup_id)
        rows = [self._in_row(msg, session.state)]
        await self.requests.give_way()  # the turn computes now: acks first
        with trail.collect() as transitions:  # written by the commit below, with the turn
            if msg.is_textual:
                jobs = await self._conversation.handle(msg, session, profile)
            else:
                lang = session.language or rt.kb.tone.language
                jobs = [self.reply(msg, rt.catalogue.text("text_only", lang))]
        rows += self._out_rows(jobs, session.state) + transitions
        await inbox.commit(rt.redis, channel=channel, chat_id=chat_id, message=(raw, msg.dedup_id),
                           session=session, jobs=jobs, rows=rows, release=release)  # fmt: skip
        log.info("inbound.processed", ms=int((time.perf_counter() - started) * 1000))

    # ---- helpers --------------------------------------------------------------------------------

    def _is_admin(self, msg: UnifiedMessage) -> bool:
        admin = self._rt.settings.admin_chat_id
        return admin is not None and msg.chat_id == admin and msg.channel == "telegram"

    @staticmethod
    def _tap_answer(msg: UnifiedMessage) -> OutboundJob | None:
        """A button tap is answered at once (the client's spinner stops), before its turn runs."""
        if not msg.callback_query_id:
            return None
        return OutboundJob(
            kind="callback_answer",
            chat_id=msg.chat_id,
            callback_query_id=msg.callback_query_id,
            trace_id=msg.trace_id,
            channel=msg.channel,
        )

    @staticmethod
    def _in_row(msg: UnifiedMessage, state: str) -> str:
        return Audit.message_row(
            trace_id=msg.trace_id,
            channel=msg.channel,
            chat_id=msg.chat_id,
            direction="in",
            text=msg.text or msg.callback_data or msg.contact_phone,
            message_id=msg.message_id,
            message_type=msg.message_type,
            state=state,
            is_edit=msg.is_edit,
        )

    @staticmethod
    def _out_rows(jobs: list[OutboundJob], state: str) -> list[str]:
        return [
            Audit.message_row(
                trace_id=job.trace_id,
                channel=job.channel,
                chat_id=job.chat_id,
                direction="out",
                text=job.text,
                state=job.state or state,
            )
            for job in jobs
            if job.kind == "message"
        ]

    @staticmethod
    def reply(msg: UnifiedMessage, text: str) -> OutboundJob:
        return OutboundJob(chat_id=msg.chat_id, channel=msg.channel, text=text, trace_id=msg.trace_id)


async def _keep_lease(lock: inbox.ChatLock) -> None:
    """Renew the chat's lock while its turn runs, so only a dead process's lock can expire."""
    while True:
        await asyncio.sleep(LOCK_LEASE / 3)
        try:
            if not await lock.extend():
                if not lock.released:
                    log.error("inbound.lock_lost")
                return
        except RedisError as exc:
            log.warning("inbound.lock_extend_failed", error=type(exc).__name__)
