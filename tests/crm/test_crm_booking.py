"""Booking through the Redis-backed service against the fake CRM: exactly one reservation, whatever happens."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections import Counter
from typing import Any

import httpx
import pytest

from dancebot.crm.client import ImpulseClient, RateLimiter
from dancebot.crm.fake import FakeImpulse
from dancebot.crm.models import Occurrence
from dancebot.crm.service import BOOKINGS_AT_ONCE, CRMService, bookings_at_once
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.tables import booking_attempts
from tests.crm.conftest import API_KEY, BASE_URL, MARIA, AuditRows

WED_TODAY = "302:2026-12-02"  # High Heels, Wed 19:00 — later today
WED_NEXT = "302:2026-12-09"
MINI_FRI = "318:2026-12-04"  # Стретчинг: мини-группа, two places
SALSA_CLOSED = "313:2026-12-05"  # sticker «НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ»


async def _occ(service: CRMService, occurrence_id: str) -> Occurrence:
    occurrence = await service.occurrence(occurrence_id)
    assert occurrence is not None, occurrence_id
    return occurrence


async def _book(service: CRMService, occurrence: Occurrence, phone: str = MARIA, name: str = "Мария"):
    return await service.book(
        occurrence=occurrence, name=name, phone_e164=phone, channel="telegram", chat_id=555, trace_id="t-1"
    )


def _stored(fake: FakeImpulse, occurrence_id: str, client_id: int | None = None) -> int:
    schedule_id, day = occurrence_id.split(":")
    return len(
        fake.active_reservations(client_id=client_id, schedule_id=int(schedule_id), day=dt.date.fromisoformat(day))
    )


def _key(phone: str, occurrence_id: str) -> str:
    return keys.idempotency(hashlib.sha256(f"{phone}{occurrence_id}".encode()).hexdigest())


def _creates(fake: FakeImpulse) -> int:
    return sum(1 for r in fake.requests if (r.entity, r.action) == ("reservation", "update"))


class _Scripted(httpx.AsyncBaseTransport):
    """Forwards to the fake, but plays the given fate for each reservation create in turn:
    "lost" = stored, answer lost (read timeout); "dropped" = never arrived (read timeout); "ok" = normal.
    With `reads_fail_after_create`, every reservation list after the first create times out."""

    def __init__(self, fake: FakeImpulse, creates: list[str], *, reads_fail_after_create: bool = False) -> None:
        self._inner = httpx.ASGITransport(app=fake.app)
        self.fates = list(creates)
        self._reads_fail = reads_fail_after_create
        self._created = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/reservation/update"):
            self._created = True
            fate = self.fates.pop(0) if self.fates else "ok"
            if fate == "dropped":
                raise httpx.ReadTimeout("no answer", request=request)
            response = await self._inner.handle_async_request(request)
            if fate == "lost":
                raise httpx.ReadTimeout("answer lost", request=request)
            return response
        if self._reads_fail and self._created and path.endswith("/reservation/list"):
            raise httpx.ReadTimeout("no answer", request=request)
        return await self._inner.handle_async_request(request)


def _scripted_service(rt: Runtime, transport: _Scripted) -> CRMService:
    http = httpx.AsyncClient(transport=transport)
    return CRMService(rt, ImpulseClient(http, base_url=BASE_URL, api_key=API_KEY, timeout=0.3, max_rps=1000))


async def test_twenty_concurrent_requests_make_one_reservation(service: CRMService, fake: FakeImpulse) -> None:
    occurrence = await _occ(service, WED_TODAY)
    phone = "+79140001122"
    results = await asyncio.gather(*(_book(service, occurrence, phone, "Ольга Ли") for _ in range(20)))
    assert Counter(r.status for r in results) == {"booked": 1, "duplicate": 19}
    created = [c for c in fake.clients.values() if c["phone"] == [phone]]
    assert len(created) == 1 and created[0]["name"] == "Ольга" and created[0]["lastName"] == "Ли"
    assert _stored(fake, WED_TODAY, created[0]["id"]) == 1


async def test_create_that_times_out_after_storing_is_booked_once(service: CRMService, fake: FakeImpulse) -> None:
    occurrence = await _occ(service, WED_NEXT)
    fake.hang_seconds = 1.0  # the client gives up after 0.3 s
    fake.store_then_hang(1)
    result = await _book(service, occurrence)
    assert (result.status, result.client_id) == ("booked", 1001)
    assert _stored(fake, WED_NEXT, 1001) == 1
    assert _creates(fake) == 1


async def test_lost_answer_and_failed_reread_is_unknown_and_keeps_the_key(
    crm_rt: Runtime, fake: FakeImpulse, audit_rows: AuditRows
) -> None:
    service = _scripted_service(crm_rt, _Scripted(fake, ["lost"], reads_fail_after_create=True))
    result = await _book(service, await _occ(service, WED_NEXT))
    assert (result.status, result.reason) == ("unknown", "unverified")
    assert _stored(fake, WED_NEXT, 1001) == 1 and _creates(fake) == 1  # never re-POSTed blindly
    assert await crm_rt.redis.exists(_key(MARIA, WED_NEXT))
    assert (await _book(service, await _occ(service, WED_NEXT))).status == "duplicate"
    rows = await audit_rows(booking_attempts)
    assert [r["outcome"] for r in rows] == ["unknown", "duplicate"]
    assert "re-read failed" in rows[0]["detail"]


async def test_a_create_with_no_answer_is_never_sent_again(crm_rt: Runtime, fake: FakeImpulse) -> None:
    # The request may still land seconds later (a slow CRM is not a down CRM): one create, then "unknown".
    transport = _Scripted(fake, ["dropped", "dropped"])
    service = _scripted_service(crm_rt, transport)
    occurrence = await _occ(service, WED_NEXT)
    result = await _book(service, occurrence)
    assert (result.status, result.reason) == ("unknown", "unverified")
    assert transport.fates == ["dropped"]  # only the first scripted create was sent
    assert 600 < await crm_rt.redis.ttl(_key(MARIA, WED_NEXT)) <= 1800  # held through the verification
    again = await _book(service, occurrence)  # the client says "да" once more
    assert (again.status, again.reason) == ("duplicate", "recent") and transport.fates == ["dropped"]


async def test_verification_reads_find_a_booking_that_landed_late(crm_rt: Runtime, fake: FakeImpulse) -> None:
    service = _scripted_service(crm_rt, _Scripted(fake, ["dropped"]))
    occurrence = await _occ(service, WED_NEXT)
    assert (await _book(service, occurrence)).status == "unknown"
    kw = {"occurrence": occurrence, "phone_e164": MARIA, "channel": "telegram", "chat_id": 555, "trace_id": "t-1"}
    assert await service.verify_booking(**kw, attempt=1) is False
    client = await service.find_client(MARIA)
    assert client is not None
    template = next(t for t in await service.cache.templates() if t.id == occurrence.schedule_id)
    await service._client.create_booking(client.id, template, occurrence.date)  # the slow request lands now
    assert await service.verify_booking(**kw, attempt=2) is True
    assert _stored(fake, WED_NEXT, 1001) == 1


async def test_older_booking_found_in_the_crm_is_a_duplicate(service: CRMService, fake: FakeImpulse) -> None:
    occurrence = await _occ(service, WED_NEXT)
    assert (await _book(service, occurrence)).status == "booked"
    await service._rt.redis.delete(_key(MARIA, WED_NEXT))  # the 10-minute key expired
    result = await _book(service, occurrence)
    assert (result.status, result.reason) == ("duplicate", "already_booked")
    assert _stored(fake, WED_NEXT, 1001) == 1


async def test_a_booking_made_by_the_admin_is_a_duplicate(service: CRMService, fake: FakeImpulse) -> None:
    result = await _book(service, await _occ(service, "301:2026-12-07"))  # Maria's seeded reservation 5001
    assert (result.status, result.reason) == ("duplicate", "already_booked")
    assert _creates(fake) == 0


async def test_next_weeks_class_is_not_a_duplicate(service: CRMService, fake: FakeImpulse) -> None:
    assert (await _book(service, await _occ(service, WED_TODAY))).status == "booked"
    assert (await _book(service, await _occ(service, WED_NEXT))).status == "booked"
    assert _stored(fake, WED_TODAY, 1001) == _stored(fake, WED_NEXT, 1001) == 1


async def test_full_group_is_rejected_and_the_key_released(service: CRMService, fake: FakeImpulse) -> None:
    mini = await _occ(service, MINI_FRI)
    for phone in ("+79140000001", "+79140000002"):
        assert (await _book(service, mini, phone, "Гость")).status == "booked"
    late = "+79140000003"
    result = await _book(service, mini, late, "Вика")
    assert (result.status, result.reason) == ("rejected", "full")
    assert not await service._rt.redis.exists(_key(late, MINI_FRI))
    assert _stored(fake, MINI_FRI) == 2
    assert (await _book(service, await _occ(service, WED_NEXT), late, "Вика")).status == "booked"


async def test_closed_group_is_rejected(service: CRMService, fake: FakeImpulse) -> None:
    closed = await _occ(service, SALSA_CLOSED)
    assert (closed.status, closed.is_bookable) == ("closed", False)
    result = await _book(service, closed)
    assert (result.status, result.reason) == ("rejected", "closed")
    assert not await service._rt.redis.exists(_key(MARIA, SALSA_CLOSED))
    assert _stored(fake, SALSA_CLOSED) == 0


@pytest.mark.parametrize(("mode", "reason"), [("500", "unavailable"), ("html", "auth_error"), ("hang", "unavailable")])
async def test_crm_down_is_unavailable_and_stores_nothing(
    service: CRMService, fake: FakeImpulse, mode: str, reason: str
) -> None:
    occurrence = await _occ(service, WED_NEXT)
    assert await service.find_client(MARIA) is not None  # caches warm: the failure hits the CRM reads
    fake.hang_seconds = 1.0
    fake.set_mode(mode)  # type: ignore[arg-type]
    result = await _book(service, occurrence)
    assert (result.status, result.reason, result.client_id) == ("unavailable", reason, 1001)
    assert _creates(fake) == 0 and _stored(fake, WED_NEXT, 1001) == 0
    assert not await service._rt.redis.exists(_key(MARIA, WED_NEXT))


async def test_every_attempt_is_a_booking_attempts_row(
    service: CRMService, fake: FakeImpulse, audit_rows: AuditRows
) -> None:
    wed = await _occ(service, WED_NEXT)
    await _book(service, wed)
    await _book(service, wed)
    await _book(service, await _occ(service, SALSA_CLOSED))
    fake.set_mode("500")
    await _book(service, await _occ(service, MINI_FRI))
    rows = await audit_rows(booking_attempts)
    assert [(r["outcome"], r["occurrence_id"]) for r in rows] == [
        ("booked", WED_NEXT),
        ("duplicate", WED_NEXT),
        ("rejected", SALSA_CLOSED),
        ("unavailable", MINI_FRI),
    ]
    first = rows[0]
    assert first["fingerprint"] == hashlib.sha256(f"{MARIA}{WED_NEXT}".encode()).hexdigest()
    assert (first["client_id"], first["phone_masked"], first["channel"], first["chat_id"], first["trace_id"]) == (
        1001,
        "+7999****567",
        "telegram",
        555,
        "t-1",
    )
    assert all(MARIA not in (r["detail"] or "") for r in rows)


async def test_a_series_books_each_class_once(service: CRMService, fake: FakeImpulse) -> None:
    classes = [await _occ(service, oid) for oid in (WED_TODAY, MINI_FRI, WED_NEXT)]
    results = await service.book_series(
        occurrences=classes, name="Мария", phone_e164=MARIA, channel="telegram", chat_id=555, trace_id="t-2"
    )
    assert [r.status for r in results] == ["booked"] * 3
    assert [_stored(fake, oid, 1001) for oid in (WED_TODAY, MINI_FRI, WED_NEXT)] == [1, 1, 1]


async def test_a_series_stops_sending_after_the_crm_fails(
    service: CRMService, fake: FakeImpulse, audit_rows: AuditRows
) -> None:
    classes = [await _occ(service, oid) for oid in (WED_TODAY, MINI_FRI, WED_NEXT)]
    await service.find_client(MARIA)
    fake.set_mode("500")
    sent_before = len(fake.requests)
    results = await service.book_series(
        occurrences=classes, name="Мария", phone_e164=MARIA, channel="telegram", chat_id=555, trace_id="t-3"
    )
    assert [(r.status, r.reason) for r in results] == [
        ("unavailable", "unavailable"),
        ("unavailable", "not_attempted"),
        ("unavailable", "not_attempted"),
    ]
    assert len(fake.requests) - sent_before == 1  # only the first class's reservation read
    assert [r["outcome"] for r in await audit_rows(booking_attempts)] == ["unavailable"] * 3


async def test_a_series_longer_than_the_kb_allows_is_refused(service: CRMService) -> None:
    occurrence = await _occ(service, WED_NEXT)
    with pytest.raises(ValueError):
        await service.book_series(
            occurrences=[occurrence] * 6, name="Мария", phone_e164=MARIA, channel="telegram", chat_id=5, trace_id="t"
        )


async def test_a_class_that_has_started_is_not_booked(service: CRMService, fake: FakeImpulse) -> None:
    occurrence = await _occ(service, WED_TODAY)
    service._rt.clock = lambda: occurrence.start + dt.timedelta(minutes=20)  # the offer went stale
    result = await _book(service, occurrence)
    assert (result.status, result.reason) == ("rejected", "past")
    assert _creates(fake) == 0 and _stored(fake, WED_TODAY, 1001) == 0


async def test_a_booking_cut_short_by_the_callers_timeout_leaves_a_row_and_the_key(
    service: CRMService, fake: FakeImpulse, audit_rows: AuditRows
) -> None:
    occurrence = await _occ(service, WED_NEXT)
    assert await service.find_client(MARIA) is not None  # caches warm: the create starts at once
    fake.hang_seconds = 1.0
    fake.store_then_hang(1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.25):  # the conversation engine gives up before the client's 0.3 s
            await _book(service, occurrence)
    [row] = await audit_rows(booking_attempts)
    assert (row["outcome"], row["client_id"]) == ("unknown", 1001)
    assert "aborted: CancelledError" in row["detail"]
    assert await service._rt.redis.exists(_key(MARIA, WED_NEXT))
    assert (await _book(service, occurrence)).status == "duplicate"
    assert _stored(fake, WED_NEXT, 1001) == 1


@pytest.mark.parametrize(("max_rps", "at_once"), [(3.0, BOOKINGS_AT_ONCE), (9.0, 6)])
async def test_a_burst_of_bookings_reaches_the_crm_a_few_at_a_time(
    crm_rt: Runtime, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, max_rps: float, at_once: int
) -> None:
    """Impulse allows 3 requests a second and a booking is several in a row: ten clients saying "да" at
    once must not each wait on all the others' requests — they go in turn, two at a time, and the first
    finish first. A CRM configured faster (IMPULSE_MAX_RPS) takes more at once."""
    fast_clock = RateLimiter(1000)  # the configured limit decides how many at once; the test need not wait
    client = ImpulseClient(http, base_url=BASE_URL, api_key=API_KEY, timeout=0.3, max_rps=max_rps, limiter=fast_clock)
    service = CRMService(crm_rt, client)
    occurrence = await _occ(service, WED_NEXT)
    inner = service._flow.book
    active, most, finished = [0], [0], []

    async def slow_book(**kwargs: Any) -> Any:
        active[0] += 1
        most[0] = max(most[0], active[0])
        try:
            await asyncio.sleep(0.05)  # the CRM's pace
            return await inner(**kwargs)
        finally:
            active[0] -= 1
            finished.append(kwargs["phone_e164"])

    monkeypatch.setattr(service._flow, "book", slow_book)
    phones = [f"+7914000{n:04d}" for n in range(10)]
    results = await asyncio.gather(*(_book(service, occurrence, p, f"Клиент {n}") for n, p in enumerate(phones)))
    assert most[0] == at_once == bookings_at_once(max_rps)
    assert [r.status for r in results] == ["booked"] * 10
    assert set(finished[:at_once]) == set(phones[:at_once])  # in the order they came


def _reads(fake: FakeImpulse) -> int:
    return sum(1 for r in fake.requests if (r.entity, r.action) == ("reservation", "list"))


async def test_a_client_new_to_the_crm_is_booked_without_reading_reservations(
    service: CRMService, fake: FakeImpulse
) -> None:
    """A client the booking itself created holds nothing: the reservation pages (the whole studio's, from
    that day on) are not read. A known client's are, every time."""
    occurrence = await _occ(service, WED_NEXT)
    assert (await _book(service, occurrence, "+79145550077", "Вика")).status == "booked"
    assert _reads(fake) == 0
    assert (await _book(service, occurrence)).status == "booked"  # Maria, a client already
    assert _reads(fake) == 1


async def test_a_client_the_phone_index_missed_still_has_her_reservations_checked(
    service: CRMService, fake: FakeImpulse
) -> None:
    """The admin adds a client and books her while the bot's phone index is a minute old: the create
    answers "duplicate phone", so she is not new and her reservation is found — no second one."""
    occurrence = await _occ(service, WED_NEXT)
    await service.find_client(MARIA)  # the index is built; it is not rebuilt within the minute
    fake.clients[9100] = {"id": 9100, "name": "Ирина", "phone": ["+79145550088"], "status": {"id": 1}}
    template = next(t for t in await service.cache.templates() if t.id == occurrence.schedule_id)
    await service._client.create_booking(9100, template, occurrence.date)  # booked by the admin
    result = await _book(service, occurrence, "+79145550088", "Ирина")
    assert (result.status, result.reason) == ("duplicate", "already_booked")
    assert _stored(fake, WED_NEXT, 9100) == 1
