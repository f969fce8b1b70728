"""The outbound queue (PRODUCT.md §10.1): every reply is a job; producers only `enqueue`, workers send.

    producers ──LPUSH──▶ queue:outbound ──route (one script, in order)──▶ chat:{channel}:{chat}
                                                                                │ claim (GCRA limits)
                      ready ZSET: chat → when it may send next ◀──ack / retry── inflight HASH

- Routing moves every queued job into its chat's list in one script, so jobs keep the order they were
  queued in whichever worker routes them. A producer also drops a token on `queue:outbound:wake`, which
  idle workers block on; a job pushed without one is still routed within half a second.
- Each chat has its own list, and at most one of its jobs is in flight (`queue:outbound:inflight`, the
  sending worker in `queue:outbound:owner`): order is kept per chat, however many workers send.
- A chat is claimable when its `ready` score has come; the claim script checks the channel's overall
  rate and takes the chat's per-message allowance (`ratelimit.py`), all in one atomic step, so two
  workers never take the same job and together never exceed the limits.
- Retries go back to the head of the chat's list with a later score; a dead letter leaves it for
  `queue:outbound:dead` (`dlq.py`). Every delivered job's id is marked for a day: a second copy of a
  job (a producer's retried push) is dropped, not sent again.
- A worker that dies holding a job (between claim and ack) is noticed by its expired heartbeat;
  `recover` puts the job back in front of its chat.

All scripts take their time from the caller (`now`), so tests can move it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, cast

from redis.asyncio import Redis

from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.ratelimit import DEFAULT_LIMITS, ChannelLimits, limits_json
from dancebot.storage import keys

__all__ = ["SENT_TTL", "STALE_CLAIM", "WAKE_LUA", "Claim", "OutboundQueue", "enqueue", "pending"]

SENT_TTL: Final = 24 * 3600
STALE_CLAIM: Final = 60.0  # seconds: longer than any send (PTB's timeouts), so a claim this old was lost
_SCAN: Final = 50  # ready chats the claim script looks at per call


async def enqueue(redis: Redis, *jobs: OutboundJob) -> None:
    """LPUSH in order (the worker routes from the right, so jobs leave in the order given), and wake a worker."""
    if jobs:
        pipe = redis.pipeline(transaction=True)
        pipe.lpush(keys.OUTBOUND_QUEUE, *(j.dumps() for j in jobs))
        pipe.lpush(keys.OUTBOUND_WAKE, 1)
        pipe.ltrim(keys.OUTBOUND_WAKE, 0, 0)
        await pipe.execute()


# Lua for producers' own scripts (inbox commit, reminders, dlq): wake a worker after pushing jobs.
WAKE_LUA: Final = "redis.call('LPUSH', '{key}', 1) redis.call('LTRIM', '{key}', 0, 0)"

# KEYS: queue, ready, inflight, bad   ARGV: now, limits JSON, chat prefix, rate prefix, most to route
# → {routed, set aside}
_ROUTE = """
local now = tonumber(ARGV[1])
local limits = cjson.decode(ARGV[2])
local routed, bad = 0, 0
while routed + bad < tonumber(ARGV[5]) do
  local job = redis.call('RPOP', KEYS[1])
  if not job then break end
  local ok, decoded = pcall(cjson.decode, job)
  local chat = ok and type(decoded) == 'table' and decoded.chat_id or nil
  local channel = ok and type(decoded) == 'table' and (decoded.channel or 'telegram') or nil
  if type(chat) ~= 'number' or type(channel) ~= 'string' then
    redis.call('LPUSH', KEYS[4], job)
    bad = bad + 1
  else
    local member = channel .. ':' .. string.format('%d', chat)
    redis.call('RPUSH', ARGV[3] .. member, job)
    if redis.call('HEXISTS', KEYS[3], member) == 0 and not redis.call('ZSCORE', KEYS[2], member) then
      local at = now
      local lim = limits[channel]
      if lim then
        local allowed = tonumber(redis.call('GET', ARGV[4] .. member) or '0') - lim.chat_tau
        if allowed > at then at = allowed end
      end
      redis.call('ZADD', KEYS[2], at, member)
    end
    routed = routed + 1
  end
end
return {routed, bad}
"""

# KEYS: ready, inflight, owner   ARGV: worker, now, scan, limits JSON, chat prefix, rate prefix, sent prefix,
# most → {member, job, member, job, …} (up to `most` chats, each within the limits as the ones before left
# them) or {'', seconds until something may be claimable, -1 if nothing waits}
_CLAIM = """
local now = tonumber(ARGV[2])
local limits = cjson.decode(ARGV[4])
local blocked = {}
local wait = nil
local out = {}
local most = tonumber(ARGV[8] or '1')
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(members) do
  local channel = string.match(member, '^([^:]+):')
  local lim = limits[channel]
  local gkey = ARGV[6] .. channel
  local gtat = now
  local go = not blocked[channel]
  if go and lim and lim.per_second > 0 then
    gtat = math.max(tonumber(redis.call('GET', gkey) or '0'), now)
    local ahead = gtat - (lim.burst - 1) / lim.per_second - now
    if ahead > 1e-9 then
      go = false
      blocked[channel] = true
      if not wait or ahead < wait then wait = ahead end
    end
  end
  if go then
    local qkey = ARGV[5] .. member
    local job = redis.call('LPOP', qkey)
    while job do
      local ok, decoded = pcall(cjson.decode, job)
      local id = ok and type(decoded) == 'table' and decoded.job_id or nil
      if not (id and redis.call('EXISTS', ARGV[7] .. id) == 1) then break end
      job = redis.call('LPOP', qkey)  -- a copy of a job already delivered: dropped
    end
    if not job then
      redis.call('ZREM', KEYS[1], member)
    else
      if lim and lim.per_second > 0 then
        local tat = gtat + 1 / lim.per_second
        redis.call('SET', gkey, string.format('%.17g', tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
      end
      local ok, decoded = pcall(cjson.decode, job)
      local kind = ok and type(decoded) == 'table' and decoded.kind or 'message'
      if lim and lim.chat_interval > 0 and kind == 'message' then
        local ckey = ARGV[6] .. member
        local ctat = math.max(tonumber(redis.call('GET', ckey) or '0'), now) + lim.chat_interval
        redis.call('SET', ckey, string.format('%.17g', ctat), 'PX', math.ceil((ctat - now) * 1000) + 1000)
      end
      redis.call('ZREM', KEYS[1], member)
      redis.call('HSET', KEYS[2], member, job)
      redis.call('HSET', KEYS[3], member, ARGV[1] .. '|' .. ARGV[2])
      out[#out + 1] = member
      out[#out + 1] = job
      if #out >= 2 * most then return out end
    end
  end
end
if #out > 0 then return out end
if not wait then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if first[2] then wait = math.max(tonumber(first[2]) - now, 0.001) else wait = -1 end
end
return {'', string.format('%.17g', wait)}
"""

_OWNED = """
local owner = redis.call('HGET', KEYS[2], ARGV[1])
if not owner or string.match(owner, '^([^|]*)') ~= ARGV[2] then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
local function reschedule(at)
  if redis.call('LLEN', KEYS[4]) > 0 then
    local allowed = tonumber(redis.call('GET', KEYS[5]) or '0') - tonumber(ARGV[4])
    if allowed > at then at = allowed end
    redis.call('ZADD', KEYS[3], at, ARGV[1])
  end
end
"""
# KEYS: inflight, owner, ready, chat queue, chat rate, sent mark, audit queue
# ARGV: member, worker, now, chat tolerance, the audit rows of the delivery…
_ACK = (
    _OWNED
    + """
redis.call('SET', KEYS[6], '1', 'EX', __SENT_TTL__)
for i = 5, #ARGV do redis.call('LPUSH', KEYS[7], ARGV[i]) end
reschedule(tonumber(ARGV[3]))
return 1
""".replace("__SENT_TTL__", str(SENT_TTL))
)
# KEYS: inflight, owner, ready, chat queue, chat rate   ARGV: member, worker, now, chat tolerance, job, due
_RETRY = (
    _OWNED
    + """
redis.call('LPUSH', KEYS[4], ARGV[5])
reschedule(tonumber(ARGV[6]))
return 1
"""
)
# KEYS: inflight, owner, ready, chat queue, chat rate, dead letters   ARGV: member, worker, now, tolerance, id, entry
_DEAD = (
    _OWNED
    + """
redis.call('HSET', KEYS[6], ARGV[5], ARGV[6])
reschedule(tonumber(ARGV[3]))
return redis.call('HLEN', KEYS[6])
"""
)
# KEYS: inflight, owner, ready   ARGV: now, chat prefix, heartbeat prefix, this worker, stale after, its jobs…
# A job goes back when its worker's heartbeat expired — or when it is this worker's, old, and not among
# the jobs it knows it holds (its claim's reply was lost, e.g. Redis restarted right after the claim).
_RECOVER = """
local now = tonumber(ARGV[1])
local mine = {}
for i = 6, #ARGV do mine[ARGV[i]] = true end
local owners = redis.call('HGETALL', KEYS[2])
local n = 0
for i = 1, #owners, 2 do
  local member, owner = owners[i], owners[i + 1]
  local worker, since = string.match(owner, '^([^|]*)|?(.*)$')
  local lost = false
  if worker == ARGV[4] then
    lost = not mine[member] and (tonumber(since) or 0) < now - tonumber(ARGV[5])
  else
    lost = redis.call('EXISTS', ARGV[3] .. worker) == 0
  end
  if lost then
    local job = redis.call('HGET', KEYS[1], member)
    redis.call('HDEL', KEYS[1], member)
    redis.call('HDEL', KEYS[2], member)
    if job then
      redis.call('LPUSH', ARGV[2] .. member, job)
      redis.call('ZADD', KEYS[3], ARGV[1], member)
      n = n + 1
    end
  end
end
return n
"""


@dataclass(frozen=True)
class Claim:
    """A job this worker now holds: the only one of its chat in flight."""

    member: str  # "{channel}:{chat}"
    raw: bytes
    channel: str
    chat_id: int


class OutboundQueue:
    """The scripts of one worker (`worker_id`) over the shared queues."""

    def __init__(self, redis: Redis, worker_id: str, limits: Mapping[str, ChannelLimits] = DEFAULT_LIMITS) -> None:
        self._redis = redis
        self.worker_id = worker_id
        self.limits = dict(limits)
        self._limits_json = limits_json(limits)
        self._route = redis.register_script(_ROUTE)
        self._claim = redis.register_script(_CLAIM)
        self._ack = redis.register_script(_ACK)
        self._retry = redis.register_script(_RETRY)
        self._dead = redis.register_script(_DEAD)
        self._recover = redis.register_script(_RECOVER)

    def _tolerance(self, channel: str) -> float:
        lim = self.limits.get(channel)
        return lim.chat_tolerance if lim else 0.0

    async def route_all(self, now: float | None = None, most: int = 1000) -> tuple[int, int]:
        """File queued jobs into their chats' queues, oldest first: (how many, how many set aside as not a
        job at all — kept in `queue:outbound:bad` for a human)."""
        routed, bad = await self._route(
            keys=[keys.OUTBOUND_QUEUE, keys.OUTBOUND_READY, keys.OUTBOUND_INFLIGHT, keys.OUTBOUND_BAD],
            args=[_now(now), self._limits_json, keys.OUTBOUND_CHAT_PREFIX, keys.RATE_PREFIX, most],
        )
        return int(routed), int(bad)

    async def wait_for_jobs(self, seconds: float) -> bool:
        """Block until a producer signals new jobs (or `seconds` pass)."""
        token = await self._redis.blpop([keys.OUTBOUND_WAKE], seconds)
        return token is not None

    async def claim(self, now: float | None = None) -> Claim | float:
        """The next job some chat may send now, or how long to wait before one may be (-1: none waits)."""
        got = await self.claim_many(1, now)
        return got[0] if isinstance(got, list) else got

    async def claim_many(self, most: int, now: float | None = None) -> list[Claim] | float:
        """Up to `most` jobs of different chats that may be sent now, in one round trip (each within the
        rate limits as the ones before it left them), or how long to wait before one may be (-1: none waits)."""
        reply = cast(
            "list[bytes]",
            await self._claim(
                keys=[keys.OUTBOUND_READY, keys.OUTBOUND_INFLIGHT, keys.OUTBOUND_OWNER],
                args=[
                    self.worker_id,
                    _now(now),
                    _SCAN,
                    self._limits_json,
                    keys.OUTBOUND_CHAT_PREFIX,
                    keys.RATE_PREFIX,
                    keys.OUTBOUND_SENT_PREFIX,
                    max(1, most),
                ],
            ),
        )
        if not reply[0]:
            return float(reply[1])
        claims = []
        for member, value in zip(reply[0::2], reply[1::2], strict=True):
            text = member.decode()
            channel, chat = text.split(":", 1)
            claims.append(Claim(text, value, channel, int(chat)))
        return claims

    def _held_keys(self, claim: Claim) -> list[str]:
        return [
            keys.OUTBOUND_INFLIGHT,
            keys.OUTBOUND_OWNER,
            keys.OUTBOUND_READY,
            keys.outbound_chat(claim.channel, claim.chat_id),
            keys.rate_limit(claim.channel, claim.chat_id),
        ]

    async def ack(self, claim: Claim, job_id: str, now: float | None = None, rows: Sequence[str] = ()) -> bool:
        """Delivered: release the chat (its next job becomes claimable), mark the job sent and queue the
        delivery's audit `rows` — all at once, so the row exists exactly when the job counts as sent."""
        args: list[str | float] = [claim.member, self.worker_id, _now(now), self._tolerance(claim.channel), *rows]
        held = [*self._held_keys(claim), keys.outbound_sent(job_id), keys.AUDIT_QUEUE]
        return int(await self._ack(keys=held, args=args)) == 1

    async def retry(self, claim: Claim, job: OutboundJob, due: float, now: float | None = None) -> bool:
        """Back to the head of its chat's queue, claimable again at `due` (order kept)."""
        args: list[str | float] = [claim.member, self.worker_id, _now(now), self._tolerance(claim.channel)]
        args += [job.dumps(), due]
        return int(await self._retry(keys=self._held_keys(claim), args=args)) == 1

    async def dead_letter(self, claim: Claim, job_id: str, entry: str, now: float | None = None) -> int:
        """Out of the queues into `queue:outbound:dead`; returns how many dead letters there are (-1: the
        job was no longer ours)."""
        args: list[str | float] = [claim.member, self.worker_id, _now(now), self._tolerance(claim.channel)]
        args += [job_id, entry]
        return int(await self._dead(keys=[*self._held_keys(claim), keys.DEAD_LETTERS], args=args))

    async def recover(self, holding: Iterable[str] = (), now: float | None = None) -> int:
        """Give back the jobs of workers whose heartbeat expired, and this worker's own claims older than
        `STALE_CLAIM` that it does not know it is `holding`."""
        args: list[str | float] = [_now(now), keys.OUTBOUND_CHAT_PREFIX, keys.WORKER_ALIVE_PREFIX, self.worker_id]
        moved = int(
            await self._recover(
                keys=[keys.OUTBOUND_INFLIGHT, keys.OUTBOUND_OWNER, keys.OUTBOUND_READY],
                args=[*args, STALE_CLAIM, *holding],
            )
        )
        return moved

    async def recover_legacy(self) -> int:
        """Jobs left by the version before per-chat queues (processing list, delayed retries) go back in."""
        moved = 0
        while await self._redis.lmove(keys.OUTBOUND_PROCESSING, keys.OUTBOUND_QUEUE, "RIGHT", "RIGHT"):
            moved += 1
        for raw in cast("list[bytes]", await self._redis.zrange(keys.OUTBOUND_DELAYED, 0, -1)):
            if await self._redis.zrem(keys.OUTBOUND_DELAYED, raw):
                await self._redis.rpush(keys.OUTBOUND_QUEUE, raw)
                moved += 1
        return moved

    async def heartbeat(self, ttl: float) -> None:
        await self._redis.set(keys.worker_alive(self.worker_id), int(time.time()), px=int(ttl * 1000))

    async def pending(self) -> int:
        """0 when every job was delivered or dead-lettered; else queued jobs + chats with jobs waiting or in
        flight (tests, benchmarks)."""
        return await pending(self._redis)


async def pending(redis: Redis) -> int:
    """0 when every job was delivered or dead-lettered (see `OutboundQueue.pending`)."""
    pipe = redis.pipeline(transaction=False)
    pipe.llen(keys.OUTBOUND_QUEUE)
    pipe.zcard(keys.OUTBOUND_READY)
    pipe.hlen(keys.OUTBOUND_INFLIGHT)
    return sum(int(n) for n in await pipe.execute())


def _now(now: float | None) -> float:
    return time.time() if now is None else now
