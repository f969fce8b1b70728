"""Which Telegram chat belongs to a phone: the route of a WhatsApp message that cannot go out on WhatsApp
(PRODUCT.md §10.3: no approved template outside the 24-hour window → Telegram, if the client has it).

A client is linked by the phone in their Telegram profile (`profile:telegram:{chat}`, kept 90 days: the
phone proven their own: booked with from that chat or shared as their contact, never one merely
typed in). Lookups go through a small hash, phone → chat; a miss is filled by one
scan of the Telegram profiles (this is needed only for a message WhatsApp refused, so rarely), and a hit
is checked against the profile, so a chat whose phone changed is never used.
"""

from __future__ import annotations

from redis.asyncio import Redis

from dancebot.conversation.session import Profile
from dancebot.crm.models import normalize_phone
from dancebot.logs import get_logger
from dancebot.storage import keys

__all__ = ["LINKS_KEY", "link_telegram", "telegram_chat_for"]

log = get_logger(__name__)

LINKS_KEY = "links:telegram_by_phone"  # HASH E.164 phone -> Telegram chat id
_SCAN_BATCH = 500


async def link_telegram(redis: Redis, phone: str, chat_id: int) -> None:
    """Remember that `phone` is the Telegram client `chat_id` (call when a Telegram profile gets a phone)."""
    e164 = normalize_phone(phone)
    if e164 and chat_id > 0:
        await redis.hset(LINKS_KEY, e164, str(chat_id))


async def telegram_chat_for(redis: Redis, phone: str, *, exclude: int | None = None) -> int | None:
    """The Telegram chat whose profile holds `phone`, or None; `exclude` is never returned (the admin chat)."""
    e164 = normalize_phone(phone)
    if e164 is None:
        return None
    cached = await redis.hget(LINKS_KEY, e164)
    if cached is not None:
        chat_id = int(cached)
        if chat_id != exclude and await _profile_phone(redis, chat_id) == e164:
            return chat_id
        await redis.hdel(LINKS_KEY, e164)
    found = await _scan(redis, e164, exclude)
    if found is not None:
        await redis.hset(LINKS_KEY, e164, str(found))
    log.info("links.scan", found=found is not None)
    return found


async def _profile_phone(redis: Redis, chat_id: int) -> str | None:
    raw = await redis.get(keys.profile("telegram", chat_id))
    return _phone_of(raw)


def _phone_of(raw: bytes | str | None) -> str | None:
    if not raw:
        return None
    try:
        return normalize_phone(Profile.model_validate_json(raw).own_phone)  # never a phone merely typed in
    except ValueError:
        return None


async def _scan(redis: Redis, e164: str, exclude: int | None) -> int | None:
    prefix = keys.profile("telegram", "")
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=keys.profile("telegram", "*"), count=_SCAN_BATCH):
        batch.append(key)
        if len(batch) >= _SCAN_BATCH:
            found = await _match(redis, batch, e164, prefix, exclude)
            if found is not None:
                return found
            batch = []
    return await _match(redis, batch, e164, prefix, exclude) if batch else None


async def _match(redis: Redis, batch: list[bytes], e164: str, prefix: str, exclude: int | None) -> int | None:
    for key, raw in zip(batch, await redis.mget(batch), strict=True):
        chat = key.decode().removeprefix(prefix)  # the client decodes nothing: keys are bytes
        if chat.isdigit() and int(chat) != exclude and _phone_of(raw) == e164:
            return int(chat)
    return None
