"""Redis cache of the CRM's reference data (PRODUCT.md §12.1): schedule 15 min, groups/teachers 1 h, phones 1 h.

Freshness is the key's TTL: a key that exists is current, a missing one is fetched again. Nothing stale
is kept, so when the CRM is down and a key has expired the CRM error propagates and the caller says
"can't check now" — an old schedule is never served as fact. Values are versioned JSON holding the
records as the CRM sent them (`ScheduleTemplate.wire()` shape), never pickle.

The phone index is a Redis hash `phone E.164 → client JSON` with a `_built` marker field. A phone it
does not hold triggers a rebuild from `list_clients()` at most once per 60 s, so a stream of unknown
phones cannot hammer the CRM. Concurrent misses in one process share one fetch (a lock per entry).

What a process read is kept in it for a second at most (`LOCAL_FOR`, never past the key's TTL): a turn
asks for the schedule once or twice, and at 100 messages/s each read was a Redis round trip carrying
14 KB. A change made by this process is seen at once; one made by another process within that second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from dancebot import waits
from dancebot.crm.client import ImpulseClient
from dancebot.crm.models import Client, Group, ScheduleTemplate, Teacher, normalize_phone
from dancebot.logs import get_logger
from dancebot.storage import keys

__all__ = ["GROUPS_TTL", "INDEX_REFRESH_S", "INDEX_TTL", "SCHEDULE_TTL", "CRMCache"]

log = get_logger(__name__)
M = TypeVar("M", bound=BaseModel)

SCHEDULE_TTL: Final = 15 * 60
GROUPS_TTL: Final = 60 * 60
INDEX_TTL: Final = 60 * 60
INDEX_REFRESH_S: Final = 60
REFRESH_GAP: Final = 1.0  # seconds between two starts of the schedule's background refresh
LOCAL_FOR: Final = 1.0  # seconds a process keeps what it read (never past the key's TTL)
_VERSION: Final = 1
_BUILT: Final = "_built"
_SCHEDULE = keys.cache("schedule")
_INDEX = keys.cache("client_index")
_INDEX_REFRESH = keys.cache("client_index:refresh")

# A lookup in one round trip. KEYS: index, refresh marker   ARGV: phone, refresh gap (s)
# → {1, client JSON} | {0}: unknown, the index rebuilt less than a minute ago | {2, built marker or ''}: rebuild
_LOOKUP = """
local v = redis.call('HMGET', KEYS[1], ARGV[1], '_built')
if v[1] then return {1, v[1]} end
if v[2] and not redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[2]) then return {0} end
return {2, v[2] or ''}
"""

# Adds a phone to the index only while the index exists, so it never outlives its TTL; HSETNX keeps the
# lowest-id client a rebuild chose.
_REMEMBER = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
end
return 0
"""


class CRMCache:
    """Read-through cache in front of one `ImpulseClient`; CRM errors pass through untouched."""

    def __init__(self, redis: Redis, client: ImpulseClient) -> None:
        self._redis = redis
        self._client = client
        self._locks: dict[str, asyncio.Lock] = {}
        self._parsed: dict[str, tuple[bytes, list[Any]]] = {}  # key → (the bytes last read, their models)
        self._until: dict[str, float] = {}  # key → until when (monotonic) `_parsed` is used without asking Redis
        self._writes: dict[str, int] = {}  # key → how often this process stored or dropped it (a read that
        # was in flight meanwhile must not keep what it got)
        self._refreshing: asyncio.Task[None] | None = None  # the schedule's background refresh
        self._refresh_again = False
        self._refreshed_at = -math.inf  # when the last refresh started (monotonic)

    async def templates(self) -> list[ScheduleTemplate]:
        return await self._cached(_SCHEDULE, SCHEDULE_TTL, ScheduleTemplate, self._client.get_schedule)

    async def groups(self) -> list[Group]:
        return await self._cached(keys.cache("groups"), GROUPS_TTL, Group, self._client.get_groups)

    async def teachers(self) -> list[Teacher]:
        return await self._cached(keys.cache("teachers"), GROUPS_TTL, Teacher, self._client.get_teachers)

    async def invalidate_schedule(self) -> None:
        """Drop the schedule: the next read waits for the CRM's."""
        self._forget(_SCHEDULE)
        await self._redis.delete(_SCHEDULE)

    def refresh_schedule(self) -> None:
        """After a booking or a cancellation (SPEC §9: refreshed after each booking): the schedule is read
        again in the background. Until it arrives, readers keep the one cached — still within its TTL, so
        never an expired schedule — instead of queueing behind the other bookings' CRM requests (at
        Impulse's 3 requests/s that queue held every client's schedule question for seconds). Asked again
        while one runs, the refreshes coalesce into one more, at most one a second (`REFRESH_GAP`); a refresh
        that fails keeps what is cached."""
        if self._refreshing is not None and not self._refreshing.done():
            self._refresh_again = True
            return
        self._refreshing = asyncio.create_task(self._refresh_schedule(), name="crm-schedule-refresh")

    async def refreshed(self) -> None:
        """Wait for a schedule refresh in progress (tests, shutdown)."""
        while self._refreshing is not None and not self._refreshing.done():
            await asyncio.shield(self._refreshing)

    async def aclose(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing

    async def _refresh_schedule(self) -> None:
        self._refresh_again = True
        while self._refresh_again:
            wait = self._refreshed_at + REFRESH_GAP - time.monotonic()
            if wait > 0:  # one a second at most: bookings finishing meanwhile share the next one
                await asyncio.sleep(wait)
            self._refresh_again = False
            self._refreshed_at = time.monotonic()
            try:
                if not await self._redis.exists(_SCHEDULE):
                    return  # nothing cached: the next reader fetches it anyway
                async with self._lock(_SCHEDULE):
                    await self._store(_SCHEDULE, SCHEDULE_TTL, await self._client.get_schedule())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the CRM or Redis failing: what is cached stays until its TTL
                log.warning("crm_cache.refresh_failed", error=f"{type(exc).__name__}: {exc}")
                return

    async def client_by_phone(self, phone: str) -> Client | None:
        """The client having this phone (lowest id), from the index; a miss may rebuild it (see module doc)."""
        wanted = normalize_phone(phone)
        if wanted is None:
            return None
        found = await self._redis.register_script(_LOOKUP)(
            keys=[_INDEX, _INDEX_REFRESH], args=[wanted, INDEX_REFRESH_S]
        )
        if found[0] == 1:
            return _client_from(found[1])
        if found[0] == 0:
            return None  # the index was rebuilt less than a minute ago: the phone is really unknown
        built = found[1] or None
        with waits.outside():
            async with self._lock(_INDEX):
                raw, built_now = await self._redis.hmget(_INDEX, [wanted, _BUILT])
                if raw is None and built_now == built:  # nobody rebuilt it while this task waited
                    raw = (await self._rebuild_index()).get(wanted)
        return _client_from(raw) if raw is not None else None

    async def remember_client(self, client: Client) -> None:
        """Put a client the bot just created into the index, so the next lookup needs no CRM call."""
        for phone in client.phones:
            await self._redis.register_script(_REMEMBER)(keys=[_INDEX], args=[_BUILT, phone, _client_json(client)])

    # ---- internals ------------------------------------------------------------------------------

    def _forget(self, key: str) -> None:
        """This process changes the key: nothing kept of it is used, nor what a read in flight brings."""
        self._until.pop(key, None)
        self._writes[key] = self._writes.get(key, 0) + 1

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def _cached(self, key: str, ttl: int, model: type[M], fetch: Callable[[], Awaitable[list[M]]]) -> list[M]:
        if (items := await self._read(key, model)) is not None:
            return items
        with waits.outside():  # waiting for another turn's fetch, or fetching: the CRM's time, not ours
            async with self._lock(key):
                if (items := await self._read(key, model)) is not None:
                    return items
                return await self._store(key, ttl, await fetch())

    async def _store(self, key: str, ttl: int, fresh: list[M]) -> list[M]:
        last = self._parsed.get(key)
        if last is not None and _same(last[1], fresh):  # refreshed (after a booking), unchanged: not dumped
            raw = last[0]
        else:
            dumped = [i.model_dump(by_alias=True, exclude_unset=True, mode="json") for i in fresh]
            raw = json.dumps({"v": _VERSION, "items": dumped}, ensure_ascii=False).encode()
        await self._redis.set(key, raw, ex=ttl)
        self._forget(key)  # a read answered before the write landed is not kept
        self._until[key] = time.monotonic() + min(LOCAL_FOR, ttl)
        if last is not None and last[0] == raw:  # the same models as before, so what was computed from them
            return list(last[1])  # (the expanded classes) stays valid
        self._parsed[key] = (raw, fresh)
        return fresh

    async def _read(self, key: str, model: type[M]) -> list[M] | None:
        last = self._parsed.get(key)
        if last is not None and time.monotonic() < self._until.get(key, -math.inf):
            return list(last[1])
        writes = self._writes.get(key, 0)
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(key)
        pipe.pttl(key)
        raw, left_ms = await pipe.execute()
        if raw is None:
            return None
        if self._writes.get(key, 0) != writes:  # stored or dropped meanwhile: what was read is not kept
            return await self._read(key, model)
        until = time.monotonic() + min(LOCAL_FOR, max(left_ms, 0) / 1000)
        if last is not None and last[0] == raw:  # the same bytes as last time: the same (frozen) models
            self._until[key] = until
            return list(last[1])
        try:
            payload = json.loads(raw)
            if payload.get("v") != _VERSION:
                return None
            items = [model.model_validate(item) for item in payload["items"]]
            self._parsed[key] = (raw if isinstance(raw, bytes) else raw.encode(), items)
            self._until[key] = until
            return list(items)
        except (ValueError, KeyError, TypeError, AttributeError, ValidationError):
            log.warning("crm_cache.unreadable", key=key)
            return None

    async def _rebuild_index(self) -> dict[str, str]:
        clients = await self._client.list_clients()
        index: dict[str, str] = {}
        for client in sorted(clients, key=lambda c: c.id):
            for phone in client.phones:
                index.setdefault(phone, _client_json(client))
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(_INDEX)
        fields: dict[FieldT, EncodableT] = {_BUILT: str(time.time())}
        fields.update((phone, raw) for phone, raw in index.items())
        pipe.hset(_INDEX, mapping=fields)
        pipe.expire(_INDEX, INDEX_TTL)
        pipe.set(_INDEX_REFRESH, 1, ex=INDEX_REFRESH_S)
        await pipe.execute()
        log.info("crm_cache.client_index_built", clients=len(clients), phones=len(index))
        return index


def _same(old: list[Any], new: list[Any]) -> bool:
    """The very same model objects (the client hands back its last parse when the CRM sent the same)."""
    return len(old) == len(new) and all(a is b for a, b in zip(old, new, strict=True))


def _client_json(client: Client) -> str:
    data: dict[str, Any] = {"id": client.id, "name": client.name, "lastName": client.last_name}
    return json.dumps({**data, "phone": list(client.phones)}, ensure_ascii=False)


def _client_from(raw: bytes | str) -> Client:
    return Client.model_validate_json(raw)
