"""Turns give webhook acks the event loop first (issue 10): with a request in flight a turn waits for a
paced slot, one every few milliseconds, instead of piling its computation in front of the ack; with none
in flight it goes at once. Pure asyncio, no servers."""

from __future__ import annotations

import asyncio
import time

from dancebot.conversation.inbound import _MIN_SPACING, _TURN_SPACING, RequestsInFlight


async def test_with_no_request_in_flight_turns_go_at_once() -> None:
    requests = RequestsInFlight()
    started = time.monotonic()
    for _ in range(50):
        await requests.give_way()
    assert time.monotonic() - started < 0.01


async def test_with_requests_in_flight_turns_are_paced_not_starved() -> None:
    requests = RequestsInFlight()
    requests.enter()  # a webhook that stays in flight the whole time
    passed: list[float] = []

    async def turn() -> None:
        await requests.give_way()
        passed.append(time.monotonic())

    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(turn() for _ in range(10))), timeout=2)
    gaps = [b - a for a, b in zip(sorted(passed), sorted(passed)[1:], strict=False)]
    assert len(passed) == 10  # every turn got its slot although the request never ended
    assert min(gaps) >= _TURN_SPACING * 0.9  # one at a time, spaced
    assert time.monotonic() - started < 10 * _TURN_SPACING + 0.5


async def test_the_last_request_ending_lets_waiting_turns_go() -> None:
    requests = RequestsInFlight()
    requests.enter()
    await requests.give_way()  # takes the first slot
    waiting = [asyncio.create_task(requests.give_way()) for _ in range(5)]
    await asyncio.sleep(0)
    requests.leave()
    await asyncio.wait_for(asyncio.gather(*waiting), timeout=0.05)  # no waiting for their slots
    await asyncio.wait_for(asyncio.gather(*(requests.give_way() for _ in range(20))), timeout=0.01)  # none in flight


async def test_the_pace_loosens_while_acks_are_fast_and_tightens_when_they_slow() -> None:
    """Fast acks let turns start up to ten times as often as the starting pace (no cap near 200 turns/s
    with CPU to spare); one slow ack after another brings the starting pace back, never beyond it."""
    requests = RequestsInFlight()
    assert requests.spacing == _TURN_SPACING
    for _ in range(100):
        requests.observe(0.001)
    assert requests.spacing == _MIN_SPACING
    requests.enter()
    passed = []
    started = time.monotonic()
    for _ in range(20):
        await requests.give_way()
        passed.append(time.monotonic())
    assert passed[-1] - started < 20 * _TURN_SPACING / 2  # well under the fixed pace's 100 ms
    for _ in range(10):
        requests.observe(0.05)
    assert requests.spacing == _TURN_SPACING


async def test_a_slow_request_measured_by_leave_tightens_the_pace() -> None:
    requests = RequestsInFlight()
    for _ in range(100):
        requests.observe(0.0)
    loose = requests.spacing
    started = requests.enter()
    await asyncio.sleep(0.02)  # an ack the turns held up
    requests.leave(started)
    assert requests.spacing == min(_TURN_SPACING, loose * 1.5)
    await asyncio.wait_for(asyncio.gather(*(requests.give_way() for _ in range(20))), timeout=0.01)  # none in flight
