"""Fixtures for the CRM layer: a fresh fake Impulse tenant and the real client talking to it in-process."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from dancebot.crm.client import CallRecord, ImpulseClient
from dancebot.crm.fake import FakeImpulse, create_fake_impulse

BASE_URL = "http://impulse.test/api/public"
API_KEY = "test-key"
TODAY = dt.date(2026, 12, 2)  # a Wednesday, SPEC §6.3's reference day


@pytest.fixture
def fake() -> FakeImpulse:
    return create_fake_impulse(api_key=API_KEY, today=TODAY)


@pytest.fixture
async def http(fake: FakeImpulse) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as client:
        yield client


@pytest.fixture
def calls() -> list[CallRecord]:
    return []


@pytest.fixture
def crm(http: httpx.AsyncClient, calls: list[CallRecord]) -> ImpulseClient:
    """The client with a short timeout (hangs are tested) and no practical rate limit."""

    async def record(call: CallRecord) -> None:
        calls.append(call)

    return ImpulseClient(http, base_url=BASE_URL, api_key=API_KEY, timeout=0.3, max_rps=1000, on_call=record)
