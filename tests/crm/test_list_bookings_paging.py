"""A client's upcoming bookings in a studio with a long history: read newest class day first, paging stops
early when (and only when) the CRM really sorts, so no booking is ever missed; and the fake honours `sort`."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

import httpx
import pytest

from dancebot.crm import fake as fake_module
from dancebot.crm.client import ImpulseClient
from dancebot.crm.fake import FakeImpulse, RecordedRequest
from dancebot.crm.fake_seed import reservation_record
from dancebot.crm.service import CRMService
from tests.crm.conftest import API_KEY, BASE_URL, MARIA, TODAY

ANNA = 1007  # a client of the demo tenant, with a history of her own below
HISTORY = 3000
PAGE = 100  # 3,000+ reservations = 31 pages when every page is read
ALL_PAGES = 31
AUTH = {"Authorization": f"Basic {API_KEY}"}


def _day(reservation: dict[str, Any]) -> dt.date:
    return dt.datetime.fromtimestamp(reservation["date"], dt.UTC).date()


def _add(fake: FakeImpulse, rid: int, client_id: int, template_id: int, day: dt.date, **flags: bool) -> None:
    record = reservation_record(rid, fake.clients[client_id], fake.templates[template_id], day)
    fake.reservations[rid] = {**record, **flags}


def _grow_history(fake: FakeImpulse, count: int = HISTORY) -> None:
    """`count` reservations of the tenant's other clients, made day by day over the past year, each 0–28 days
    ahead of its class: ids in the order they were made, class days from a year ago to four weeks ahead."""
    rng = random.Random(11)
    clients = sorted(set(fake.clients) - {ANNA, 1001})  # theirs are set by hand
    templates = sorted(fake.templates)
    first = TODAY - dt.timedelta(days=365)
    for n in range(count):
        made = first + dt.timedelta(days=n * 365 // count)
        day = made + dt.timedelta(days=rng.randint(0, 28))
        archived = rng.random() < 0.05
        _add(fake, 10_000 + n, rng.choice(clients), rng.choice(templates), day, archived=archived)


def _annas_bookings(fake: FakeImpulse) -> None:
    """Anna's own: past, on TODAY itself, upcoming (one booked long ago), archived, deleted."""
    _add(fake, 9_000, ANNA, 303, TODAY + dt.timedelta(days=20))  # booked a year ago: a low id, a late day
    _add(fake, 20_001, ANNA, 302, TODAY - dt.timedelta(days=1))  # yesterday
    _add(fake, 20_002, ANNA, 302, TODAY)  # today: on `since` itself
    _add(fake, 20_003, ANNA, 301, TODAY + dt.timedelta(days=5))
    _add(fake, 20_004, ANNA, 305, TODAY + dt.timedelta(days=9), archived=True)  # cancelled
    _add(fake, 20_005, ANNA, 306, TODAY + dt.timedelta(days=12), deleted=True)
    _add(fake, 20_006, ANNA, 304, TODAY - dt.timedelta(days=200))


def _expected(fake: FakeImpulse, client_id: int, since: dt.date) -> list[int]:
    return sorted(r["id"] for r in fake.active_reservations(client_id=client_id) if _day(r) >= since)


def _reservation_lists(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in requests if (r.entity, r.action) == ("reservation", "list")]


@pytest.fixture
def history(fake: FakeImpulse) -> FakeImpulse:
    _grow_history(fake)
    _annas_bookings(fake)
    return fake


@pytest.fixture
def paged(http: httpx.AsyncClient) -> ImpulseClient:
    """The real client reading 100 records a page."""
    return ImpulseClient(http, base_url=BASE_URL, api_key=API_KEY, timeout=2, max_rps=1000, page_size=PAGE)


async def _read(crm: ImpulseClient, fake: FakeImpulse, client_id: int, since: dt.date | None):
    before = len(fake.requests)
    bookings = await crm.list_bookings(client_id, since=since)
    return sorted(b.id for b in bookings), _reservation_lists(fake.requests[before:])


# ---- the client ---------------------------------------------------------------------------------


async def test_upcoming_bookings_are_found_in_a_few_pages(paged: ImpulseClient, history: FakeImpulse) -> None:
    found, lists = await _read(paged, history, ANNA, TODAY)

    assert found == _expected(history, ANNA, TODAY) == [9_000, 20_002, 20_003]
    # the newest class days first, stopping once a page reaches the past; one tiny read proves the sort
    assert 2 <= len(lists) <= 4
    assert [r.body.get("sort") for r in lists[:-1]] == [{"date": "desc"}] * (len(lists) - 1)
    assert lists[-1].body == {"limit": 1, "page": 1, "sort": {"date": "asc"}}


async def test_every_client_gets_what_a_full_read_gives(paged: ImpulseClient, history: FakeImpulse) -> None:
    rng = random.Random(5)
    for client_id in [ANNA, 1001, *rng.sample(sorted(history.clients), 12)]:
        every = await paged.list_bookings(client_id)
        for since in (TODAY, TODAY + dt.timedelta(days=3), TODAY - dt.timedelta(days=2)):
            found, _ = await _read(paged, history, client_id, since)
            full = sorted(b.id for b in every if b.day >= since)
            assert found == full == _expected(history, client_id, since), (client_id, since)


async def test_the_sort_proof_is_remembered(paged: ImpulseClient, history: FakeImpulse) -> None:
    await _read(paged, history, ANNA, TODAY)
    _, lists = await _read(paged, history, 1001, TODAY)
    assert all(r.body.get("sort") == {"date": "desc"} for r in lists) and len(lists) <= 3


async def test_without_since_every_page_is_read_and_the_past_is_kept(
    paged: ImpulseClient, history: FakeImpulse
) -> None:
    found, lists = await _read(paged, history, ANNA, None)
    assert found == _expected(history, ANNA, dt.date.min) == [9_000, 20_001, 20_002, 20_003, 20_006]
    assert len(lists) == ALL_PAGES and all("sort" not in r.body for r in lists)


async def test_a_booking_on_the_day_itself_counts_and_the_day_before_does_not(
    paged: ImpulseClient, history: FakeImpulse
) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    assert (await _read(paged, history, ANNA, yesterday))[0] == [9_000, 20_001, 20_002, 20_003]
    assert (await _read(paged, history, ANNA, TODAY))[0] == [9_000, 20_002, 20_003]
    assert (await _read(paged, history, ANNA, TODAY + dt.timedelta(days=1)))[0] == [9_000, 20_003]


async def test_cancelled_and_deleted_bookings_stay_out(paged: ImpulseClient, history: FakeImpulse) -> None:
    await paged.cancel_booking(20_003)
    found, _ = await _read(paged, history, ANNA, TODAY)
    assert found == [9_000, 20_002]  # 20_004 archived, 20_005 deleted, now 20_003 cancelled
    assert 20_005 not in (await _read(paged, history, ANNA, None))[0]


async def test_a_crm_ignoring_sort_still_yields_every_booking(paged: ImpulseClient, history: FakeImpulse) -> None:
    history.ignore_sort = True
    found, lists = await _read(paged, history, ANNA, TODAY)
    assert found == [9_000, 20_002, 20_003]
    assert len(lists) == ALL_PAGES  # read to the end, as without `since`


async def test_a_crm_that_stops_sorting_after_proving_it_sorts_is_still_read_whole(
    paged: ImpulseClient, history: FakeImpulse
) -> None:
    await _read(paged, history, ANNA, TODAY)  # sorting proven
    history.ignore_sort = True
    found, lists = await _read(paged, history, ANNA, TODAY)
    assert found == [9_000, 20_002, 20_003]
    assert len(lists) == ALL_PAGES


async def test_an_unsorted_first_page_that_looks_sorted_does_not_end_the_read(
    paged: ImpulseClient, fake: FakeImpulse
) -> None:
    """Imported history all dated one past day fills the first pages: by id it looks sorted by date, but a
    CRM ignoring `sort` has Anna's upcoming booking far behind it."""
    fake.reservations.clear()
    rng = random.Random(3)
    for rid in range(30_000, 30_350):
        _add(fake, rid, rng.choice(sorted(fake.clients)), 301, TODAY - dt.timedelta(days=400))
    _add(fake, 30_400, ANNA, 302, TODAY + dt.timedelta(days=7))
    fake.ignore_sort = True

    found, lists = await _read(paged, fake, ANNA, TODAY)

    assert found == [30_400]
    assert len([r for r in lists if r.body.get("limit") == PAGE]) == 4  # 351 records: every page


async def test_a_small_tenant_is_read_in_one_page(crm: ImpulseClient, fake: FakeImpulse) -> None:
    found, lists = await _read(crm, fake, 1001, TODAY)
    assert found == [5001] and len(lists) == 1


async def test_the_positional_call_still_reads_everything(crm: ImpulseClient, fake: FakeImpulse) -> None:
    assert [b.id for b in await crm.list_bookings(1001)] == [5001]


async def test_local_midnight_dates_are_cut_at_the_studios_midnight(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    crm = ImpulseClient(
        http, base_url=BASE_URL, api_key=API_KEY, max_rps=1000, page_size=5, date_convention="local_midnight"
    )
    fake.reservations.clear()
    vlad_midnight = int(dt.datetime.combine(TODAY, dt.time(), tzinfo=fake.tz).timestamp())
    for n, offset in enumerate(range(-40, 5)):  # one reservation a day, each at the studio's midnight
        _add(fake, 40_000 + n, ANNA, 301, TODAY)
        fake.reservations[40_000 + n]["date"] = vlad_midnight + offset * 86_400
    found, lists = await _read(crm, fake, ANNA, TODAY)
    assert found == list(range(40_040, 40_045))  # today and the four days after
    assert len(lists) <= 3


# ---- the service: «мои записи» and a booking's duplicate check -------------------------------------


async def test_my_bookings_in_a_busy_studio_read_a_few_pages(service: CRMService, history: FakeImpulse) -> None:
    _add(history, 20_010, 1001, 318, dt.date(2026, 12, 4))
    booked = await service.client_bookings("8 (999) 123-45-67")
    assert [b.reservation_id for b in booked] == [20_010, 5001]
    assert len(_reservation_lists(history.requests)) <= 2  # 7 pages of 500 when every page is read


async def test_a_class_already_held_deep_in_the_history_is_not_booked_twice(
    service: CRMService, history: FakeImpulse
) -> None:
    _add(history, 9_001, 1001, 302, dt.date(2026, 12, 9))  # a low id: booked long ago
    occurrence = await service.occurrence("302:2026-12-09")
    assert occurrence is not None
    result = await service.book(
        occurrence=occurrence, name="Мария", phone_e164=MARIA, channel="telegram", chat_id=1, trace_id="t"
    )
    assert (result.status, result.reason) == ("duplicate", "already_booked")
    assert not [r for r in history.requests if (r.entity, r.action) == ("reservation", "update")]
    assert len(_reservation_lists(history.requests)) <= 2


async def test_my_bookings_with_a_crm_ignoring_sort_are_complete(service: CRMService, history: FakeImpulse) -> None:
    history.ignore_sort = True
    _add(history, 9_002, 1001, 318, dt.date(2026, 12, 4))
    booked = await service.client_bookings(MARIA)
    assert [b.reservation_id for b in booked] == [9_002, 5001]


# ---- the fake: `sort` and the phone index -------------------------------------------------------------


async def _list(http: httpx.AsyncClient, entity: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = await http.post(f"{BASE_URL}/{entity}/list", json=body, headers=AUTH)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_the_fake_sorts_lists_both_ways_ties_by_id(http: httpx.AsyncClient, history: FakeImpulse) -> None:
    desc = await _list(http, "reservation", {"limit": 1000, "page": 1, "sort": {"date": "desc"}})
    asc = await _list(http, "reservation", {"limit": 1000, "page": 1, "sort": {"date": "asc"}})
    assert [r["date"] for r in desc] == sorted((r["date"] for r in history.reservations.values()), reverse=True)[:1000]
    assert [r["date"] for r in asc] == sorted(r["date"] for r in history.reservations.values())[:1000]
    for page in (desc, asc):
        for a, b in itertools.pairwise(page):
            assert a["date"] != b["date"] or a["id"] < b["id"]
    page2 = await _list(http, "reservation", {"limit": 1000, "page": 2, "sort": {"date": "desc"}})
    assert desc[-1]["date"] >= page2[0]["date"] and not {r["id"] for r in desc} & {r["id"] for r in page2}


async def test_the_fake_sorts_by_several_fields_and_by_an_objects_id(http: httpx.AsyncClient) -> None:
    body = {"limit": 100, "page": 1, "sort": {"group": "desc", "minutesBegin": "asc"}}
    schedule = await _list(http, "schedule", body)
    keys = [(t["group"]["id"], t["minutesBegin"]) for t in schedule]
    assert keys == sorted(keys, key=lambda k: (-k[0], k[1])) and len({k[0] for k in keys}) > 3


@pytest.mark.parametrize("sort", [{"nosuchfield": "desc"}, {"date": "sideways"}, {}, "date desc"])
async def test_the_fake_ignores_an_unknown_sort(http: httpx.AsyncClient, fake: FakeImpulse, sort: object) -> None:
    items = await _list(http, "reservation", {"limit": 1000, "page": 1, "sort": sort})
    assert [r["id"] for r in items] == sorted(fake.reservations)


async def test_the_fake_can_ignore_sort_like_some_crm(http: httpx.AsyncClient, history: FakeImpulse) -> None:
    history.ignore_sort = True
    items = await _list(http, "reservation", {"limit": 500, "page": 1, "sort": {"date": "desc"}})
    assert [r["id"] for r in items] == sorted(history.reservations)[:500]


async def test_a_phone_moved_to_another_client_is_duplicate_only_for_its_new_owner(
    crm: ImpulseClient, http: httpx.AsyncClient, fake: FakeImpulse
) -> None:
    olga = await crm.create_client("Ольга", "+79140001122")
    response = await http.post(
        f"{BASE_URL}/client/update", json={"id": olga, "phone": ["8 914 000-33-44"]}, headers=AUTH
    )
    assert response.status_code == 200
    assert await crm.create_client("Ольга", "+7 914 000 33 44") == olga  # her new phone: the CRM says duplicate
    other = await crm.create_client("Ирина", "+79140001122")  # her old phone is free again
    assert other not in (olga, None) and fake.clients[other]["name"] == "Ирина"
    del fake.clients[other]
    assert await crm.create_client("Вера", "89140001122") not in (olga, other)  # freed by the removal too


async def test_two_clients_with_one_phone_answer_the_lowest_id(crm: ImpulseClient, fake: FakeImpulse) -> None:
    fake.clients[9_500] = {"id": 9_500, "name": "Ирина", "phone": ["+79145550000"], "status": {"id": 1}}
    fake.clients[9_400] = {"id": 9_400, "name": "Ира", "phone": "8 (914) 555-00-00", "status": {"id": 1}}
    assert await crm.create_client("Ирина", "+79145550000") == 9_400


async def test_a_create_does_not_look_at_every_client(
    crm: ImpulseClient, fake: FakeImpulse, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(2_000):
        fake.clients[50_000 + n] = {"id": 50_000 + n, "name": "Клиент", "phone": f"+7901{n:07d}", "status": {"id": 1}}
    seen: list[object] = []
    normalize = fake_module.normalize_phone

    def counting(raw: object) -> str | None:
        seen.append(raw)
        return normalize(raw)

    monkeypatch.setattr(fake_module, "normalize_phone", counting)
    client_id = await crm.create_client("Ольга", "+79140001122")
    assert await crm.create_client("Ольга", "8 914 000 11 22") == client_id
    assert client_id == 52_000  # the next id after the highest
    assert len(seen) <= 6  # the request's phone and the new record's, not 2,220 stored clients
