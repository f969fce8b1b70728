"""Audit rows (messages, tool calls, booking attempts, errors, fallback requests, dead letters).

The app never writes Postgres on the request path: it pushes each row to a Redis list and the worker
writes them in batches (`flush_audit`). If Postgres is down the rows wait in Redis and are written when
it is back (SPEC §12); a conversation never stalls on its audit trail.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.logs import get_logger, mask_text
from dancebot.storage import keys
from dancebot.storage.tables import TABLES_BY_NAME

__all__ = ["Audit", "flush_audit"]

log = get_logger(__name__)


class Audit:
    """Queues rows for Postgres; every method is one table."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def _push(self, table: str, row: dict[str, Any]) -> None:
        row.setdefault("created_at", time.time())
        await self._redis.lpush(keys.AUDIT_QUEUE, json.dumps({"table": table, "row": row}, ensure_ascii=False))

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
        await self._push(
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

    async def error(self, *, trace_id: str | None, source: str, kind: str, message: str, **details: Any) -> None:
        await self._push(
            "errors",
            {"trace_id": trace_id, "source": source, "kind": kind, "message": mask_text(message), "details": details},
        )

    async def fallback(self, **row: Any) -> None:
        await self._push("fallback_requests", row)

    async def dead_letter(self, **row: Any) -> None:
        await self._push("dead_letter_messages", row)


def _decode(item: bytes | str) -> tuple[str, dict[str, Any]] | None:
    try:
        data = json.loads(item)
        row = dict(data["row"])
        row["created_at"] = datetime.fromtimestamp(float(row["created_at"]), UTC)
        table = str(data["table"])
    except (ValueError, KeyError, TypeError):
        return None
    return (table, row) if table in TABLES_BY_NAME else None


async def flush_audit(redis: Redis, engine: AsyncEngine, *, batch: int = 500) -> int:
    """Write up to `batch` queued rows; on a database error they go back to the queue untouched."""
    pipe = redis.pipeline(transaction=True)
    pipe.lrange(keys.AUDIT_QUEUE, -batch, -1)
    pipe.ltrim(keys.AUDIT_QUEUE, 0, -batch - 1)
    raw, _ = await pipe.execute()
    if not raw:
        return 0
    raw.reverse()  # oldest first
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in raw:
        decoded = _decode(item)
        if decoded is None:
            log.error("audit.bad_row", row=str(item)[:200])
            continue
        grouped.setdefault(decoded[0], []).append(decoded[1])
    try:
        async with engine.begin() as conn:
            for table, rows in grouped.items():
                await conn.execute(insert(TABLES_BY_NAME[table]), rows)
    except Exception as exc:
        await redis.rpush(keys.AUDIT_QUEUE, *reversed(raw))  # back at the old end, order kept
        log.warning("audit.postgres_unavailable", error=type(exc).__name__, waiting=len(raw))
        return 0
    return sum(len(r) for r in grouped.values())
