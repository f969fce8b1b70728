"""Timeouts enforced by the worker (contract §7, §20; SPEC §5): it sweeps the session index.

CONFIRM_BOOKING 1 h → one "Ещё актуально?", 3 h → IDLE with a notice; BOOKING_IN_PROGRESS stuck (a
crashed turn) → fallback marked "verify" and the client told; HANDOFF_TO_ADMIN 2 h → a second alert to
the admin; ADMIN_RESPONDING 4 h → the client is told the admin will answer later → IDLE. Sessions
older than 24 h expire by their Redis TTL. A chat being processed right now (its lock held) is skipped
and looked at on the next sweep.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from redis.exceptions import LockError

from dancebot.conversation.fsm import Event, State
from dancebot.conversation.session import Session
from dancebot.logs import bind_trace, get_logger
from dancebot.outbound.queue import enqueue
from dancebot.runtime import Runtime
from dancebot.storage import keys

if TYPE_CHECKING:
    from dancebot.conversation.engine import Engine

__all__ = ["sweep_sessions", "timeout_event"]

log = get_logger(__name__)

CONFIRM_REPROMPT = 3600
CONFIRM_EXPIRE = 3 * 3600
BOOKING_STUCK = 45  # the booking turn itself gives up after 30 s
HANDOFF_REMIND = 2 * 3600
ADMIN_EXPIRE = 4 * 3600


def timeout_event(session: Session, now: float) -> Event | None:
    """Which timeout, if any, this session has reached (pure)."""
    age = now - session.state_since
    state = session.state
    if state == State.CONFIRM_BOOKING:
        if age > CONFIRM_EXPIRE:
            return Event.TIMEOUT_EXPIRE
        if age > CONFIRM_REPROMPT and not session.reprompted_confirm:
            return Event.TIMEOUT_REPROMPT
    elif state == State.BOOKING_IN_PROGRESS and age > BOOKING_STUCK:
        return Event.CRM_UNAVAILABLE
    elif state == State.HANDOFF_TO_ADMIN:
        if age > ADMIN_EXPIRE:
            return Event.TIMEOUT_EXPIRE
        if age > HANDOFF_REMIND and not session.reprompted_confirm:
            return Event.TIMEOUT_REPROMPT
    elif state == State.ADMIN_RESPONDING and age > ADMIN_EXPIRE:
        return Event.TIMEOUT_EXPIRE
    return None


async def sweep_sessions(rt: Runtime, engine: Engine, *, now: float | None = None) -> int:
    """One pass over every indexed session; returns how many timeouts fired."""
    now = time.time() if now is None else now
    fired = 0
    for raw_key in await rt.redis.zrange(keys.SESSION_INDEX, 0, -1):
        key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
        _, channel, chat = key.split(":", 2)
        raw = await rt.redis.get(key)
        if raw is None:
            await rt.redis.zrem(keys.SESSION_INDEX, key)
            continue
        session = Session.model_validate_json(raw)
        if timeout_event(session, now) is None:
            continue
        lock = rt.redis.lock(keys.lock(channel, chat), timeout=30, blocking_timeout=0.05)
        try:
            async with lock:
                fired += await _fire(rt, engine, channel, int(chat), now)
        except LockError:
            continue
    return fired


async def _fire(rt: Runtime, engine: Engine, channel: str, chat_id: int, now: float) -> int:
    session = await rt.sessions.load(channel, chat_id)  # reloaded under the lock
    event = timeout_event(session, now)
    if event is None:
        return 0
    trace_id = str(uuid.uuid4())
    bind_trace(trace_id, channel=channel, chat_id=chat_id)
    log.info("timeout.fired", state=session.state, fsm_event=event.value)
    if event is Event.TIMEOUT_REPROMPT:
        session.reprompted_confirm = True
    if event is Event.CRM_UNAVAILABLE:
        session.pending["result"] = {"status": "unknown", "reason": "interrupted"}
    jobs = await engine.system_event(session, event, trace_id=trace_id)
    if session.state == State.IDLE:
        session.reprompted_confirm = False
    await rt.sessions.save(session)
    await enqueue(rt.redis, *jobs)
    for job in jobs:
        await rt.audit.message(
            trace_id=trace_id,
            channel=job.channel,
            chat_id=job.chat_id,
            direction="out",
            text=job.text,
            state=session.state,
        )
    return 1
