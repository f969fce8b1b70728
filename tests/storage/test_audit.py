"""Rows Postgres refuses are set aside instead of blocking the audit queue; an outage still keeps every row.

Against real PostgreSQL and Redis: the errors are the ones asyncpg and SQLAlchemy really raise.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from structlog.testing import capture_logs

from dancebot.runtime import Runtime
from dancebot.storage import audit, keys
from dancebot.storage.audit import flush_audit
from dancebot.storage.tables import errors, messages


async def message(rt: Runtime, text: str, **overrides: Any) -> None:
    row: dict[str, Any] = {"trace_id": "t", "channel": "telegram", "chat_id": 1, "direction": "in", "text": text}
    await rt.audit.message(**(row | overrides))


async def texts(rt: Runtime) -> list[str]:
    async with rt.db.connect() as conn:
        return list((await conn.execute(select(messages.c.text).order_by(messages.c.id))).scalars().all())


async def rejected(rt: Runtime) -> list[dict[str, Any]]:
    """The set-aside rows, oldest first, as queued: {"table": …, "row": …}."""
    return [json.loads(item) for item in reversed(await rt.redis.lrange(keys.AUDIT_REJECTED, 0, -1))]


async def test_a_refused_row_is_set_aside_and_the_good_rows_are_written_once(rt: Runtime) -> None:
    await message(rt, "первое")
    await message(rt, "слишком длинное направление", direction="inbound")  # VARCHAR(3): value too long
    await message(rt, "второе")
    with capture_logs() as logs:
        assert await flush_audit(rt.redis, rt.db) == 2
    assert await texts(rt) == ["первое", "второе"]
    assert await rt.redis.llen(keys.AUDIT_QUEUE) == 0
    [poison] = await rejected(rt)
    assert poison["table"] == "messages"
    assert poison["row"]["text"] == "слишком длинное направление"
    [error] = [e for e in logs if e["event"] == "audit.row_rejected"]
    assert error["log_level"] == "error"
    assert error["table"] == "messages"
    assert "value too long" in error["reason"]

    assert await flush_audit(rt.redis, rt.db) == 0  # nothing left to write, nothing retried
    assert await texts(rt) == ["первое", "второе"]
    assert len(await rejected(rt)) == 1


async def test_every_kind_of_refused_row_in_every_table_is_set_aside(rt: Runtime) -> None:
    await message(rt, "хорошее 1")
    await message(rt, "без канала", channel=None)  # NOT NULL: IntegrityError
    await message(rt, "чат не число", chat_id="abc")  # asyncpg cannot encode it: DataError 22000
    await message(rt, "флаг не булев", is_edit="maybe")  # SQLAlchemy cannot bind it: StatementError
    await rt.audit.error(trace_id="t", source="s" * 65, kind="crash", message="в другой таблице")  # VARCHAR(64)
    await rt.audit.error(trace_id="t", source="worker", kind="crash", message="хорошая ошибка")
    await message(rt, "хорошее 2")
    assert await flush_audit(rt.redis, rt.db) == 3
    assert await texts(rt) == ["хорошее 1", "хорошее 2"]
    async with rt.db.connect() as conn:
        assert (await conn.execute(select(errors.c.message))).scalars().all() == ["хорошая ошибка"]
    assert [(r["table"], r["row"].get("text", r["row"].get("message"))) for r in await rejected(rt)] == [
        ("messages", "без канала"),
        ("messages", "чат не число"),
        ("messages", "флаг не булев"),
        ("errors", "в другой таблице"),
    ]
    assert await rt.redis.llen(keys.AUDIT_QUEUE) == 0
    assert await flush_audit(rt.redis, rt.db) == 0


async def test_rows_of_one_table_with_different_fields_are_all_written(rt: Runtime) -> None:
    """A multi-row INSERT needs the same keys in every row; row by row, each row is fine."""
    await message(rt, "с состоянием", state="GREETING")
    await rt.redis.lpush(
        keys.AUDIT_QUEUE,
        json.dumps({"table": "messages", "row": {"channel": "telegram", "chat_id": 1, "direction": "in",
                                                 "text": "без состояния", "created_at": 1.0}}),
    )  # fmt: skip
    assert await flush_audit(rt.redis, rt.db) == 2
    assert sorted(await texts(rt)) == ["без состояния", "с состоянием"]
    assert await rejected(rt) == []


class _OutageDuringRowByRow:
    """The real engine, until Postgres goes away: the second transaction (the row-by-row pass) loses its
    connection at its second statement, after a good row was inserted."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.transactions = 0

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Any]:
        self.transactions += 1
        async with self._engine.begin() as conn:
            yield conn if self.transactions == 1 else _FailingConnection(conn, fail_at=2)


class _FailingConnection:
    def __init__(self, conn: AsyncConnection, *, fail_at: int) -> None:
        self._conn, self._fail_at, self._calls = conn, fail_at, 0

    def begin_nested(self) -> Any:
        return self._conn.begin_nested()

    async def execute(self, *args: Any) -> Any:
        self._calls += 1
        if self._calls == self._fail_at:
            raise ConnectionResetError("connection lost")
        return await self._conn.execute(*args)


async def test_an_outage_during_the_row_by_row_pass_keeps_every_row_waiting(rt: Runtime) -> None:
    await message(rt, "первое")
    await message(rt, "слишком длинное", direction="inbound")
    await message(rt, "второе")
    flaky = _OutageDuringRowByRow(rt.db)
    assert await flush_audit(rt.redis, cast(AsyncEngine, flaky)) == 0
    assert flaky.transactions == 2
    assert await texts(rt) == []  # the good row inserted before the outage was rolled back
    assert await rejected(rt) == []
    assert await rt.redis.llen(keys.AUDIT_QUEUE) == 3
    assert await flush_audit(rt.redis, rt.db) == 2  # Postgres is back
    assert await texts(rt) == ["первое", "второе"]
    assert [r["row"]["text"] for r in await rejected(rt)] == ["слишком длинное"]


def _dbapi(cls: type[DBAPIError], orig: Exception, *, invalidated: bool = False) -> DBAPIError:
    return cls("INSERT …", None, orig, connection_invalidated=invalidated)


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("exc", "refused"),
    [
        (ConnectionRefusedError(111, "refused"), False),
        (FileNotFoundError(2, "no socket"), False),
        (TimeoutError(), False),
        (_dbapi(OperationalError, _PgError("57P01")), False),  # admin shutdown
        (_dbapi(InterfaceError, Exception("connection is closed")), False),
        (_dbapi(DBAPIError, _PgError("22001"), invalidated=True), False),
        (_dbapi(DBAPIError, _PgError("42P01")), False),  # undefined table: a deployment problem
        (_dbapi(DBAPIError, Exception("no sqlstate")), False),
        (_dbapi(IntegrityError, _PgError("23502")), True),
        (_dbapi(DataError, _PgError("22P02")), True),
        (_dbapi(DBAPIError, _PgError("22001")), True),  # how asyncpg's "value too long" arrives
        (StatementError("A value is required for bind parameter 'state'", "INSERT …", None, TypeError()), True),
    ],
)
def test_only_errors_of_the_rows_values_set_rows_aside(exc: Exception, refused: bool) -> None:
    assert audit._is_row_error(exc) is refused
