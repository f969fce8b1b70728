"""Migrations and the audit trail against real PostgreSQL and Redis."""

from __future__ import annotations

from sqlalchemy import select, text

from dancebot.runtime import Runtime
from dancebot.storage import db, keys
from dancebot.storage.audit import flush_audit
from dancebot.storage.tables import messages, tool_calls

SPEC_TABLES = {
    "messages", "booking_attempts", "tool_calls", "llm_calls", "errors", "dead_letter_messages",
    "fallback_requests", "fsm_transitions",
}  # fmt: skip


async def test_migrations_create_every_spec_table_and_are_idempotent(rt: Runtime) -> None:
    await db.migrate(rt.db)  # second run (open_runtime ran it once) must be a no-op
    async with rt.db.connect() as conn:
        tables = await db.table_names(conn)
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert SPEC_TABLES <= tables
    assert version == "0004"
    async with rt.db.connect() as conn:
        indexed = set(
            (await conn.execute(text("SELECT tablename FROM pg_indexes WHERE indexname LIKE '%_created_at'")))
            .scalars()
            .all()
        )
    assert SPEC_TABLES <= indexed  # the daily retention deletes by created_at


async def test_chat_ids_take_64_bits_and_negative_group_ids(rt: Runtime) -> None:
    for chat_id in (-1001234567890, 9_007_199_254_740_993):
        await rt.audit.message(trace_id="t", channel="telegram", chat_id=chat_id, direction="in", text="hi")
    assert await flush_audit(rt.redis, rt.db) == 2
    async with rt.db.connect() as conn:
        rows = (await conn.execute(select(messages.c.chat_id).order_by(messages.c.id))).scalars().all()
    assert rows == [-1001234567890, 9_007_199_254_740_993]


async def test_audit_rows_keep_their_order_and_mask_tool_arguments(rt: Runtime) -> None:
    for i in range(3):
        await rt.audit.message(trace_id=f"t{i}", channel="telegram", chat_id=1, direction="in", text=str(i))
    await rt.audit.tool_call(
        trace_id="t9", function="find_client", arguments={"phone": "+79991234567"}, status="ok", latency_ms=5
    )
    assert await flush_audit(rt.redis, rt.db) == 4
    async with rt.db.connect() as conn:
        texts = (await conn.execute(select(messages.c.text).order_by(messages.c.id))).scalars().all()
        args = (await conn.execute(select(tool_calls.c.arguments))).scalar_one()
    assert texts == ["0", "1", "2"]
    assert args == {"phone": "+7999****567"}


async def test_rows_wait_in_redis_while_postgres_is_unreachable(rt: Runtime) -> None:
    await rt.audit.message(trace_id="t", channel="telegram", chat_id=1, direction="in", text="первое")
    await rt.audit.message(trace_id="t", channel="telegram", chat_id=1, direction="in", text="второе")
    broken = db.create_engine("postgresql://nobody@/nowhere?host=/nonexistent-socket-dir")
    assert await flush_audit(rt.redis, broken) == 0
    await broken.dispose()
    assert await rt.redis.llen(keys.AUDIT_QUEUE) == 2
    assert await flush_audit(rt.redis, rt.db) == 2
    async with rt.db.connect() as conn:
        texts = (await conn.execute(select(messages.c.text).order_by(messages.c.id))).scalars().all()
    assert texts == ["первое", "второе"]
