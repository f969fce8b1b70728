"""Audit rows (messages, tool calls, booking attempts, errors, fallback requests, dead letters).

The app never writes Postgres on the request path: it pushes each row to a Redis list and the worker
writes them in batches (`flush_audit`). If Postgres is down the rows wait in Redis and are written when
it is back (PRODUCT.md §12); a conversation never stalls on its audit trail. A row Postgres refuses (too long,
wrong type, NULL where one is required) does not hold up the others: it is logged and set aside in
`queue:audit:rejected`, in the same format as `queue:audit`, to be looked at (and moved back) by hand.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any, NamedTuple

from redis.asyncio import Redis
from sqlalchemy import insert
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.logs import get_logger, mask_text
from dancebot.storage import keys
from dancebot.storage.tables import TABLES_BY_NAME

__all__ = ["Audit", "encode_row", "flush_audit"]

log = get_logger(__name__)


def encode_row(table: str, row: dict[str, Any]) -> str:
    """One row as it waits in `queue:audit` (JSON; `created_at` as unix time, stamped now if absent)."""
    row.setdefault("created_at", time.time())
    return json.dumps({"table": table, "row": row}, ensure_ascii=False)


class Audit:
    """Queues rows for Postgres; every method is one table."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def _push(self, table: str, row: dict[str, Any]) -> None:
        await self._redis.lpush(keys.AUDIT_QUEUE, encode_row(table, row))

    @staticmethod
    def message_row(
        *,
        trace_id: str | None,
        channel: str,
        chat_id: int,
        direction: str,
        text: str | None,
        message_id: str | None = None,
        message_type: str = "text",
        state: str | None = None,
        is_edit: bool = False,
    ) -> str:
        """A `messages` row as queued, for callers that push it together with other writes (one script)."""
        return encode_row(
            "messages",
            {
                "trace_id": trace_id,
                "channel": channel,
                "chat_id": chat_id,
                "direction": direction,
                "text": text,
                "message_id": message_id,
                "message_type": message_type,
                "state": state,
                "is_edit": is_edit,
            },
        )

    async def message(
        self,
        *,
        trace_id: str | None,
        channel: str,
        chat_id: int,
        direction: str,
        text: str | None,
        message_id: str | None = None,
        message_type: str = "text",
        state: str | None = None,
        is_edit: bool = False,
    ) -> None:
        row = self.message_row(
            trace_id=trace_id,
            channel=channel,
            chat_id=chat_id,
            direction=direction,
            text=text,
            message_id=message_id,
            message_type=message_type,
            state=state,
            is_edit=is_edit,
        )
        await self._redis.lpush(keys.AUDIT_QUEUE, row)

    async def tool_call(
        self, *, trace_id: str | None, function: str, arguments: dict[str, Any], status: str, latency_ms: int
    ) -> None:
        masked = {k: mask_text(v) if isinstance(v, str) else v for k, v in arguments.items()}
        await self._push(
            "tool_calls",
            {
                "trace_id": trace_id,
                "function": function,
                "arguments": masked,
                "status": status,
                "latency_ms": latency_ms,
            },
        )

    async def booking_attempt(self, **row: Any) -> None:
        await self._push("booking_attempts", row)

    @staticmethod
    def error_row(*, trace_id: str | None, source: str, kind: str, message: str, **details: Any) -> str:
        """An `errors` row as queued (the message masked), for callers that push it with other writes."""
        return encode_row(
            "errors",
            {"trace_id": trace_id, "source": source, "kind": kind, "message": mask_text(message), "details": details},
        )

    async def error(self, *, trace_id: str | None, source: str, kind: str, message: str, **details: Any) -> None:
        row = self.error_row(trace_id=trace_id, source=source, kind=kind, message=message, **details)
        await self._redis.lpush(keys.AUDIT_QUEUE, row)

    async def fallback(self, **row: Any) -> None:
        await self._push("fallback_requests", row)

    async def dead_letter(self, **row: Any) -> None:
        await self._push("dead_letter_messages", row)

    async def llm_call(
        self,
        *,
        trace_id: str | None,
        purpose: str,
        model: str | None,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float,
        latency_ms: int,
        status: str,
    ) -> None:
        """One LLM request (or one refused by the budget): tokens, cost and outcome — never its text."""
        await self._push(
            "llm_calls",
            {
                "trace_id": trace_id,
                "purpose": purpose[:32],
                "model": model[:128] if model else model,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "cost_usd": cost_usd,
                "latency_ms": latency_ms,
                "status": status[:32],
            },
        )


class _Entry(NamedTuple):
    item: bytes | str  # as queued: what goes back to the queue, or to the rejected list
    table: str
    row: dict[str, Any]


def _decode(item: bytes | str) -> _Entry | None:
    try:
        data = json.loads(item)
        row = dict(data["row"])
        row["created_at"] = datetime.fromtimestamp(float(row["created_at"]), UTC)
        table = str(data["table"])
    except (ValueError, KeyError, TypeError):
        return None
    return _Entry(item, table, row) if table in TABLES_BY_NAME else None


# SQLSTATE classes of the errors a row's values cause: 22 data exception (value too long, bad encoding,
# out of range; asyncpg reports a value it cannot encode as 22000), 23 integrity constraint violation
# (NOT NULL, CHECK, UNIQUE, FOREIGN KEY). SQLAlchemy's asyncpg adapter wraps some of them in a plain
# DBAPIError ("value too long" is one), so the code decides, not the exception class alone.
_ROW_ERROR_CLASSES = frozenset({"22", "23"})


def _is_row_error(exc: BaseException) -> bool:
    """True when the rows' values were refused, so sending the same rows again cannot succeed.

    False for everything else — Postgres unreachable or restarting (OSError, a dropped connection), a
    missing table or privilege (a deployment problem, not a row's), an unknown failure: then the rows
    keep waiting in Redis."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return False
        if isinstance(exc, IntegrityError | DataError):
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None)  # asyncpg's code, kept by SQLAlchemy's adapter
        return isinstance(sqlstate, str) and sqlstate[:2] in _ROW_ERROR_CLASSES
    # Not from the database: SQLAlchemy could not bind the values (a key missing, not a boolean…), sent nothing.
    return isinstance(exc, StatementError)


def _reason(exc: BaseException) -> str:
    """The driver's message, without the SQL and parameters SQLAlchemy appends (they hold the row's text)."""
    cause = exc.orig if isinstance(exc, StatementError) and exc.orig is not None else exc
    text = str(cause).strip()
    return text.splitlines()[0][:300] if text else type(cause).__name__


async def flush_audit(redis: Redis, engine: AsyncEngine, *, batch: int = 500) -> int:
    """Write up to `batch` queued rows; return how many were written.

    The rows leave the queue atomically before the insert, so two workers never take the same row. If
    Postgres cannot be reached they go back to the queue untouched, in order, to be written later. If it
    refuses the batch's data, the batch is written again row by row in one transaction, a savepoint per
    row: the good rows are committed together, and only after that commit is each refused row logged and
    moved to `queue:audit:rejected`. An outage during that pass rolls it all back and puts every row back
    in the queue, so no row is written twice.
    """
    pipe = redis.pipeline(transaction=True)
    pipe.lrange(keys.AUDIT_QUEUE, -batch, -1)
    pipe.ltrim(keys.AUDIT_QUEUE, 0, -batch - 1)
    raw, _ = await pipe.execute()
    if not raw:
        return 0
    raw.reverse()  # oldest first
    entries: list[_Entry] = []
    for item in raw:
        decoded = _decode(item)
        if decoded is None:
            log.error("audit.bad_row", row=str(item)[:200])
            continue
        entries.append(decoded)
    try:
        refused = await _write(engine, entries)
    except Exception as exc:
        await redis.rpush(keys.AUDIT_QUEUE, *reversed(raw))  # back at the old end, order kept
        log.warning("audit.postgres_unavailable", error=type(exc).__name__, waiting=len(raw))
        return 0
    for entry, error in refused:
        log.error(
            "audit.row_rejected",
            table=entry.table,
            error=type(error).__name__,
            reason=_reason(error),
            row=(entry.item.decode(errors="replace") if isinstance(entry.item, bytes) else entry.item)[:300],
        )
    if refused:  # oldest at the right end, as in the queue
        await redis.lpush(keys.AUDIT_REJECTED, *(entry.item for entry, _ in refused))
    return len(entries) - len(refused)


async def _write(engine: AsyncEngine, entries: list[_Entry]) -> list[tuple[_Entry, Exception]]:
    """All rows in one statement per table; if their data is refused, row by row. Returns the refused rows."""
    try:
        await _insert_batch(engine, entries)
        return []
    except Exception as exc:
        if not _is_row_error(exc):
            raise
        log.warning("audit.batch_refused", error=type(exc).__name__, reason=_reason(exc), rows=len(entries))
    return await _insert_one_by_one(engine, entries)


async def _insert_batch(engine: AsyncEngine, entries: list[_Entry]) -> None:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        grouped.setdefault(entry.table, []).append(entry.row)
    async with engine.begin() as conn:
        for table, rows in grouped.items():
            await conn.execute(insert(TABLES_BY_NAME[table]), rows)


async def _insert_one_by_one(engine: AsyncEngine, entries: list[_Entry]) -> list[tuple[_Entry, Exception]]:
    """Insert each row under its own savepoint and commit the good ones together; return the refused
    rows with their errors. Any other failure propagates, and then nothing is committed."""
    refused: list[tuple[_Entry, Exception]] = []
    async with engine.begin() as conn:
        for entry in entries:
            try:
                async with conn.begin_nested():
                    await conn.execute(insert(TABLES_BY_NAME[entry.table]), [entry.row])
            except Exception as exc:
                if not _is_row_error(exc):
                    raise
                refused.append((entry, exc))
    return refused
