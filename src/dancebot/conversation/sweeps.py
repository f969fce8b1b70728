"""Timeouts enforced by the worker (PRODUCT.md §5, §20): it sweeps the session index.

Which timeout a session has reached is `timeouts.timeout_event`; the event then runs through the table
like any other (a stuck BOOKING_IN_PROGRESS as an unknown outcome: a "verify" request, the client told).
Sessions older than 24 h expire by their Redis TTL. A chat being processed right now (its lock held) is
skipped and looked at on the next sweep.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, cast

from pydantic import ValidationError
from redis.exceptions import LockError

from dancebot.channels.message import Channel
from dancebot.conversation.effects import BookingOutcome
from dancebot.conversation.session import Session
from dancebot.conversation.states import Event, State
from dancebot.conversation.timeouts import timeout_event
from dancebot.logs import bind_trace, get_logger
from dancebot.outbound.queue import enqueue
from dancebot.runtime import Runtime
from dancebot.storage import keys

if TYPE_CHECKING:
    from dancebot.conversation.runner import ConversationRunner

__all__ = ["sweep_sessions"]

log = get_logger(__name__)


async def sweep_sessions(rt: Runtime, runner: ConversationRunner, *, now: float | None = None) -> int:
    """One pass over every indexed session; returns how many timeouts fired."""
    now = time.time() if now is None else now
    fired = 0
    members = cast(list[bytes | str], await rt.redis.zrange(keys.SESSION_INDEX, 0, -1))
    for raw_key in members:
        key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
        _, channel, chat = key.split(":", 2)
        raw = await rt.redis.get(key)
        if raw is None or channel not in ("telegram", "whatsapp"):
            await rt.redis.zrem(keys.SESSION_INDEX, key)
            continue
        try:
            session = Session.model_validate_json(raw)
        except ValidationError:
            continue  # an unreadable document: dropped when the chat is next loaded
        if timeout_event(session, now) is None:
            continue
        lock = rt.redis.lock(keys.lock(channel, chat), timeout=30, blocking_timeout=0.05)
        try:
            async with lock:
                fired += await _fire(rt, runner, session.channel, int(chat), now)
        except LockError:
            continue
    return fired


async def _fire(rt: Runtime, runner: ConversationRunner, channel: Channel, chat_id: int, now: float) -> int:
    session = await rt.sessions.load(channel, chat_id)  # reloaded under the lock
    event = timeout_event(session, now)
    if event is None:
        return 0
    trace_id = str(uuid.uuid4())
    bind_trace(trace_id, channel=channel, chat_id=chat_id)
    log.info("timeout.fired", state=session.state, fsm_event=event.value)
    if event is Event.TIMEOUT_REPROMPT:
        session.reprompted_confirm = True
    outcome = BookingOutcome("unknown", "interrupted") if event is Event.CRM_UNAVAILABLE else None
    jobs = await runner.system(session, event, trace_id=trace_id, outcome=outcome)
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
