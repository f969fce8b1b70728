"""The shared resources of one process (app, worker or chat), built once from `Settings` and handed down.

Nothing here is created at import time; `open_runtime` builds and closes everything in order.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.config import Settings
from dancebot.conversation.catalogue import Catalogue
from dancebot.conversation.session import SessionStore
from dancebot.kb import KnowledgeBase, load_kb
from dancebot.logs import register_secrets
from dancebot.storage import db
from dancebot.storage.audit import Audit

__all__ = ["Runtime", "connect_redis", "open_runtime"]

REDIS_RETRIES = 10
REDIS_RETRY_BASE = 0.05  # seconds; doubled per failure…
REDIS_RETRY_CAP = 1.0  # …up to this, each wait jittered between half and all of it
REDIS_MAX_CONNECTIONS = 128  # per process; a command holds one only while it runs
REDIS_POOL_WAIT = 20.0  # seconds a command may wait for a free connection


@dataclass
class Runtime:
    settings: Settings
    kb: KnowledgeBase
    redis: Redis
    db: AsyncEngine
    audit: Audit
    sessions: SessionStore
    catalogue: Catalogue
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())

    @property
    def tz(self) -> ZoneInfo:
        return self.kb.tz

    def now(self) -> datetime:
        return self.clock().astimezone(self.tz)


def _secrets(settings: Settings) -> list[str | None]:
    secret_fields = (
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.whatsapp_access_token,
        settings.whatsapp_app_secret,
        settings.whatsapp_verify_token,
        settings.impulse_api_key,
        settings.llm_api_key,
    )
    return [s.get_secret_value() if s else None for s in secret_fields]


def connect_redis(url: str) -> Redis:
    """A client whose commands survive a Redis restart: a connection error (the pooled socket died with
    the old server, or the new one is still loading its AOF) is retried on a fresh connection with
    exponential backoff, for about 4–8 s in all, before the caller sees it. Under a burst the pool makes
    callers wait for a free connection (up to `REDIS_POOL_WAIT` s) instead of failing them."""
    retry = Retry(EqualJitterBackoff(cap=REDIS_RETRY_CAP, base=REDIS_RETRY_BASE), REDIS_RETRIES)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_POOL_WAIT,
        decode_responses=False,
        health_check_interval=30,
        socket_timeout=10,
        socket_connect_timeout=5,
        retry=retry,
        retry_on_error=[RedisConnectionError, RedisTimeoutError, BusyLoadingError],
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the connections


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, *, run_migrations: bool = True) -> AsyncIterator[Runtime]:
    """KB first (an invalid KB must stop the process before anything connects), then Redis and Postgres."""
    settings.require("redis_url", "database_url")
    kb = load_kb(settings.kb_path).kb
    register_secrets(_secrets(settings))
    redis = connect_redis(settings.redis_url or "")
    engine = db.create_engine(settings.database_url or "")
    try:
        if run_migrations:
            await db.migrate(engine)
        frozen = settings.dancebot_frozen_now
        yield Runtime(
            **({"clock": lambda: frozen} if frozen else {}),
            settings=settings,
            kb=kb,
            redis=redis,
            db=engine,
            audit=Audit(redis),
            sessions=SessionStore(redis),
            catalogue=Catalogue(kb.messages, kb_language=kb.tone.language, studio=kb.studio.name),
        )
    finally:
        await redis.aclose()
        await engine.dispose()
