"""The Budget Guard (PRODUCT.md §9.2): LLM spending limits on Redis, shared by every process.

Four fixed-window counters, each key named by its window's start (`budget:{limit}:{start}`, with a TTL a
little past the window's end): tokens per hour, cost per day (USD, in `day_tz`, UTC by default), requests
per minute, errors per hour. Updates are atomic (`INCRBY`, `INCRBYFLOAT`), so an app and a worker (or two
apps) see one budget.

- `allow(now)` before every call: refused when a counter has reached its limit; otherwise it *reserves* one
  request of this minute (an atomic `INCR`: concurrent callers can never exceed the rate together).
- `record(tokens=…, cost_usd=…, error=…, now=…)` after the call.
- A breach alerts the admin once per window (`SET budget:alert:{limit}:{start} NX`) through the injected
  `on_breach(limit_name, value, limit)`; calls stay refused until the window passes (static KB mode, L2).
- `check(now)` is `allow` without the reservation (for health/degradation; `alert=True` when a call is
  skipped because of it), `snapshot(now)` feeds `/budget`.

Redis trouble never raises out of the guard: `allow` then refuses (fail closed: no spending unchecked).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from dancebot.config import Settings
from dancebot.logs import get_logger
from dancebot.storage import keys

__all__ = [
    "COST",
    "ERRORS",
    "LIMIT_NAMES",
    "REQUESTS",
    "TOKENS",
    "BudgetDecision",
    "BudgetGuard",
    "BudgetLimits",
    "OnBreach",
]

log = get_logger(__name__)

TOKENS = "tokens_per_hour"
COST = "cost_per_day_usd"
REQUESTS = "requests_per_minute"
ERRORS = "errors_per_hour"
LIMIT_NAMES: tuple[str, ...] = (COST, TOKENS, ERRORS, REQUESTS)  # the order breaches are reported in
UNAVAILABLE = "budget_unavailable"
_WINDOW_S = {TOKENS: 3600, REQUESTS: 60, ERRORS: 3600}
_TTL_MARGIN_S = 60

OnBreach = Callable[[str, float, float], Awaitable[None]]


@dataclass(frozen=True)
class BudgetLimits:
    tokens_per_hour: int = 100_000
    cost_per_day_usd: float = 10.0
    requests_per_minute: int = 30
    errors_per_hour: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> BudgetLimits:
        return cls(
            tokens_per_hour=settings.max_tokens_per_hour,
            cost_per_day_usd=settings.max_cost_per_day_usd,
            requests_per_minute=settings.max_requests_per_minute,
            errors_per_hour=settings.max_errors_per_hour,
        )

    def of(self, name: str) -> float:
        return float(getattr(self, name))


@dataclass(frozen=True)
class BudgetDecision:
    """`allowed`, or which limit is `breached` (its `value`/`limit`) and when its window ends (`until`)."""

    allowed: bool
    breached: str | None = None
    value: float = 0.0
    limit: float = 0.0
    until: datetime | None = None


class BudgetGuard:
    def __init__(
        self,
        redis: Redis,
        limits: BudgetLimits,
        *,
        on_breach: OnBreach | None = None,
        clock: Callable[[], datetime] | None = None,
        day_tz: tzinfo = UTC,
    ) -> None:
        self._redis = redis
        self.limits = limits
        self._on_breach = on_breach
        self._clock = clock or (lambda: datetime.now(UTC))
        self._day_tz = day_tz

    # -- windows ---------------------------------------------------------------------------------------

    def _now(self, now: datetime | None) -> datetime:
        t = now or self._clock()
        return t if t.tzinfo is not None else t.replace(tzinfo=UTC)

    def window(self, name: str, now: datetime) -> tuple[int, int]:
        """`(start, end)` unix seconds of the window of `name` that contains `now`."""
        if name == COST:
            day = now.astimezone(self._day_tz).date()
            start = datetime.combine(day, time(), tzinfo=self._day_tz)
            end = datetime.combine(day + timedelta(days=1), time(), tzinfo=self._day_tz)
            return int(start.timestamp()), int(end.timestamp())
        size = _WINDOW_S[name]
        start_s = int(now.timestamp()) // size * size
        return start_s, start_s + size

    def _key(self, name: str, now: datetime) -> tuple[str, int, int]:
        start, end = self.window(name, now)
        ttl = max(1, end - int(now.timestamp()) + _TTL_MARGIN_S)
        return keys.budget_counter(name, start), start, ttl

    async def _values(self, now: datetime) -> dict[str, float]:
        raw = await self._redis.mget([self._key(name, now)[0] for name in LIMIT_NAMES])
        return {name: float(v) if v is not None else 0.0 for name, v in zip(LIMIT_NAMES, raw, strict=True)}

    def _until(self, name: str, now: datetime) -> datetime:
        return datetime.fromtimestamp(self.window(name, now)[1], UTC)

    # -- the API ---------------------------------------------------------------------------------------

    async def allow(self, now: datetime | None = None) -> BudgetDecision:
        """May one LLM call be made now? If so, this call's request slot is taken."""
        t = self._now(now)
        try:
            decision = await self._decide(t, reserve=True)
        except RedisError as exc:
            log.error("llm.budget_unavailable", error=type(exc).__name__)
            return BudgetDecision(allowed=False, breached=UNAVAILABLE)
        if not decision.allowed and decision.breached:
            await self._alert(decision.breached, decision.value, decision.limit, t)
        return decision

    async def check(self, now: datetime | None = None, *, alert: bool = False) -> BudgetDecision:
        """Would a call be allowed? Takes nothing; alerts the admin only when asked (`alert`: the caller
        skips a call because of it, which is a breach like a refused call — still once per window)."""
        t = self._now(now)
        try:
            decision = await self._decide(t, reserve=False)
        except RedisError:
            return BudgetDecision(allowed=False, breached=UNAVAILABLE)
        if alert and not decision.allowed and decision.breached:
            await self._alert(decision.breached, decision.value, decision.limit, t)
        return decision

    async def _decide(self, now: datetime, *, reserve: bool) -> BudgetDecision:
        values = await self._values(now)
        for name in LIMIT_NAMES:
            if name == REQUESTS and reserve:
                continue
            if values[name] >= self.limits.of(name):
                return self._refused(name, values[name], now)
        if not reserve:
            return BudgetDecision(allowed=True)
        key, _, ttl = self._key(REQUESTS, now)
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, ttl)
        count, _ = await pipe.execute()
        if count > self.limits.requests_per_minute:
            return self._refused(REQUESTS, float(count), now)
        return BudgetDecision(allowed=True)

    def _refused(self, name: str, value: float, now: datetime) -> BudgetDecision:
        limit = self.limits.of(name)
        return BudgetDecision(allowed=False, breached=name, value=value, limit=limit, until=self._until(name, now))

    async def record(self, *, tokens: int, cost_usd: float, error: bool = False, now: datetime | None = None) -> None:
        """Count one finished call; a counter reaching its limit alerts the admin (once per window)."""
        t = self._now(now)
        updates: list[tuple[str, float]] = [(TOKENS, max(0, int(tokens))), (COST, max(0.0, float(cost_usd)))]
        if error:
            updates.append((ERRORS, 1))
        try:
            pipe = self._redis.pipeline(transaction=True)
            for name, amount in updates:
                key, _, ttl = self._key(name, t)
                if name == COST:
                    pipe.incrbyfloat(key, amount)
                else:
                    pipe.incrby(key, int(amount))
                pipe.expire(key, ttl)
            results = await pipe.execute()
        except RedisError as exc:
            log.error("llm.budget_record_failed", error=type(exc).__name__)
            return
        for (name, amount), value in zip(updates, results[::2], strict=True):
            limit = self.limits.of(name)
            if amount and float(value) >= limit:
                await self._alert(name, float(value), limit, t)

    async def _alert(self, name: str, value: float, limit: float, now: datetime) -> None:
        """The first breach of `name` in its window tells the admin; the rest of the window stays quiet."""
        start, end = self.window(name, now)
        ttl = max(1, end - int(now.timestamp()) + _TTL_MARGIN_S)
        try:
            first = await self._redis.set(keys.budget_alert(name, start), "1", nx=True, ex=ttl)
        except RedisError as exc:
            log.error("llm.budget_alert_failed", error=type(exc).__name__)
            return
        if not first:
            return
        log.warning("llm.budget_breach", limit_name=name, value=value, limit=limit)
        if self._on_breach is None:
            return
        try:
            await self._on_breach(name, value, limit)
        except Exception as exc:
            log.error("llm.budget_alert_failed", limit_name=name, error=type(exc).__name__)

    async def snapshot(self, now: datetime | None = None) -> dict[str, Any]:
        """Counters, limits and windows for `/budget`; `static_kb_mode` is true while any limit is reached."""
        t = self._now(now)
        values = await self._values(t)
        counters: dict[str, Any] = {}
        for name in LIMIT_NAMES:
            start, end = self.window(name, t)
            limit = self.limits.of(name)
            counters[name] = {
                "value": round(values[name], 6),
                "limit": limit,
                "window_start": datetime.fromtimestamp(start, UTC).isoformat(),
                "window_end": datetime.fromtimestamp(end, UTC).isoformat(),
                "breached": values[name] >= limit,
            }
        return {"at": t.isoformat(), "static_kb_mode": any(c["breached"] for c in counters.values()), **counters}
