"""The fake Impulse server's slow-CRM hooks (a create stored after the caller gave up, a create never stored)
and another tenant's data (the second test studio «Волна»)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from zoneinfo import ZoneInfo

import httpx
import pytest

from dancebot.crm.fake import FakeImpulse, create_fake_impulse
from dancebot.crm.fake_seed import utc_midnight
from dancebot.kb.loader import load_kb
from tests.conversations.second.volna import KB_PATH
from tests.studios.second.crm_seed import POLINA, build_second_seed

URL = "http://impulse.test/api/public"
AUTH = {"Authorization": "Basic test-key"}
VLAD = ZoneInfo("Asia/Vladivostok")
MONDAY = dt.date(2026, 12, 7)


def _create(client_id: int = 1002, template_id: int = 301, minutes: int = 19 * 60) -> dict[str, object]:
    date = utc_midnight(MONDAY)
    times = [{"date": date, "minutes": minutes, "schedule": {"id": template_id}}]
    return {"client": {"id": client_id}, "schedule": {"id": template_id}, "type": 0, "date": date, "time": times}


async def test_a_late_store_lands_after_the_caller_gave_up(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    fake.store_late(1, after=0.6)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(http.post(f"{URL}/reservation/update", json=_create(), headers=AUTH), 0.2)
    assert fake.active_reservations(client_id=1002) == []  # not yet: the CRM commits later
    deadline = time.monotonic() + 5
    while not fake.active_reservations(client_id=1002):
        assert time.monotonic() < deadline, "the late create never landed"
        await asyncio.sleep(0.05)
    assert len(fake.active_reservations(client_id=1002, schedule_id=301, day=MONDAY)) == 1


async def test_a_late_store_answers_success_when_the_caller_waits(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    fake.store_late(1, after=0.2)
    response = await http.post(f"{URL}/reservation/update", json=_create(), headers=AUTH)
    assert response.json() == {"success": True, "count": 1}
    assert len(fake.active_reservations(client_id=1002)) == 1


async def test_a_lost_create_is_never_stored(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    fake.hang_seconds = 0.1
    fake.lose_next_creates(1)
    response = await http.post(f"{URL}/reservation/update", json=_create(), headers=AUTH)
    assert response.status_code == 504 and "html" in response.headers["content-type"]
    await asyncio.sleep(0.3)
    assert fake.active_reservations(client_id=1002) == []
    response = await http.post(f"{URL}/reservation/update", json=_create(), headers=AUTH)  # the hook is spent
    assert response.json()["success"] is True


async def test_reset_hooks_forgets_pending_slow_creates(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    fake.store_late(2, after=5)
    fake.lose_next_creates(2)
    fake.set_mode("500")
    fake.reset_hooks()
    response = await http.post(f"{URL}/reservation/update", json=_create(), headers=AUTH)
    assert response.json() == {"success": True, "count": 1}


def test_the_second_studio_is_another_tenant_matching_its_kb() -> None:
    fake = create_fake_impulse(api_key="k", today=dt.date(2026, 12, 2), seed_data=build_second_seed)
    kb = load_kb(KB_PATH).kb
    templates = list(fake.templates.values())
    assert {t["branch"]["id"] for t in templates} == {b.crm_branch_id for b in kb.studio.branches}
    assert {t["group"]["style"]["id"] for t in templates} == {i for s in kb.services for i in s.crm_style_ids}
    assert all(t.crm_teacher_id is None for t in kb.teachers)  # teachers are matched by name only
    crm_names = {f"{t['group']['teacher1']['name']} {t['group']['teacher1']['lastName']}" for t in templates}
    assert {t.name for t in kb.teachers} < crm_names  # and the CRM has one the KB does not describe
    assert not {t["id"] for t in templates} & set(create_fake_impulse(today=dt.date(2026, 12, 2)).templates)
    polina_id, _ = POLINA
    assert [r["schedule"]["id"] for r in fake.active_reservations(client_id=polina_id)] == [810]
