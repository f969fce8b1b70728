"""Alerts to the admin chat share one mechanism (PRODUCT.md §11.1): one per cause per 10 minutes, each
saying what to do; the CRM watch; the `/done` notes that reach PostgreSQL. Real Redis and PostgreSQL,
the fake Impulse CRM in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from dancebot.conversation.fallback import apply_resolutions, open_requests, record_fallback, resolve
from dancebot.crm.client import ImpulseClient
from dancebot.crm.fake import FakeImpulse, create_fake_impulse
from dancebot.crm.service import CRMService
from dancebot.outbound.admin import watch_crm
from dancebot.outbound.alerts import ALERT_WINDOW_S, alert_admin
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.audit import flush_audit
from dancebot.storage.tables import fallback_requests
from tests.conftest import ADMIN_CHAT_ID

BASE_URL = "http://impulse.test/api/public"


async def queued(rt: Runtime) -> list[OutboundJob]:
    return [OutboundJob.loads(raw) for raw in reversed(await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1))]


async def test_one_alert_per_cause_per_ten_minutes(rt: Runtime) -> None:
    assert await alert_admin(rt, "crm_down", "CRM не отвечает", "t1")
    assert not await alert_admin(rt, "crm_down", "CRM не отвечает", "t2")  # the same cause: recorded, not sent
    assert await alert_admin(rt, "dead_letters", "11 недоставленных", "t3")  # another cause
    assert ALERT_WINDOW_S - 5 < await rt.redis.ttl(keys.alert_sent("crm_down")) <= ALERT_WINDOW_S
    await rt.redis.delete(keys.alert_sent("crm_down"))  # ten minutes later
    assert await alert_admin(rt, "crm_down", "CRM не отвечает", "t4")
    jobs = await queued(rt)
    assert [(j.chat_id, j.purpose, j.trace_id) for j in jobs] == [
        (ADMIN_CHAT_ID, "alert", "t1"),
        (ADMIN_CHAT_ID, "alert", "t3"),
        (ADMIN_CHAT_ID, "alert", "t4"),
    ]


async def test_without_an_admin_chat_an_alert_is_only_logged(rt: Runtime) -> None:
    rt.settings = rt.settings.model_copy(update={"admin_chat_id": None})
    assert not await alert_admin(rt, "crm_down", "CRM не отвечает", None)
    assert await queued(rt) == []


async def test_fallback_requests_are_all_kept_and_announced_once_with_what_to_do(rt: Runtime) -> None:
    for name in ("Анна", "Борис", "Вера"):
        await record_fallback(
            rt, kind="booking", reason="unavailable", channel="telegram", chat_id=hash(name) % 10_000,
            trace_id=None, details={"name": name, "phone": "+79140000000", "class": "High Heels"},
        )  # fmt: skip
    [alert] = await queued(rt)
    assert "Анна" in alert.text and "запишите клиента" in alert.text and "/requests" in alert.text
    assert "Заявок в очереди: 1" in alert.text
    assert [r.details["name"] for r in await open_requests(rt)] == ["Анна", "Борис", "Вера"]


async def test_a_done_request_reaches_its_row(rt: Runtime) -> None:
    await record_fallback(
        rt, kind="verify", reason="unverified", channel="telegram", chat_id=42, trace_id="trace-42",
        details={"name": "Анна"},
    )  # fmt: skip
    [request] = await open_requests(rt)
    assert await apply_resolutions(rt) == 0
    assert await resolve(rt, request)
    assert not await resolve(rt, request)  # twice: already done
    assert await apply_resolutions(rt) == 0  # the row is not in PostgreSQL yet: the note waits
    assert await rt.redis.llen(keys.FALLBACK_RESOLVED) == 1
    await flush_audit(rt.redis, rt.db)
    assert await apply_resolutions(rt) == 1
    assert await rt.redis.llen(keys.FALLBACK_RESOLVED) == 0 and await open_requests(rt) == []
    async with rt.db.connect() as conn:
        row = (await conn.execute(select(fallback_requests))).one()
    assert row.status == "done" and row.resolved_at is not None


@pytest.fixture
async def impulse_http() -> AsyncIterator[tuple[httpx.AsyncClient, FakeImpulse]]:
    fake = create_fake_impulse(api_key="key")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as http:
        yield http, fake


async def test_the_crm_watch_alerts_once_and_says_what_to_check(
    rt: Runtime, impulse_http: tuple[httpx.AsyncClient, FakeImpulse]
) -> None:
    http, fake = impulse_http
    service = CRMService(rt, ImpulseClient(http, base_url=BASE_URL, api_key="key", timeout=0.3, max_rps=1000))
    assert not await watch_crm(rt, service)  # up: nothing to say
    fake.set_mode("500")
    await rt.redis.flushdb()  # the health cached a moment ago is gone
    assert await watch_crm(rt, service)
    assert not await watch_crm(rt, service)  # one alert per 10 minutes
    [alert] = await queued(rt)
    assert "CRM (Impulse) не отвечает" in alert.text and "Что сделать" in alert.text and "/requests" in alert.text
    wrong_key = CRMService(rt, ImpulseClient(http, base_url=BASE_URL, api_key="old", timeout=0.3, max_rps=1000))
    fake.set_mode(None)
    await rt.redis.flushdb()
    assert await watch_crm(rt, wrong_key)
    [alert] = await queued(rt)
    assert "не принимает ключ API" in alert.text and "IMPULSE_API_KEY" in alert.text
    assert alert.purpose == "alert"
