"""The LLM's health and the degradation level (PRODUCT.md §9.3), shared by every process through Redis.

Health is passive — no probe requests, which would cost money: each call's outcome is observed. Three
failed calls in a row (timeouts, 5xx, 429, refused connections, a rejected key, bodies that are not a
completion) open a breaker for `COOL_OFF_S`; while it is open no call is made. When it closes, the next
call is the probe: one more failure opens it again at once, a success resets the count. An answer that is
merely not JSON is the model talking, not the service failing. The Budget Guard's refusal is the other
way to L2.

| LLM \\ CRM        | up  | down |
|------------------|-----|------|
| ok / not set     | L0  | L1   |
| down, over budget| L2  | L3   |

No LLM configured is a supported mode (rules only), not a degradation.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from dancebot.channels.message import UnifiedMessage
from dancebot.llm.budget import BudgetGuard
from dancebot.llm.result import ERROR_OUTCOMES, LLMResult
from dancebot.logs import get_logger
from dancebot.understanding.rules import Understanding
from dancebot.understanding.seam import Hints, Understander

__all__ = [
    "COOL_OFF_S",
    "FAILURE_THRESHOLD",
    "LLMHealth",
    "LLMStatus",
    "Level",
    "WithLLMHealth",
    "degradation_level",
]

log = get_logger(__name__)

LLMStatus = Literal["ok", "down", "over_budget", "not_configured"]
Level = Literal["L0", "L1", "L2", "L3"]
FAILURE_THRESHOLD = 3
COOL_OFF_S = 60
FAILURES_TTL_S = 600
_FAILURES = "llm:health:failures"
_OPEN = "llm:health:open"


def degradation_level(crm: str, llm: str) -> Level:
    """PRODUCT.md §9.3 from the CRM's health (`ok`/anything else) and the LLM's status."""
    crm_down = crm != "ok"
    llm_down = llm in ("down", "over_budget")
    if crm_down and llm_down:
        return "L3"
    if llm_down:
        return "L2"
    return "L1" if crm_down else "L0"


class LLMHealth:
    def __init__(self, redis: Redis, guard: BudgetGuard | None) -> None:
        self._redis = redis
        self.guard = guard

    async def observe(self, result: LLMResult) -> None:
        """Count a finished call: failures towards the breaker, a success resets it. Budget refusals are
        not the service's fault and count for nothing."""
        try:
            if result.outcome in ERROR_OUTCOMES:
                pipe = self._redis.pipeline(transaction=True)
                pipe.incr(_FAILURES)
                pipe.expire(_FAILURES, FAILURES_TTL_S)
                failures, _ = await pipe.execute()
                if int(failures) >= FAILURE_THRESHOLD:
                    if await self._redis.set(_OPEN, str(failures), nx=True, ex=COOL_OFF_S):
                        log.warning("llm.breaker_open", failures=int(failures), cool_off_s=COOL_OFF_S)
            elif result.outcome in ("ok", "bad_json"):
                await self._redis.delete(_FAILURES, _OPEN)
        except RedisError as exc:
            log.error("llm.health_unavailable", error=type(exc).__name__)

    async def status(self, *, alert: bool = False) -> LLMStatus:
        """`ok`, `down` (the breaker is open) or `over_budget`; Redis trouble reads as `down` (fail closed).
        `alert`: a budget refusal found here tells the admin (once per window), as a refused call would."""
        try:
            if await self._redis.exists(_OPEN):
                return "down"
        except RedisError:
            return "down"
        if self.guard is not None and not (await self.guard.check(alert=alert)).allowed:
            return "over_budget"
        return "ok"

    async def reset(self) -> None:
        await self._redis.delete(_FAILURES, _OPEN)


class WithLLMHealth:
    """Marks every understanding with `llm_down` while a configured LLM is down or over budget, so an
    action that finds the CRM down too answers as L3 (PRODUCT.md §9.3)."""

    def __init__(self, inner: Understander, health: LLMHealth) -> None:
        self._inner = inner
        self._health = health

    async def understand(self, msg: UnifiedMessage, hints: Hints) -> Understanding:
        u = await self._inner.understand(msg, hints)
        if await self._health.status() != "ok":
            return replace(u, llm_down=True)
        return u
