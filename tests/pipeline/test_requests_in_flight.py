"""Turns give webhook acks the event loop first (issue 10): with a request in flight a turn waits for a
paced slot, one every few milliseconds, instead of piling its computation in front of the ack; with none
in flight it goes at once. Pure asyncio, no servers."""

from __future__ import annotations

import asyncio
import time

from dancebot.conversation.inbound import _TURN_SPACING, RequestsInFlight


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
    assert not requests.busy
