"""The durable inbox (PRODUCT.md §4.4): accepted messages wait in Redis until their turn has run.

Each chat has a list (`buffer:{channel}:{chat}`, the chat's buffer) and the `inbox:ready` ZSET names the
chats whose list is not empty, oldest first. Two scripts change them, each atomic:

- `accept` appends a message (plus jobs that must go out at once: a button tap's answer) and marks the
  chat ready. The webhook answers after it, never after the turn.
- `commit` ends a turn in one step: the session, the replies (outbound jobs), the audit rows, the
  message leaving the list and a per-message "done" marker. A process killed before it leaves the
  message waiting, with nothing of its turn visible; killed after it, nothing is left to redo. A
  commit run twice (a retried call) or a message accepted twice finds the marker and only drops the copy.

A turn opens with one round trip (`ChatLock.open`): the chat's lock, its first waiting message, its
session and its profile; its commit also releases the lock when it is the last message the turn takes.

While a turn runs, `inbox:turn:{channel}:{chat}` names its message; a crash leaves it set, which is how a
booking left in BOOKING_IN_PROGRESS is matched to the message that started it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, cast

from redis.asyncio import Redis

from dancebot.channels import gate
from dancebot.channels.message import Channel, UnifiedMessage
from dancebot.conversation.session import SESSION_TTL, Session
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.queue import WAKE_LUA
from dancebot.storage import keys

__all__ = [
    "DONE_TTL",
    "ChatLock",
    "Opened",
    "accept",
    "accept_checked",
    "begin",
    "chat_member",
    "commit",
    "head",
    "parse_member",
    "ready_chats",
    "reindex",
    "release_if_empty",
    "waiting",
]

DONE_TTL: Final = 3600  # far beyond the dedup window (5 min) in which a channel redelivers a message

_WAKE = WAKE_LUA.format(key=keys.OUTBOUND_WAKE)
_ACCEPT = (
    """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[2])
for i = 4, #ARGV do redis.call('LPUSH', KEYS[3], ARGV[i]) end
if #ARGV >= 4 then __WAKE__ end
return redis.call('LLEN', KEYS[1])
"""
).replace("__WAKE__", _WAKE)

# The webhook's whole Redis work in one round trip: the gate's dedup and spam checks (channels/gate.py,
# same keys and limits), then `accept`. Returns the number waiting, or -1 duplicate, -2 spam, -3 spam
# (first drop in the window: log it).
# KEYS: buffer, ready, outbound queue, seen, spam, spam logged
# ARGV: message, member, now, is callback ('1'/'0'), spam member, the jobs…
_ACCEPT_CHECKED = (
    """
if not redis.call('SET', KEYS[4], 1, 'NX', 'EX', __DEDUP_TTL__) then return -1 end
if ARGV[4] ~= '1' then
  local now = tonumber(ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[5], 0, now - __SPAM_WINDOW__)
  redis.call('ZADD', KEYS[5], now, ARGV[5])
  redis.call('EXPIRE', KEYS[5], __SPAM_WINDOW__)
  if redis.call('ZCARD', KEYS[5]) > __SPAM_LIMIT__ then
    if redis.call('SET', KEYS[6], 1, 'NX', 'EX', __SPAM_WINDOW__) then return -3 end
    return -2
  end
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[2])
for i = 6, #ARGV do redis.call('LPUSH', KEYS[3], ARGV[i]) end
if #ARGV >= 6 then __WAKE__ end
return redis.call('LLEN', KEYS[1])
""".replace("__WAKE__", _WAKE)
    .replace("__DEDUP_TTL__", str(gate.DEDUP_TTL))
    .replace("__SPAM_WINDOW__", str(gate.SPAM_WINDOW))
    .replace("__SPAM_LIMIT__", str(gate.SPAM_LIMIT))
)

# KEYS: buffer, ready, done marker, session, session index, outbound queue, audit queue, turn marker, lock
# ARGV: head (the message as stored, '' for none), member, now, session JSON ('' for none), session TTL,
#       number of jobs, the lock's token ('' to keep it), the jobs…, the audit rows…
_COMMIT = """
local has_msg = ARGV[1] ~= ''
local function settle(ours)
  if has_msg and redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then redis.call('LPOP', KEYS[1]) end
  if redis.call('LLEN', KEYS[1]) == 0 then
    redis.call('ZREM', KEYS[2], ARGV[2])
  else
    redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[2])
  end
  if ours then redis.call('DEL', KEYS[8]) end
  if ARGV[7] ~= '' and redis.call('GET', KEYS[9]) == ARGV[7] then redis.call('DEL', KEYS[9]) end
end
-- Committed before: a copy of the message, or this very commit run again after its answer was lost. The
-- lock may have passed to another process since, so the turn marker (which may be that turn's) stays.
if has_msg and not redis.call('SET', KEYS[3], '1', 'NX', 'EX', __DONE_TTL__) then
  settle(false)
  return 0
end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[5])
  redis.call('ZADD', KEYS[5], ARGV[3], KEYS[4])
end
local n = tonumber(ARGV[6])
for i = 8, 7 + n do redis.call('LPUSH', KEYS[6], ARGV[i]) end
if n > 0 then __WAKE__ end
for i = 8 + n, #ARGV do redis.call('LPUSH', KEYS[7], ARGV[i]) end
settle(true)
return 1
""".replace("__DONE_TTL__", str(DONE_TTL)).replace("__WAKE__", _WAKE)

# KEYS: done marker, turn marker   ARGV: dedup id → 1 if the message was done before, else 0 (turn marked)
_BEGIN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
redis.call('SET', KEYS[2], ARGV[1], 'EX', 86400)
return 0
"""

# KEYS: lock, buffer, session, profile, turn marker   ARGV: token ('' when the lock is held already), lease in
# ms, the chat's done-marker prefix → nil when another holds the lock; {} when nothing waits; else {message,
# session JSON, profile JSON ('' = none), begun}: begun is 'begun' when the turn was marked as `begin` does,
# 'done' when the message was committed before, '' when the script could not tell (an edit, whose dedup id
# needs its timestamp: the caller runs `begin`). The lock is the same SET NX PX with a token as redis-py's
# `Lock` (the sweep's), so each excludes the other.
_OPEN = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1]  -- ours already: this call sent again
   and not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then return {} end
local begun = ''
local ok, m = pcall(cjson.decode, head)
if ok and type(m) == 'table' and m.is_edit == false and type(m.message_id) == 'string' then
  if redis.call('EXISTS', ARGV[3] .. m.message_id) == 1 then
    begun = 'done'
  else
    redis.call('SET', KEYS[5], m.message_id, 'EX', 86400)
    begun = 'begun'
  end
end
return {head, redis.call('GET', KEYS[3]) or '', redis.call('GET', KEYS[4]) or '', begun}
"""

# KEYS: lock   ARGV: token, lease in ms → 1 while it is still ours (renewed), else 0
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS: lock   ARGV: token → 1 if it was ours (deleted), else 0
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_RELEASE_IF_EMPTY = """
if redis.call('LLEN', KEYS[1]) == 0 then return redis.call('ZREM', KEYS[2], ARGV[1]) end
return 0
"""


def chat_member(channel: str, chat_id: int) -> str:
    return f"{channel}:{chat_id}"


def parse_member(member: str | bytes) -> tuple[Channel, int]:
    text = member.decode() if isinstance(member, bytes) else member
    channel, chat = text.split(":", 1)
    if channel not in ("telegram", "whatsapp"):
        raise ValueError(f"unknown channel in {text!r}")
    return cast(Channel, channel), int(chat)


async def accept(redis: Redis, msg: UnifiedMessage, *, jobs: Sequence[OutboundJob] = ()) -> int:
    """Append the message to its chat's buffer and mark the chat ready; returns how many messages wait."""
    script = redis.register_script(_ACCEPT)
    member = chat_member(msg.channel, msg.chat_id)
    waiting_now = await script(
        keys=[keys.buffer(msg.channel, msg.chat_id), keys.INBOX_READY, keys.OUTBOUND_QUEUE],
        args=[msg.model_dump_json(), member, time.time(), *(j.dumps() for j in jobs)],
    )
    return int(waiting_now)


async def accept_checked(
    redis: Redis, msg: UnifiedMessage, *, jobs: Sequence[OutboundJob] = (), now: float | None = None
) -> tuple[gate.Verdict, bool, int]:
    """The gate's checks and `accept` in one atomic round trip (the webhook's path): the verdict, whether
    it is the first spam drop of the window, and how many messages of the chat wait (0 when dropped).
    Nothing is marked seen unless the message is accepted or dropped, so a failed call loses nothing:
    the channel's redelivery is checked afresh."""
    now = time.time() if now is None else now
    if gate.too_old(msg, now):
        return gate.Verdict.REPLAY, False, 0
    script = redis.register_script(_ACCEPT_CHECKED)
    result = int(
        await script(
            keys=[
                keys.buffer(msg.channel, msg.chat_id),
                keys.INBOX_READY,
                keys.OUTBOUND_QUEUE,
                keys.seen(msg.channel, msg.chat_id, msg.dedup_id),
                keys.spam(msg.channel, msg.chat_id),
                keys.spam_logged(msg.channel, msg.chat_id),
            ],
            args=[
                msg.model_dump_json(),
                chat_member(msg.channel, msg.chat_id),
                now,
                "1" if msg.message_type == "callback" else "0",
                f"{msg.dedup_id}:{now}",
                *(j.dumps() for j in jobs),
            ],
        )
    )
    if result == -1:
        return gate.Verdict.DUPLICATE, False, 0
    if result in (-2, -3):
        return gate.Verdict.SPAM, result == -3, 0
    return gate.Verdict.PASS, False, result


async def commit(
    redis: Redis,
    *,
    channel: str,
    chat_id: int,
    message: tuple[bytes, str] | None,
    session: Session | None,
    jobs: Sequence[OutboundJob] = (),
    rows: Sequence[str] = (),
    release: ChatLock | None = None,
) -> bool:
    """End a turn atomically. `message` is (the head of the buffer as stored, its dedup id) when the turn
    handled one. Returns False when that message had been committed before (nothing was written again).
    With `release`, the same step releases the chat's lock (the turn's last message)."""
    now = time.time()
    session_json = ""
    session_key = keys.session(channel, chat_id)
    if session is not None:
        session.updated_at = now
        session_key = keys.session(session.channel, session.chat_id)
        session_json = session.model_dump_json()
    raw, dedup_id = message if message is not None else (b"", "-")
    script = redis.register_script(_COMMIT)
    done = await script(
        keys=[
            keys.buffer(channel, chat_id),
            keys.INBOX_READY,
            keys.inbox_done(channel, chat_id, dedup_id),
            session_key,
            keys.SESSION_INDEX,
            keys.OUTBOUND_QUEUE,
            keys.AUDIT_QUEUE,
            keys.inbox_turn(channel, chat_id),
            keys.lock(channel, chat_id),
        ],
        args=[
            raw,
            chat_member(channel, chat_id),
            now,
            session_json,
            SESSION_TTL,
            len(jobs),
            release.token if release is not None else b"",
            *(j.dumps() for j in jobs),
            *rows,
        ],
    )
    if release is not None:
        release.released = True
    return bool(done)


async def begin(redis: Redis, channel: str, chat_id: int, dedup_id: str) -> bool:
    """Mark the message's turn as running; False when the message was committed before (a copy)."""
    script = redis.register_script(_BEGIN)
    done = await script(keys=[keys.inbox_done(channel, chat_id, dedup_id), keys.inbox_turn(channel, chat_id)],
                        args=[dedup_id])  # fmt: skip
    return not done


@dataclass(frozen=True, slots=True)
class Opened:
    """What a turn reads first: the chat's first waiting message (None: nothing waits), its session and
    profile as stored (None: none), and whether its turn was marked already (`begin`'s work): True, or
    False when the message was committed before (a copy), or None when the caller must run `begin`."""

    head: bytes | None
    session: bytes | None = None
    profile: bytes | None = None
    begun: bool | None = None


class ChatLock:
    """One chat's lock as a turn holds it: a lease (`SET NX PX` with a token of its own), renewed while the
    turn runs and released by the commit of the turn's last message, or by `release`."""

    def __init__(self, redis: Redis, channel: Channel, chat_id: int, *, lease: float) -> None:
        self._redis = redis
        self._channel = channel
        self._chat_id = chat_id
        self._lease_ms = int(lease * 1000)
        self.key = keys.lock(channel, chat_id)
        self.token = uuid.uuid4().hex.encode()
        self.released = False

    async def open(self, *, wait: float = 0.0, poll: float = 0.02) -> Opened | None:
        """Take the lock and read the chat in one round trip; None if another holds it for `wait` s."""
        deadline = time.monotonic() + wait
        while True:
            got = await self._read(self.token)
            if got is not None:
                return got
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(poll)

    async def read(self) -> Opened:
        """The chat's next waiting message, session and profile (the lock held already)."""
        got = await self._read(b"")
        assert got is not None  # no lock to take: never busy
        return got

    async def _read(self, token: bytes) -> Opened | None:
        script = self._redis.register_script(_OPEN)
        c, chat = self._channel, self._chat_id
        reply = await script(
            keys=[
                self.key,
                keys.buffer(c, chat),
                keys.session(c, chat),
                keys.profile(c, chat),
                keys.inbox_turn(c, chat),
            ],
            args=[token, self._lease_ms, keys.inbox_done(c, chat, "")],
        )
        if reply is None:
            return None
        if not reply:
            return Opened(None)
        head, session, profile, begun = cast("list[bytes]", reply)
        return Opened(head, session or None, profile or None, {b"begun": True, b"done": False}.get(begun))

    async def extend(self) -> bool:
        """Renew the lease; False if the lock is no longer ours."""
        script = self._redis.register_script(_EXTEND)
        return bool(await script(keys=[self.key], args=[self.token, self._lease_ms]))

    async def release(self) -> bool:
        """Release the lock if it is still ours (idempotent)."""
        script = self._redis.register_script(_RELEASE)
        self.released = True
        return bool(await script(keys=[self.key], args=[self.token]))


async def head(redis: Redis, channel: str, chat_id: int) -> bytes | None:
    return cast("bytes | None", await redis.lindex(keys.buffer(channel, chat_id), 0))


async def release_if_empty(redis: Redis, channel: str, chat_id: int) -> bool:
    script = redis.register_script(_RELEASE_IF_EMPTY)
    member = chat_member(channel, chat_id)
    return bool(await script(keys=[keys.buffer(channel, chat_id), keys.INBOX_READY], args=[member]))


async def ready_chats(redis: Redis, limit: int) -> list[str]:
    """Chats with waiting messages, the longest-waiting first."""
    members = cast("list[bytes]", await redis.zrange(keys.INBOX_READY, 0, limit - 1))
    return [m.decode() for m in members]


async def waiting(redis: Redis) -> int:
    """How many chats have messages waiting (for /health and tests)."""
    return int(await redis.zcard(keys.INBOX_READY))


async def reindex(redis: Redis) -> int:
    """Mark ready every chat whose buffer holds messages (buffers filled by a version without the index)."""
    found = 0
    async for raw_key in redis.scan_iter(match=keys.buffer("*", "*"), count=500):
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        _, channel, chat = key.split(":", 2)
        if channel in ("telegram", "whatsapp") and await redis.llen(key):
            added = await redis.zadd(keys.INBOX_READY, {f"{channel}:{chat}": time.time()}, nx=True)
            found += int(added or 0)
    return found
