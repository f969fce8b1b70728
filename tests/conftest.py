"""Real Redis and PostgreSQL for the whole suite.

With REDIS_URL and DATABASE_URL set, tests use those servers (a fresh database is created on the
PostgreSQL server and dropped afterwards; the Redis database is flushed between tests — point it at a
server you can wipe). Otherwise embedded servers from PyPI wheels start in a temp dir (PRODUCT.md §15), one pair
per xdist worker.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from dancebot.config import Settings
from dancebot.runtime import Runtime, open_runtime
from dancebot.storage import db
from dancebot.storage.embedded import embedded_servers
from dancebot.storage.tables import metadata

pytest_plugins = ["tests.stack_fixtures"]  # the running stack, shared by tests/e2e and tests/conversations

ROOT = Path(__file__).resolve().parents[1]
KB_PATH = ROOT / "knowledge" / "studio.yaml"
BOT_TOKEN = "123456789:AAE-test-token-for-dancebot-tests"
WEBHOOK_SECRET = "webhook-secret-for-tests-4f1c2a"
ADMIN_CHAT_ID = -1001234567890


def with_redis_db(url: str, db: int) -> str:
    """The same Redis server, another logical database (`redis://h:p/N`, `unix:///sock?db=N`)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = "&".join([q for q in parts.query.split("&") if q and not q.startswith("db=")] + [f"db={db}"])
        return f"unix://{parts.path}?{query}"
    return urlunsplit(parts._replace(path=f"/{db}"))


class Servers:
    """Redis databases: tests that flush get `redis_url`; the running stack gets `stack_redis_url`, so its
    worker never takes a job another test queued. On shared servers each xdist worker has its own pair."""

    def __init__(self, redis_url: str, database_url: str, *, worker: int = 0) -> None:
        self.redis_url = with_redis_db(redis_url, 2 * worker)
        self.stack_redis_url = with_redis_db(redis_url, 2 * worker + 1)
        self.database_url = database_url


async def _create_database(server_url: str) -> str:
    """A fresh database on a shared server, so a run never sees another run's rows."""
    name = f"dancebot_test_{uuid.uuid4().hex[:8]}"
    engine = db.create_engine(server_url)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def _drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    engine = db.create_engine(server_url)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    env_redis, env_db = os.environ.get("REDIS_URL"), os.environ.get("DATABASE_URL")
    if env_redis and env_db:
        url = asyncio.run(_create_database(env_db))
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
        yield Servers(env_redis, url, worker=1 + int(worker or 0))  # db 0/1 stay untouched
        asyncio.run(_drop_database(env_db, url))
        return
    with tempfile.TemporaryDirectory(prefix="dancebot-test-", dir="/tmp") as tmp:
        with embedded_servers(Path(tmp), persist=False) as emb:
            yield Servers(emb.redis_url, emb.database_url)


@pytest.fixture
def settings(servers: Servers) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        redis_url=servers.redis_url,
        database_url=servers.database_url,
        kb_path=KB_PATH,
        telegram_bot_token=BOT_TOKEN,
        telegram_webhook_secret=WEBHOOK_SECRET,
        admin_chat_id=ADMIN_CHAT_ID,
    )


@pytest.fixture
async def rt(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime on clean servers: Redis flushed, every table emptied."""
    async with open_runtime(settings) as runtime:
        await runtime.redis.flushdb()
        async with runtime.db.begin() as conn:
            names = ", ".join(t.name for t in metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
        yield runtime
