"""The shared resources of one process (app, worker or chat), built once from `Settings` and handed down.

Nothing here is created at import time; `open_runtime` builds and closes everything in order.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.config import Settings
from dancebot.conversation.catalogue import Catalogue
from dancebot.conversation.session import SessionStore
from dancebot.kb import KnowledgeBase, load_kb
from dancebot.logs import register_secrets
from dancebot.storage import db
from dancebot.storage.audit import Audit

__all__ = ["Runtime", "open_runtime"]


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
    return Redis.from_url(url, decode_responses=False, health_check_interval=30, socket_timeout=10)


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
