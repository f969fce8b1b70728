"""The fake Impulse server itself: raw HTTP quirks and the demo studio it seeds."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time
from collections import Counter
from zoneinfo import ZoneInfo

import httpx
import pytest

from dancebot.crm.fake import FakeImpulse
from dancebot.crm.fake_seed import build_seed
from dancebot.crm.models import Client

URL = "http://impulse.test/api/public"
AUTH = {"Authorization": "Basic test-key"}
VLAD = ZoneInfo("Asia/Vladivostok")


async def _post(http: httpx.AsyncClient, path: str, body: object, headers: dict[str, str] = AUTH) -> httpx.Response:
    return await http.post(f"{URL}/{path}", json=body, headers=headers)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic wrong"}, {"Authorization": "Basic dGVzdC1rZXk6"}])
async def test_bad_auth_answers_200_with_the_login_page(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _post(http, "schedule/list", {"limit": 10, "page": 1}, headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Вход" in response.text


async def test_the_path_without_public_is_the_web_app(http: httpx.AsyncClient) -> None:
    response = await http.post("http://impulse.test/api/schedule/list", json={}, headers=AUTH)
    assert response.status_code == 200 and response.text.startswith("<!DOCTYPE html>")


async def test_pages_count_from_one_and_limit_is_clamped_to_1000(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    first = (await _post(http, "client/list", {"limit": 100, "page": 1})).json()
    zeroth = (await _post(http, "client/list", {"limit": 100, "page": 0})).json()
    second = (await _post(http, "client/list", {"limit": 100, "page": 2})).json()
    assert first == zeroth and first["total"] == 220
    assert not {c["id"] for c in first["items"]} & {c["id"] for c in second["items"]}
    for i in range(1500):
        fake.clients[10_000 + i] = {"id": 10_000 + i, "name": "Клиент", "phone": None}
    big = (await _post(http, "client/list", {"limit": 5000, "page": 1})).json()
    assert (big["total"], len(big["items"])) == (1720, 1000)


async def test_columns_filter_schedule_but_not_clients_or_reservations(http: httpx.AsyncClient) -> None:
    schedule = (await _post(http, "schedule/list", {"limit": 100, "page": 1, "columns": {"group": 201}})).json()
    assert {t["group"]["id"] for t in schedule["items"]} == {201} and schedule["total"] == 3
    clients = (await _post(http, "client/list", {"limit": 1000, "page": 1, "columns": {"id": 1001}})).json()
    assert clients["total"] == 220
    reservations = await _post(http, "reservation/list", {"limit": 1000, "page": 1, "columns": {"client": 1001}})
    assert {r["client"]["id"] for r in reservations.json()["items"]} != {1001}


async def test_load_by_get_and_404_html_when_missing(http: httpx.AsyncClient) -> None:
    found = await http.get(f"{URL}/schedule/load", params={"id": 301}, headers=AUTH)
    assert found.json()["minutesBegin"] == 19 * 60
    missing = await http.get(f"{URL}/schedule/load", params={"id": 999}, headers=AUTH)
    assert missing.status_code == 404 and "html" in missing.headers["content-type"]


async def test_reservation_delete_does_not_exist(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    response = await _post(http, "reservation/delete", {"id": 5001})
    assert response.status_code == 404 and "html" in response.headers["content-type"]
    assert fake.reservations[5001]["archived"] is False


async def test_a_reservation_without_time_is_an_error(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    date = int(dt.datetime(2026, 12, 7, tzinfo=dt.UTC).timestamp())
    body = {"client": {"id": 1002}, "schedule": {"id": 301}, "type": 0, "date": date}
    response = await _post(http, "reservation/update", body)
    assert response.status_code == 400 and response.json()["success"] is False
    assert fake.active_reservations(client_id=1002) == []


async def test_a_duplicate_phone_answers_500_html_with_the_edit_link(http: httpx.AsyncClient) -> None:
    body = {"name": "Мария", "phone": ["89991234567"], "deposit": 0, "bonus": 0, "status": {"id": 1}}
    response = await _post(http, "client/update", body)
    assert response.status_code == 500 and "client/edit/1001" in response.text


async def test_failures_can_be_queued_or_persistent(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    fake.fail_next(2, "500")
    codes = [(await _post(http, "branch/list", {"limit": 1})).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    fake.set_mode("html")
    pages = [(await _post(http, "branch/list", {})).text for _ in range(3)]
    assert all("Вход" in page for page in pages)
    fake.set_mode(None)
    assert (await _post(http, "branch/list", {})).json()["total"] == 2


def test_the_demo_studio_matches_the_shared_kb() -> None:
    today = dt.date(2026, 12, 2)
    seed = build_seed(today, VLAD)
    weekly = [t for t in seed.templates if t["regular"]]
    assert len(weekly) >= 25
    assert {t["branch"]["id"] for t in weekly if "branch" in t} == {1, 2}
    assert {t["group"]["style"]["id"] for t in weekly} == {11, 12, 13, 14, 15, 16}
    assert {t["group"]["teacher1"]["id"] for t in weekly} == {101, 102, 103, 104, 105}
    assert any(t["minutesBegin"] < 12 * 60 for t in weekly) and any(t["minutesBegin"] >= 18 * 60 for t in weekly)
    stickers = {t["sticker"]["name"] for t in weekly if t["sticker"]}
    assert {"НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ", "НОВАЯ ХОРЕОГРАФИЯ", "ВЫХОДНОЙ"} <= stickers
    assert sum("branch" not in t for t in weekly) >= 2
    assert any(g["placeCount"] == 2 for g in seed.groups)
    [one_off] = [t for t in seed.templates if not t["regular"]]
    assert dt.datetime.fromtimestamp(one_off["dateBegin"], VLAD).date() == today + dt.timedelta(days=4)
    assert dt.datetime.fromtimestamp(weekly[0]["dateBegin"], VLAD).date() == today - dt.timedelta(days=90)
    assert dt.datetime.fromtimestamp(weekly[0]["dateEnd"], VLAD).date() == today + dt.timedelta(days=180)


def test_demo_clients_have_mixed_phone_formats_and_unique_phones() -> None:
    seed = build_seed(dt.date(2026, 12, 2), VLAD)
    assert len(seed.clients) >= 200
    raw = [c["phone"] for c in seed.clients]
    kinds = Counter(
        "list" if isinstance(p, list) else "none" if p is None else "8 (" if p.startswith("8 (") else p[:2] for p in raw
    )
    assert {"list", "8 (", "+7", "79", "none"} <= set(kinds)
    phones = [p for c in seed.clients for p in Client.model_validate(c).phones]
    assert len(phones) == len(set(phones)) and len(phones) > 200
    assert build_seed(dt.date(2026, 12, 2), VLAD) == seed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_fake_serves_over_http_from_the_command_line() -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "dancebot.crm.fake", "--port", str(port), "--today", "2026-12-02"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/api/public/branch/list", json={"limit": 10}, headers=AUTH
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "fake did not start"
                time.sleep(0.1)
        assert [b["name"] for b in response.json()["items"]] == ["Центр", "Гоголя"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_reservations_are_counted_per_class_and_new_ids_follow_the_highest(fake: FakeImpulse) -> None:
    """The places left in a class come from the table's per-template index: records stored, deleted,
    archived or moved to another date in place are all seen, and a new id follows the highest ever stored."""
    from dancebot.crm.fake_seed import reservation_record

    template = next(iter(fake.templates.values()))
    other = next(t for t in fake.templates.values() if t["id"] != template["id"])
    client = next(iter(fake.clients.values()))
    day = fake.today + dt.timedelta(days=1)
    ts = int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp())
    before = len(fake.active_reservations(schedule_id=template["id"], day=day))
    for rid in (90_001, 90_002, 90_003):
        fake.reservations[rid] = reservation_record(rid, client, template, day)
    fake.reservations[90_004] = reservation_record(90_004, client, other, day)
    assert len(fake.active_reservations(schedule_id=template["id"], day=day)) == before + 3
    del fake.reservations[90_001]
    fake.reservations[90_002]["archived"] = True
    fake.reservations[90_003]["date"] = ts + 7 * 86_400  # moved a week on, in place
    assert len(fake.active_reservations(schedule_id=template["id"], day=day)) == before
    assert [r["id"] for r in fake.active_reservations(schedule_id=template["id"], day=day + dt.timedelta(days=7))][
        -1:
    ] == [90_003]
    assert fake.reservations.next_id() == 90_005
    del fake.reservations[90_004]
    assert fake.reservations.next_id() == 90_005  # ids are never reused
