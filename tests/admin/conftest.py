"""Fixtures of the administrator's tests: a PostgreSQL database of their own (the report counts every row,
so nothing another test writes may land in it), and stacks in test mode or with two workers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.storage import db
from tests.conftest import Servers, with_redis_db


async def _create(server_url: str) -> str:
    name = f"dancebot_admin_{uuid.uuid4().hex[:8]}"
    engine = db.create_engine(server_url)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def _drop(server_url: str, url: str) -> None:
    engine = db.create_engine(server_url)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture
async def own_database(servers: Servers) -> AsyncIterator[str]:
    """The URL of a fresh, migrated database on the suite's PostgreSQL server; dropped afterwards."""
    url = await _create(servers.database_url)
    engine = db.create_engine(url)
    await db.migrate(engine)
    await engine.dispose()
    yield url
    await _drop(servers.database_url, url)


@pytest.fixture
async def own_engine(own_database: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(own_database)
    yield engine
    await engine.dispose()


def spare_redis_url(servers: Servers, n: int) -> str:
    """A Redis database no other fixture uses: the suite takes 2·w and 2·w+1 for xdist worker w, these
    count down from 15 (n = 0 or 1)."""
    parts = urlsplit(servers.redis_url)
    if parts.scheme == "unix":
        base = int(parse_qs(parts.query).get("db", ["0"])[0])
    else:
        base = int(parts.path.lstrip("/") or 0)
    return with_redis_db(servers.redis_url, 15 - 2 * (base // 2) - n)


@pytest.fixture(scope="module")
def module_database(servers: Servers) -> Iterator[str]:
    """A fresh, migrated database for one module's stack."""

    async def create() -> str:
        url = await _create(servers.database_url)
        engine = db.create_engine(url)
        await db.migrate(engine)
        await engine.dispose()
        return url

    url = asyncio.run(create())
    yield url
    asyncio.run(_drop(servers.database_url, url))


# The shared stack's clients (tests/conversations) and a stack of a test's own (tests/pipeline).
from tests.conversations.conftest import client, database, new_client  # noqa: E402, F401
from tests.pipeline.conftest import chat, pipeline  # noqa: E402, F401
