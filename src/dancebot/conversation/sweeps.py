"""Timeouts and session recovery (PRODUCT.md §5.7): the worker sweeps the session index, at start-up and
then every half second.

Which timeout a session has reached is `timeouts.timeout_event`; the event then runs through the table
like any other (a stuck BOOKING_IN_PROGRESS as an unknown outcome: verified later, the client told).
Besides those, a session that has sat in one conversing state for more than 24 h returns to IDLE
silently, as if its Redis TTL had expired. A chat being processed right now (its lock held) is skipped
and looked at on the next sweep.

Each firing ends like a turn (`inbox.commit`): session, messages and audit rows in one atomic step. A
booking whose turn died also takes the message that started it out of the chat's buffer, so the restart
does not book (or answer) it a second time.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Final, Literal, Protocol, cast

from pydantic import ValidationError
from redis.exceptions import LockError

from dancebot.channels.message import Channel, UnifiedMessage
from dancebot.conversation import inbox
from dancebot.conversation.effects import BookingOutcome, Outcome
from dancebot.conversation.session import Session
from dancebot.conversation.states import Event, State
from dancebot.conversation.timeouts import BOOKING_STUCK, timeout_event
from dancebot.logs import bind_trace, get_logger
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.audit import Audit

if TYPE_CHECKING:
    from dancebot.conversation.runner import ConversationRunner

__all__ = ["STALE_AFTER", "SystemEvents", "fire_event", "resolve_stuck_booking", "sweep_sessions"]

log = get_logger(__name__)

STALE_AFTER: Final = 24 * 3600  # PRODUCT.md §5.7: any state older than 24 h → IDLE
Due = Event | Literal["stale"]
_BATCH: Final = 500  # sessions read per MGET
_IDLE: Final = b'"state":"IDLE"'  # how an IDLE session's JSON says so (pydantic's compact dump)


class SystemEvents(Protocol):
    """What firing needs of the runner: a system event for a session → the messages to queue."""

    async def system(
        self, session: Session, event: Event, *, trace_id: str, outcome: Outcome | None = None
    ) -> list[OutboundJob]: ...


async def sweep_sessions(rt: Runtime, runner: ConversationRunner, *, now: float | None = None) -> int:
    """One pass over every indexed session; returns how many timeouts fired."""
    now = time.time() if now is None else now
    fired = 0
    members = cast(list[bytes], await rt.redis.zrange(keys.SESSION_INDEX, 0, -1))
    for start in range(0, len(members), _BATCH):
        batch = [m.decode() for m in members[start : start + _BATCH]]
        for key, raw in zip(batch, cast(list[bytes | None], await rt.redis.mget(batch)), strict=True):
            _, channel, chat = key.split(":", 2)
            if raw is None or channel not in ("telegram", "whatsapp"):
                await rt.redis.zrem(keys.SESSION_INDEX, key)
                continue
            if _IDLE in raw:
                continue  # most sessions rest in IDLE, which has no timeout: not worth parsing
            try:
                session = Session.model_validate_json(raw)
            except ValidationError:
                continue  # an unreadable document: dropped when the chat is next loaded
            if _due(session, now) is None:
                continue
            lock = rt.redis.lock(keys.lock(channel, chat), timeout=30, blocking_timeout=0.05)
            try:
                async with lock:
                    fired += await _fire(rt, runner, session.channel, int(chat), now)
            except LockError:
                continue
    return fired


def _due(session: Session, now: float) -> Due | None:
    if session.state not in (State.IDLE, State.BOOKING_IN_PROGRESS) and now - session.state_since > STALE_AFTER:
        return "stale"
    return timeout_event(session, now)


async def _fire(rt: Runtime, runner: ConversationRunner, channel: Channel, chat_id: int, now: float) -> int:
    session = await rt.sessions.load(channel, chat_id)  # reloaded under the lock
    due = _due(session, now)
    if due is None:
        return 0
    if due == "stale":
        bind_trace(str(uuid.uuid4()), channel=channel, chat_id=chat_id)
        log.info("session.expired", state=session.state, hours=round((now - session.state_since) / 3600, 1))
        session.reset()
        session.enter(State.IDLE)
        await inbox.commit(rt.redis, channel=channel, chat_id=chat_id, message=None, session=session)
        return 1
    await fire_event(rt, runner, session, due)
    return 1


async def resolve_stuck_booking(rt: Runtime, runner: SystemEvents, session: Session) -> bool:
    """A BOOKING_IN_PROGRESS whose turn is known to be dead (the caller holds the chat's free lock): the
    unknown-outcome path at once, without waiting for the sweep's threshold. False if not in a booking."""
    event = timeout_event(session, session.state_since + BOOKING_STUCK + 1)
    if session.state != State.BOOKING_IN_PROGRESS or event is None:
        return False
    await fire_event(rt, runner, session, event)
    return True


async def fire_event(rt: Runtime, runner: SystemEvents, session: Session, event: Event) -> None:
    """Run a system event for a session through the table and commit its outcome (caller holds the lock)."""
    trace_id = str(uuid.uuid4())
    bind_trace(trace_id, channel=session.channel, chat_id=session.chat_id)
    log.info("timeout.fired", state=session.state, fsm_event=event.value)
    stuck = session.state == State.BOOKING_IN_PROGRESS
    message = await _booking_message(rt, session) if stuck else None
    if event is Event.TIMEOUT_REPROMPT:
        session.reprompted_confirm = True
    outcome = BookingOutcome("unknown", "interrupted") if stuck else None
    jobs = await runner.system(session, event, trace_id=trace_id, outcome=outcome)
    if session.state == State.IDLE:
        session.reprompted_confirm = False
    rows = [
        Audit.message_row(
            trace_id=trace_id,
            channel=job.channel,
            chat_id=job.chat_id,
            direction="out",
            text=job.text,
            state=session.state,
        )
        for job in jobs
        if job.kind == "message"
    ]
    await inbox.commit(
        rt.redis,
        channel=session.channel,
        chat_id=session.chat_id,
        message=message,
        session=session,
        jobs=jobs,
        rows=rows,
    )


async def _booking_message(rt: Runtime, session: Session) -> tuple[bytes, str] | None:
    """The buffered message whose turn started this booking and died, if it is still waiting."""
    turn = await rt.redis.get(keys.inbox_turn(session.channel, session.chat_id))
    raw = await inbox.head(rt.redis, session.channel, session.chat_id)
    if not isinstance(turn, bytes) or raw is None:
        return None
    try:
        msg = UnifiedMessage.model_validate_json(raw)
    except ValidationError:
        return None
    return (raw, msg.dedup_id) if msg.dedup_id == turn.decode() else None
