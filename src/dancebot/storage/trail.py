"""Two log events become audit rows (PRODUCT.md §13.1): the trace of a message is then whole in PostgreSQL.

- `fsm.transition` (the pure engine's only record of a transition) → a `fsm_transitions` row: state from,
  event, state to, the action — what `/trace` shows and `dancebot report` counts (handoffs, "не понял",
  questions, admin replies);
- `outbound.sent` (the worker, after a message reached the channel) → a `tool_calls` row `{channel}.send`
  with the job's purpose and chat: when a reply was delivered. It is written by the job's ack.

The engine does no I/O and the worker's send loop is not ours to widen, so the rows are taken where both
already report: a structlog processor (`install`, once per process, by the wiring). It adds nothing to the
log line. Inside a client's turn (`collect`, used by the inbound processor) the rows are gathered and
written by the turn's one atomic commit, with its session and replies (a delivery's row, likewise, by
the job's ack): a turn killed half-way leaves
neither, a committed turn has all of them, and the turn makes no extra Redis round trip per transition.
Elsewhere (the worker's sends, sweeps) the row is queued on `queue:audit` like every audit row,
fire-and-forget on the running event loop: a process killed in the microseconds between the log call and
the LPUSH loses that row — said here. The trace id, channel and chat come from the log context
(`logs.bind_trace`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog
from redis.asyncio import Redis

from dancebot.storage import keys
from dancebot.storage.audit import encode_row

__all__ = ["TRAIL_EVENTS", "collect", "install", "row_for"]

TRAIL_EVENTS = frozenset({"fsm.transition", "outbound.sent"})
_pending: set[asyncio.Task[Any]] = set()  # queued rows on their way (a task is kept until done)
_lost = [0]  # rows Redis refused, for tests and curiosity
_redis: Redis | None = None
_collecting: ContextVar[list[str] | None] = ContextVar("trail_collecting", default=None)


@contextlib.contextmanager
def collect() -> Iterator[list[str]]:
    """Gather the rows of the events logged in this context (a turn) instead of queuing them: the caller
    writes them with its commit."""
    rows: list[str] = []
    token = _collecting.set(rows)
    try:
        yield rows
    finally:
        _collecting.reset(token)


def row_for(event: MutableMapping[str, Any]) -> str | None:
    """The audit row (as queued) a log event stands for, or None."""
    name = event.get("event")
    if name not in TRAIL_EVENTS:
        return None
    trace = event.get("trace_id")
    trace_id = str(trace)[:36] if trace and trace != "-" else None
    chat_id, channel = event.get("chat_id"), event.get("channel")
    if not isinstance(chat_id, int) or not isinstance(channel, str):
        return None
    if name == "fsm.transition":
        return encode_row(
            "fsm_transitions",
            {
                "trace_id": trace_id,
                "channel": channel,
                "chat_id": chat_id,
                "state_from": str(event.get("state_from", ""))[:32],
                "event": str(event.get("fsm_event", ""))[:32],
                "state_to": str(event.get("state_to", ""))[:32],
                "action": str(event.get("action", ""))[:64] or None,
            },
        )
    return encode_row(
        "tool_calls",
        {
            "trace_id": trace_id,
            "function": f"{channel}.send",
            "arguments": {"chat_id": chat_id, "job": event.get("job"), "purpose": event.get("purpose")},
            "status": "ok",
            "latency_ms": int(event.get("ms") or 0),
        },
    )


def install(redis: Redis) -> None:
    """Add the processor to structlog's chain (after the context is merged in); a later call only points
    it at this `redis` (the process's current runtime)."""
    global _redis
    _redis = redis
    processors: list[Any] = list(structlog.get_config()["processors"])
    if _record in processors:
        return
    merged = next((i for i, p in enumerate(processors) if p is structlog.contextvars.merge_contextvars), -1)
    processors.insert(merged + 1, _record)
    structlog.configure(processors=processors)


def _record(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    try:
        row = row_for(event)
        if row is not None and (gathered := _collecting.get()) is not None:
            gathered.append(row)
        elif row is not None and _redis is not None:
            task = asyncio.get_running_loop().create_task(_push(_redis, row))
            _pending.add(task)
            task.add_done_callback(_settled)
    except Exception:  # a log line never fails because of its audit copy (no running loop, no Redis)
        return event
    return event


async def _push(redis: Redis, row: str) -> None:
    await redis.lpush(keys.AUDIT_QUEUE, row)


def _settled(task: asyncio.Task[Any]) -> None:
    _pending.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _lost[0] += 1  # Redis away for longer than its client's retries: the row is lost, the turn is not
