"""Conversation sessions and client profiles in Redis (contract §4: sessions 24 h, profiles 90 d).

A session is one JSON document per chat; the `sessions` ZSET indexes them by last update so the worker
can sweep timeouts without scanning the keyspace.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from dancebot.storage import keys

__all__ = ["PROFILE_TTL", "SESSION_TTL", "Profile", "Session", "SessionStore"]

SESSION_TTL = 24 * 3600
PROFILE_TTL = 90 * 24 * 3600


class Session(BaseModel):
    channel: str
    chat_id: int
    state: str = "IDLE"
    slots: dict[str, Any] = Field(default_factory=dict)
    state_since: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    language: str | None = None
    unknown_streak: int = 0
    reprompts: dict[str, int] = Field(default_factory=dict)
    pending: dict[str, Any] = Field(default_factory=dict)  # options offered, the last question, etc.
    history: list[str] = Field(default_factory=list)  # last client messages, for the admin's context
    reprompted_confirm: bool = False  # the one timeout reminder of this state was sent

    def enter(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_since = time.time()
            self.reprompted_confirm = False

    def remember(self, text: str, limit: int = 6) -> None:
        self.history = [*self.history, text][-limit:]


class Profile(BaseModel):
    name: str | None = None
    phone: str | None = None
    crm_client_id: int | None = None
    language: str | None = None


class SessionStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def load(self, channel: str, chat_id: int) -> Session:
        raw = await self._redis.get(keys.session(channel, chat_id))
        if raw:
            return Session.model_validate_json(raw)
        return Session(channel=channel, chat_id=chat_id)

    async def save(self, session: Session) -> None:
        session.updated_at = time.time()
        key = keys.session(session.channel, session.chat_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(key, session.model_dump_json(), ex=SESSION_TTL)
        pipe.zadd(keys.SESSION_INDEX, {key: session.updated_at})
        await pipe.execute()

    async def delete(self, channel: str, chat_id: int) -> None:
        key = keys.session(channel, chat_id)
        await self._redis.delete(key)
        await self._redis.zrem(keys.SESSION_INDEX, key)

    async def load_profile(self, channel: str, chat_id: int) -> Profile:
        raw = await self._redis.get(keys.profile(channel, chat_id))
        return Profile.model_validate_json(raw) if raw else Profile()

    async def save_profile(self, channel: str, chat_id: int, profile: Profile) -> None:
        await self._redis.set(keys.profile(channel, chat_id), profile.model_dump_json(), ex=PROFILE_TTL)
