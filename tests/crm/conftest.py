"""Fixtures for the CRM layer: a fresh fake Impulse tenant, the real client talking to it in-process, and the
Redis-backed service on the shared runtime."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from dancebot.crm.client import CallRecord, ImpulseClient
from dancebot.crm.factory import tool_call_recorder
from dancebot.crm.fake import FakeImpulse, create_fake_impulse
from dancebot.crm.service import CRMService
from dancebot.runtime import Runtime
from dancebot.storage.audit import flush_audit

BASE_URL = "http://impulse.test/api/public"
API_KEY = "test-key"
TODAY = dt.date(2026, 12, 2)  # a Wednesday, PRODUCT.md §6.3's reference day


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


VLAD = ZoneInfo("Asia/Vladivostok")
NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=VLAD)  # 15:00 on the fake's today
MARIA = "+79991234567"  # client 1001, stored in the CRM as «8 (999) 123-45-67»

AuditRows = Callable[[sa.Table], Awaitable[list[dict[str, Any]]]]


@pytest.fixture
def crm_rt(rt: Runtime) -> Runtime:
    """The shared runtime with its clock at `NOW`, the fake tenant's present."""
    rt.clock = lambda: NOW
    return rt


@pytest.fixture
async def service(crm_rt: Runtime, http: httpx.AsyncClient) -> AsyncIterator[CRMService]:
    """The CRM service on Redis, over the real client and the fake; every call audited as a tool call."""
    client = ImpulseClient(
        http, base_url=BASE_URL, api_key=API_KEY, timeout=0.3, max_rps=1000, on_call=tool_call_recorder(crm_rt.audit)
    )
    service = CRMService(crm_rt, client)
    yield service
    await service.aclose()  # a schedule refresh still running stops before the HTTP client closes


@pytest.fixture
def audit_rows(rt: Runtime) -> AuditRows:
    """Writes the queued audit rows to Postgres, then reads one table back (oldest first)."""

    async def read(table: sa.Table) -> list[dict[str, Any]]:
        while await flush_audit(rt.redis, rt.db):
            pass
        async with rt.db.connect() as conn:
            result = await conn.execute(sa.select(table).order_by(table.c.id))
            return [dict(row._mapping) for row in result]

    return read
