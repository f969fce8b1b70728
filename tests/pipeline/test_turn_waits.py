"""`waits.outside()`: the CRM and the LLM tell the dispatcher when a turn waits on them. Pure asyncio."""

from __future__ import annotations

import asyncio

import pytest

from dancebot import waits


async def test_outside_a_turn_it_does_nothing() -> None:
    with waits.outside():
        await asyncio.sleep(0)


async def test_a_turn_is_counted_outside_once_however_deep_and_back_after() -> None:
    notes: list[int] = []

    async def turn() -> None:
        waits.TurnWaits(notes.append).install()
        with waits.outside():  # a booking's slot …
            with waits.outside():  # … then its request
                assert notes == [+1]
        assert notes == [+1, -1]

    await asyncio.create_task(turn())


async def test_a_wait_that_fails_or_is_cancelled_still_counts_the_turn_back() -> None:
    notes: list[int] = []
    hung = asyncio.Event()

    async def failing() -> None:
        waits.TurnWaits(notes.append).install()
        with waits.outside():
            raise TimeoutError

    async def cancelled() -> None:
        waits.TurnWaits(notes.append).install()
        with waits.outside():
            await hung.wait()

    with pytest.raises(TimeoutError):
        await asyncio.create_task(failing())
    task = asyncio.create_task(cancelled())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sum(notes) == 0 and len(notes) == 4


async def test_each_turn_counts_only_in_its_own_task() -> None:
    notes: list[int] = []
    release = asyncio.Event()

    async def turn() -> None:
        waits.TurnWaits(notes.append).install()
        with waits.outside():
            await release.wait()

    async def other() -> None:  # a task of its own, no turn installed: not counted
        with waits.outside():
            await release.wait()

    tasks = [asyncio.create_task(turn()), asyncio.create_task(turn()), asyncio.create_task(other())]
    await asyncio.sleep(0.01)
    assert notes == [+1, +1]
    release.set()
    await asyncio.gather(*tasks)
    assert sum(notes) == 0
