"""The Budget Guard (PRODUCT.md §9.2) on real Redis with an injected clock: each limit trips, the admin hears
of it exactly once per window, calls stay refused until the window passes, and processes share counters."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from dancebot.config import Settings
from dancebot.llm.budget import COST, ERRORS, REQUESTS, TOKENS, BudgetGuard, BudgetLimits
from dancebot.runtime import connect_redis
from dancebot.storage import keys
from tests.conftest import Servers

T0 = datetime(2026, 12, 2, 10, 15, 30, tzinfo=UTC)  # mid-minute, mid-hour, mid-day
LIMITS = BudgetLimits(tokens_per_hour=1_000, cost_per_day_usd=1.0, requests_per_minute=5, errors_per_hour=3)

Alert = tuple[str, float, float]


@pytest.fixture
def alerts() -> list[Alert]:
    return []


@pytest.fixture
def guard(redis: Redis, alerts: list[Alert]) -> BudgetGuard:
    async def on_breach(name: str, value: float, limit: float) -> None:
        alerts.append((name, value, limit))

    return BudgetGuard(redis, LIMITS, on_breach=on_breach, clock=lambda: T0)


async def test_calls_within_the_limits_are_allowed_and_counted(guard: BudgetGuard, alerts: list[Alert]) -> None:
    for _ in range(3):
        assert (await guard.allow(T0)).allowed
        await guard.record(tokens=120, cost_usd=0.01, error=False, now=T0)
    snap = await guard.snapshot(T0)
    assert snap[REQUESTS]["value"] == 3 and snap[TOKENS]["value"] == 360
    assert snap[COST]["value"] == pytest.approx(0.03) and snap[ERRORS]["value"] == 0
    assert snap[TOKENS]["limit"] == 1_000 and snap[COST]["limit"] == 1.0
    assert snap["static_kb_mode"] is False and alerts == []


async def test_requests_per_minute_trip_once_and_recover_next_minute(guard: BudgetGuard, alerts: list[Alert]) -> None:
    decisions = [await guard.allow(T0 + timedelta(seconds=i)) for i in range(8)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 3
    refused = decisions[5]
    assert refused.breached == REQUESTS and refused.limit == 5 and refused.value == 6
    assert refused.until == datetime(2026, 12, 2, 10, 16, tzinfo=UTC)
    assert alerts == [(REQUESTS, 6.0, 5.0)]
    assert (await guard.check(T0)).breached == REQUESTS
    next_minute = datetime(2026, 12, 2, 10, 16, 0, tzinfo=UTC)
    assert (await guard.allow(next_minute)).allowed


async def test_tokens_per_hour_trip_on_record_and_recover_next_hour(guard: BudgetGuard, alerts: list[Alert]) -> None:
    assert (await guard.allow(T0)).allowed
    await guard.record(tokens=600, cost_usd=0.0, now=T0)
    assert alerts == []
    await guard.record(tokens=500, cost_usd=0.0, now=T0)
    assert alerts == [(TOKENS, 1100.0, 1000.0)]  # told at once, not at the next call
    for minutes in (1, 20, 44):
        decision = await guard.allow(T0 + timedelta(minutes=minutes))
        assert not decision.allowed and decision.breached == TOKENS
    await guard.record(tokens=50, cost_usd=0.0, now=T0 + timedelta(minutes=5))
    assert len(alerts) == 1
    assert (await guard.snapshot(T0))["static_kb_mode"] is True
    assert (await guard.allow(datetime(2026, 12, 2, 11, 0, 1, tzinfo=UTC))).allowed


async def test_cost_per_day_trips_and_recovers_next_day(guard: BudgetGuard, alerts: list[Alert]) -> None:
    await guard.record(tokens=0, cost_usd=0.6, now=T0)
    await guard.record(tokens=0, cost_usd=0.45, now=T0 + timedelta(hours=3))
    decision = await guard.allow(T0 + timedelta(hours=5))
    assert not decision.allowed and decision.breached == COST and decision.value == pytest.approx(1.05)
    assert decision.until == datetime(2026, 12, 3, tzinfo=UTC)
    assert [a[0] for a in alerts] == [COST]
    assert (await guard.allow(datetime(2026, 12, 3, 0, 0, 1, tzinfo=UTC))).allowed


async def test_errors_per_hour_trip(guard: BudgetGuard, alerts: list[Alert]) -> None:
    for _ in range(2):
        await guard.record(tokens=0, cost_usd=0.0, error=True, now=T0)
    assert (await guard.allow(T0)).allowed
    await guard.record(tokens=0, cost_usd=0.0, error=True, now=T0)
    assert (await guard.allow(T0)).breached == ERRORS
    assert alerts == [(ERRORS, 3.0, 3.0)]
    assert (await guard.allow(T0 + timedelta(hours=1))).allowed


async def test_a_refused_call_takes_no_request_slot(guard: BudgetGuard) -> None:
    await guard.record(tokens=1_000, cost_usd=0.0, now=T0)
    for _ in range(10):
        assert not (await guard.allow(T0)).allowed
    assert (await guard.snapshot(T0))[REQUESTS]["value"] == 0


async def test_the_day_follows_the_studio_time_zone(redis: Redis) -> None:
    vladivostok = ZoneInfo("Asia/Vladivostok")  # UTC+10: the day starts at 14:00 UTC
    guard = BudgetGuard(redis, LIMITS, day_tz=vladivostok)
    await guard.record(tokens=0, cost_usd=2.0, now=datetime(2026, 12, 2, 13, 0, tzinfo=UTC))
    assert (await guard.allow(datetime(2026, 12, 2, 13, 59, tzinfo=UTC))).breached == COST
    assert (await guard.allow(datetime(2026, 12, 2, 14, 0, tzinfo=UTC))).allowed
    assert guard.window(COST, datetime(2026, 12, 2, 13, 0, tzinfo=UTC))[1] == int(
        datetime(2026, 12, 3, tzinfo=vladivostok).timestamp()
    )


async def test_counter_keys_expire_after_their_window(guard: BudgetGuard, redis: Redis) -> None:
    now = datetime.now(UTC)
    assert (await guard.allow(now)).allowed
    await guard.record(tokens=10, cost_usd=0.01, error=True, now=now)
    for name, window in ((REQUESTS, 60), (TOKENS, 3600), (ERRORS, 3600), (COST, 86_400)):
        key = keys.budget_counter(name, guard.window(name, now)[0])
        ttl = await redis.ttl(key)
        assert 0 < ttl <= window + 60, (name, ttl)


async def test_two_processes_share_one_budget_and_one_alert(servers: Servers, redis: Redis) -> None:
    """Two guards on their own connections (as app and worker would be): one counter, one alert."""
    seen: list[tuple[str, str]] = []

    def guard_named(who: str, conn: Redis) -> BudgetGuard:
        async def on_breach(name: str, value: float, limit: float) -> None:
            seen.append((who, name))

        return BudgetGuard(conn, LIMITS, on_breach=on_breach)

    other = connect_redis(servers.redis_url)
    try:
        app, worker = guard_named("app", redis), guard_named("worker", other)
        await app.record(tokens=400, cost_usd=0.0, now=T0)
        await worker.record(tokens=400, cost_usd=0.0, now=T0)
        assert (await app.snapshot(T0))[TOKENS]["value"] == 800
        await asyncio.gather(
            app.record(tokens=300, cost_usd=0.0, now=T0), worker.record(tokens=300, cost_usd=0.0, now=T0)
        )
        assert (await worker.snapshot(T0))[TOKENS]["value"] == 1400
        assert not (await app.allow(T0)).allowed and not (await worker.allow(T0)).allowed
        assert len(seen) == 1 and seen[0][1] == TOKENS
    finally:
        await other.aclose()


async def test_concurrent_callers_never_exceed_the_request_rate(guard: BudgetGuard) -> None:
    decisions = await asyncio.gather(*(guard.allow(T0) for _ in range(20)))
    assert sum(d.allowed for d in decisions) == LIMITS.requests_per_minute


async def test_a_failing_alert_callback_does_not_break_the_guard(redis: Redis) -> None:
    async def broken(name: str, value: float, limit: float) -> None:
        raise RuntimeError("telegram down")

    guard = BudgetGuard(redis, LIMITS, on_breach=broken)
    await guard.record(tokens=5_000, cost_usd=0.0, now=T0)
    assert (await guard.allow(T0)).breached == TOKENS


async def test_redis_down_refuses_calls_instead_of_raising() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    dead = Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
    try:
        guard = BudgetGuard(dead, LIMITS)
        decision = await guard.allow(T0)
        assert not decision.allowed and decision.breached == "budget_unavailable"
        assert not (await guard.check(T0)).allowed
        await guard.record(tokens=1, cost_usd=0.1, error=True, now=T0)  # logged, not raised
    finally:
        await dead.aclose()


def test_limits_come_from_settings() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        max_tokens_per_hour=10,
        max_cost_per_day_usd=0.5,
        max_requests_per_minute=2,
        max_errors_per_hour=1,
    )
    assert BudgetLimits.from_settings(settings) == BudgetLimits(10, 0.5, 2, 1)
    assert BudgetLimits() == BudgetLimits(100_000, 10.0, 30, 50)  # PRODUCT.md §9.2's figures
