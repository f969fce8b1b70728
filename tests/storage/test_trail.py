"""Transition rows of a turn travel with the turn's commit (storage/trail.py): none is queued while the
turn runs, so a turn killed half-way leaves no row of it, and a committed turn has every one."""

from __future__ import annotations

import asyncio

from dancebot.logs import bind_trace, get_logger
from dancebot.runtime import Runtime
from dancebot.storage import keys, trail

log = get_logger("tests.trail")


def _transition(state_to: str) -> None:
    log.info("fsm.transition", state_from="IDLE", fsm_event="booking", state_to=state_to, action="booking.collect")


async def _settle() -> None:
    for _ in range(20):  # the fire-and-forget LPUSH runs on the loop
        await asyncio.sleep(0.01)


async def test_inside_a_turn_rows_are_gathered_not_queued(rt: Runtime) -> None:
    trail.install(rt.redis)
    bind_trace("trace-in-turn", channel="telegram", chat_id=4242)
    with trail.collect() as rows:
        _transition("CONFIRM_BOOKING")
        _transition("BOOKING_IN_PROGRESS")
        await _settle()
        assert await rt.redis.llen(keys.AUDIT_QUEUE) == 0  # nothing of the turn is visible before its commit
    assert len(rows) == 2
    assert '"CONFIRM_BOOKING"' in rows[0] and '"BOOKING_IN_PROGRESS"' in rows[1]


async def test_outside_a_turn_rows_are_queued_at_once(rt: Runtime) -> None:
    trail.install(rt.redis)
    bind_trace("trace-sweep", channel="telegram", chat_id=4243)
    _transition("IDLE")
    await _settle()
    assert await rt.redis.llen(keys.AUDIT_QUEUE) == 1
