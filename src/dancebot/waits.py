"""Waits on the outside world inside a conversation turn: the CRM and the LLM say when a turn is waiting on them.

The app's turn dispatcher (`conversation/inbound.py`) bounds how many turns run at once, so that its event
loop stays on time for the webhooks that share it; under overload the bound shrinks to a few turns. A turn
waiting a second on Impulse or the LLM computes nothing, and must not hold one of those few places: the
turns that could compute would wait behind it, and throughput would fall to a handful of messages a second
whenever the CRM is slow. So the clients wrap every call in `outside()`, and the dispatcher counts a turn
inside one as not running.

Pure bookkeeping, no I/O: outside a turn (the worker, the console, tests) `outside()` does nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass

__all__ = ["TurnWaits", "outside"]


@dataclass
class TurnWaits:
    """One turn's waits. `note(+1)` when it starts waiting outside, `note(-1)` when it is back; nested
    waits (a booking's slot, then its request) count once."""

    note: Callable[[int], None]
    depth: int = 0

    def install(self) -> Token[TurnWaits | None]:
        """Make this the current task's turn (a task copies the context it was created in)."""
        return _current.set(self)


_current: ContextVar[TurnWaits | None] = ContextVar("dancebot_turn_waits", default=None)


@contextlib.contextmanager
def outside() -> Iterator[None]:
    """Around an await on the CRM or the LLM: the turn waits, it does not compute."""
    turn = _current.get()
    if turn is None:
        yield
        return
    turn.depth += 1
    if turn.depth == 1:
        turn.note(+1)
    try:
        yield
    finally:
        turn.depth -= 1
        if turn.depth == 0:
            turn.note(-1)
