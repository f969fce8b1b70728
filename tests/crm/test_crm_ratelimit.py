"""The client stays under its request rate (PRODUCT.md §7.1: ≤ 3 requests/s), checked on a fake clock."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest

from dancebot.crm.client import ImpulseClient, RateLimiter
from dancebot.crm.fake import FakeImpulse


class FakeClock:
    """Time that only moves when someone sleeps; records when each request was let through."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_seven_acquisitions_at_three_per_second_take_two_seconds() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3.0, clock=clock, sleep=clock.sleep)
    granted = []
    for _ in range(7):
        await limiter.acquire()
        granted.append(clock.now)
    assert granted[-1] - granted[0] >= 2.0 - 1e-9
    assert all(b - a >= 1 / 3 - 1e-9 for a, b in itertools.pairwise(granted))


async def test_an_idle_limiter_does_not_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire()
    clock.now += 10
    await limiter.acquire()
    assert clock.now == 110.0


async def test_concurrent_callers_share_the_spacing() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3.0, clock=clock, sleep=clock.sleep)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    limiter.sleep = sleep
    await asyncio.gather(*(limiter.acquire() for _ in range(4)))
    assert sorted(waits) == pytest.approx([1 / 3, 2 / 3, 1.0])


async def test_the_client_spaces_its_requests(fake: FakeImpulse) -> None:
    clock = FakeClock()
    seen: list[float] = []
    inner = httpx.ASGITransport(app=fake.app)

    class Timed(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(clock.now)
            return await inner.handle_async_request(request)

    async with httpx.AsyncClient(transport=Timed()) as http:
        crm = ImpulseClient(
            http,
            base_url="http://impulse.test/api/public",
            api_key="test-key",
            limiter=RateLimiter(3.0, clock=clock, sleep=clock.sleep),
            page_size=50,
        )
        await crm.list_clients()  # 5 pages
        await crm.get_groups()
        await crm.health_check()
    assert len(seen) == 7
    assert seen[-1] - seen[0] >= 2.0 - 1e-9
