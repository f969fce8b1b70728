"""The real Impulse client against the fake server: every quirk of PRODUCT.md §7.1 the bot depends on."""

from __future__ import annotations

import datetime as dt
import json
import random

import httpx
import pytest

from dancebot.crm.client import CallRecord, ImpulseClient
from dancebot.crm.errors import (
    CRMAuthError,
    CRMProtocolError,
    CRMRejected,
    CRMUnavailable,
    CRMUnknownOutcome,
)
from dancebot.crm.fake import FakeImpulse
from dancebot.crm.models import ScheduleTemplate

BASE_URL = "http://impulse.test/api/public"
MON = dt.date(2026, 12, 7)  # the fake's today is Wed 2026-12-02


async def _templates(crm: ImpulseClient) -> dict[int, ScheduleTemplate]:
    return {t.id: t for t in await crm.get_schedule()}


def _client(http: httpx.AsyncClient, **kwargs: object) -> ImpulseClient:
    options: dict = {"base_url": BASE_URL, "api_key": "test-key", "timeout": 0.3, "max_rps": 1000}
    return ImpulseClient(http, **{**options, **kwargs})


def _requests(fake: FakeImpulse, entity: str, action: str) -> int:
    return sum(1 for r in fake.requests if (r.entity, r.action) == (entity, action))


class _Flaky(httpx.AsyncBaseTransport):
    """Raises the given transport errors first, then forwards to the fake."""

    def __init__(self, fake: FakeImpulse, errors: list[type[httpx.TransportError]]) -> None:
        self._inner = httpx.ASGITransport(app=fake.app)
        self._errors = list(errors)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._errors:
            raise self._errors.pop(0)("network trouble", request=request)
        return await self._inner.handle_async_request(request)


# ---- reading --------------------------------------------------------------------------------------


async def test_schedule_has_every_template_and_tolerates_a_missing_branch(crm: ImpulseClient) -> None:
    templates = await _templates(crm)
    assert len(templates) == 28
    assert templates[306].branch is None and templates[306].hall is not None
    assert templates[301].branch is not None and templates[301].branch.id == 1
    assert templates[313].sticker is not None and templates[313].sticker.name == "НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ"
    assert templates[328].regular is False


async def test_wrong_key_gets_the_login_page_and_is_an_auth_error(http: httpx.AsyncClient) -> None:
    with pytest.raises(CRMAuthError):
        await _client(http, api_key="wrong").get_schedule()


async def test_base_url_without_public_is_an_auth_error_not_data(http: httpx.AsyncClient) -> None:
    with pytest.raises(CRMAuthError):
        await _client(http, base_url="http://impulse.test/api").get_groups()


async def test_an_html_answer_with_the_right_key_is_never_data(crm: ImpulseClient, fake: FakeImpulse) -> None:
    fake.fail_next(1, "html")
    with pytest.raises(CRMAuthError):
        await crm.get_teachers()
    assert len(await crm.get_teachers()) == 5


async def test_lists_are_read_across_every_page(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    clients = await _client(http, page_size=50).list_clients()
    assert len(clients) == len(fake.clients) == 220
    assert len({c.id for c in clients}) == 220
    assert _requests(fake, "client", "list") == 5


# ---- clients -------------------------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["8 (999) 123-45-67", "+79991234567", "89991234567", "79991234567"])
async def test_find_client_matches_the_normalised_phone(crm: ImpulseClient, phone: str) -> None:
    client = await crm.find_client(phone)
    assert client is not None
    assert (client.id, client.full_name) == (1001, "Мария Смирнова")


async def test_find_client_does_not_confuse_a_near_miss(crm: ImpulseClient) -> None:
    client = await crm.find_client("+79991234568")
    assert client is not None and client.id == 1002
    assert await crm.find_client("+79990000000") is None
    assert await crm.find_client("12-34") is None


async def test_find_client_matches_the_second_phone_of_a_list(crm: ImpulseClient) -> None:
    client = await crm.find_client("+79241112233")
    assert client is not None and client.id == 1003


async def test_find_client_never_returns_someone_with_another_phone(crm: ImpulseClient) -> None:
    rng = random.Random(7)
    known = {p: c.id for c in await crm.list_clients() for p in c.phones}
    for _ in range(30):
        phone = f"+79{rng.choice(['14', '24', '99'])}{rng.randrange(10**7):07d}"
        found = await crm.find_client(phone)
        assert (found.id if found else None) == known.get(phone)
        if found is not None:
            assert phone in found.phones
    for phone, client_id in list(known.items())[::20]:
        found = await crm.find_client(phone)
        assert found is not None and phone in found.phones and found.id == client_id


async def test_create_client_returns_the_new_id(crm: ImpulseClient, fake: FakeImpulse) -> None:
    client_id = await crm.create_client("Алина", "8 (914) 555-66-77", last_name="Пак")
    stored = fake.clients[client_id]
    assert (stored["name"], stored["lastName"], stored["phone"]) == ("Алина", "Пак", ["+79145556677"])
    found = await crm.find_client("+79145556677")
    assert found is not None and found.id == client_id


async def test_create_client_with_an_existing_phone_returns_that_client(crm: ImpulseClient, fake: FakeImpulse) -> None:
    before = len(fake.clients)
    assert await crm.create_client("Маша", "+7 999 123-45-67") == 1001
    assert len(fake.clients) == before


# ---- bookings ------------------------------------------------------------------------------------


async def test_booking_is_found_by_listing_since_the_crm_returns_no_id(crm: ImpulseClient, fake: FakeImpulse) -> None:
    templates = await _templates(crm)
    client_id = await crm.create_client("Ольга", "+79140001122")
    await crm.create_booking(client_id, templates[301], MON)

    body = fake.requests[-1].body
    assert body["schedule"] == {"id": 301} and body["client"] == {"id": client_id}
    assert body["date"] == int(dt.datetime(2026, 12, 7, tzinfo=dt.UTC).timestamp())
    assert body["time"][0]["minutes"] == 19 * 60 and body["time"][0]["date"] == body["date"]
    assert body["time"][0]["schedule"] == fake.templates[301]  # the template object as the CRM sent it
    assert body["time"][0]["group"] == fake.templates[301]["group"]
    [booking] = await crm.list_bookings(client_id)
    assert booking.occurrence_id == "301:2026-12-07"
    assert booking.start is not None and booking.start.hour == 19


async def test_list_bookings_shows_only_the_clients_active_bookings(crm: ImpulseClient, fake: FakeImpulse) -> None:
    assert len(fake.reservations) > 50  # other clients' and an archived one, all in the same list
    bookings = await crm.list_bookings(1001)
    assert [b.id for b in bookings] == [5001]
    assert all(b.client_id == 1001 for b in bookings)


async def test_cancel_archives_the_booking(crm: ImpulseClient, fake: FakeImpulse) -> None:
    await crm.cancel_booking(5001)
    assert fake.reservations[5001]["archived"] is True
    assert await crm.list_bookings(1001) == []


async def test_cancelling_an_unknown_booking_is_rejected(crm: ImpulseClient) -> None:
    with pytest.raises(CRMRejected) as err:
        await crm.cancel_booking(999999)
    assert err.value.reason == "not_found"


@pytest.mark.parametrize(
    ("schedule_id", "day", "reason"),
    [
        (313, dt.date(2026, 12, 5), "closed"),  # «НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ»
        (322, dt.date(2026, 12, 6), "closed"),  # «ВЫХОДНОЙ»
        (301, dt.date(2026, 11, 30), "past"),
        (301, dt.date(2026, 12, 8), "not_found"),  # a Monday class on a Tuesday
    ],
)
async def test_bookings_the_crm_refuses_say_why(
    crm: ImpulseClient, fake: FakeImpulse, schedule_id: int, day: dt.date, reason: str
) -> None:
    templates = await _templates(crm)
    with pytest.raises(CRMRejected) as err:
        await crm.create_booking(1002, templates[schedule_id], day)
    assert err.value.reason == reason
    assert fake.active_reservations(client_id=1002) == []


async def test_a_full_group_is_rejected(crm: ImpulseClient) -> None:
    mini = (await _templates(crm))[318]
    friday = dt.date(2026, 12, 4)
    assert mini.group.place_count == 2
    await crm.create_booking(1001, mini, friday)
    await crm.create_booking(1002, mini, friday)
    with pytest.raises(CRMRejected) as err:
        await crm.create_booking(1003, mini, friday)
    assert err.value.reason == "full"
    assert [b.occurrence_id for b in await crm.list_bookings(1003)] == []


async def test_an_unknown_client_is_rejected(crm: ImpulseClient) -> None:
    with pytest.raises(CRMRejected) as err:
        await crm.create_booking(424242, (await _templates(crm))[301], MON)
    assert err.value.reason == "not_found"


async def test_a_duplicate_is_already_booked_when_the_crm_checks(crm: ImpulseClient, fake: FakeImpulse) -> None:
    fake.reject_duplicates = True
    with pytest.raises(CRMRejected) as err:
        await crm.create_booking(1001, (await _templates(crm))[301], MON)  # 5001 is that class
    assert err.value.reason == "already_booked"


async def test_local_midnight_convention_changes_the_date_sent(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    crm = _client(http, date_convention="local_midnight")
    with pytest.raises(CRMRejected) as err:  # this fake tenant only accepts UTC midnights
        await crm.create_booking(1002, (await _templates(crm))[301], MON)
    assert err.value.reason == "invalid"
    assert fake.requests[-1].body["date"] == int(dt.datetime(2026, 12, 6, 14, tzinfo=dt.UTC).timestamp())


# ---- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["500", "timeout"])
async def test_server_errors_on_reads_are_unavailable(crm: ImpulseClient, fake: FakeImpulse, mode: str) -> None:
    fake.hang_seconds = 0
    fake.fail_next(1, mode)  # type: ignore[arg-type]
    with pytest.raises(CRMUnavailable):
        await crm.get_schedule()


async def test_a_hanging_read_times_out_once_without_retry(crm: ImpulseClient, fake: FakeImpulse) -> None:
    fake.hang_seconds = 5
    fake.fail_next(1, "hang")
    with pytest.raises(CRMUnavailable):
        await crm.get_groups()
    assert _requests(fake, "group", "list") == 1


async def test_a_persistent_outage_keeps_failing_until_it_ends(crm: ImpulseClient, fake: FakeImpulse) -> None:
    fake.set_mode("500")
    for _ in range(3):
        with pytest.raises(CRMUnavailable):
            await crm.list_bookings(1001)
    fake.set_mode(None)
    assert len(await crm.list_bookings(1001)) == 1


async def test_a_create_stored_then_hanging_is_an_unknown_outcome_never_reposted(
    crm: ImpulseClient, fake: FakeImpulse
) -> None:
    template = (await _templates(crm))[301]
    fake.hang_seconds = 5
    fake.store_then_hang()
    with pytest.raises(CRMUnknownOutcome):
        await crm.create_booking(1002, template, MON)
    assert _requests(fake, "reservation", "update") == 1
    assert len(fake.active_reservations(client_id=1002, schedule_id=301, day=MON)) == 1
    assert [b.occurrence_id for b in await crm.list_bookings(1002)] == ["301:2026-12-07"]


async def test_a_create_answered_with_5xx_is_an_unknown_outcome(crm: ImpulseClient, fake: FakeImpulse) -> None:
    template = (await _templates(crm))[301]
    fake.fail_next(1, "500")
    with pytest.raises(CRMUnknownOutcome):
        await crm.create_booking(1002, template, MON)
    assert _requests(fake, "reservation", "update") == 1


async def test_reads_retry_once_on_a_connection_error(fake: FakeImpulse) -> None:
    async with httpx.AsyncClient(transport=_Flaky(fake, [httpx.ConnectError])) as http:
        assert len(await _client(http).get_teachers()) == 5
    errors = [httpx.ConnectError, httpx.RemoteProtocolError]
    async with httpx.AsyncClient(transport=_Flaky(fake, errors)) as http:
        with pytest.raises(CRMUnavailable):
            await _client(http).get_teachers()


async def test_a_create_that_could_not_connect_is_unavailable_and_not_retried(fake: FakeImpulse) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as http:
        template = (await _templates(_client(http)))[301]
    async with httpx.AsyncClient(transport=_Flaky(fake, [httpx.ConnectError])) as http:
        with pytest.raises(CRMUnavailable) as err:
            await _client(http).create_booking(1002, template, MON)
    assert not isinstance(err.value, CRMUnknownOutcome)
    async with httpx.AsyncClient(transport=_Flaky(fake, [httpx.ReadError])) as http:
        with pytest.raises(CRMUnknownOutcome):
            await _client(http).create_booking(1002, template, MON)
    assert fake.active_reservations(client_id=1002) == []


async def test_health_check_tells_auth_from_unavailable(
    crm: ImpulseClient, http: httpx.AsyncClient, fake: FakeImpulse
) -> None:
    ok = await crm.health_check()
    assert ok and ok.status == "ok"
    assert (await _client(http, api_key="nope").health_check()).status == "auth_error"
    fake.set_mode("500")
    down = await crm.health_check()
    assert not down and down.status == "unavailable"


# ---- audit ---------------------------------------------------------------------------------------


async def test_each_call_is_reported_once_with_the_phone_masked(
    crm: ImpulseClient, fake: FakeImpulse, calls: list[CallRecord]
) -> None:
    await crm.find_client("+79991234567")
    fake.fail_next(1, "500")
    with pytest.raises(CRMUnavailable):
        await crm.get_groups()
    assert [(c.function, c.status) for c in calls] == [("find_client", "ok"), ("get_groups", "CRMUnavailable")]
    assert calls[0].args == {"phone": "+7999****567"}
    assert "1234567" not in json.dumps(calls[0].args)
    assert all(c.latency_ms >= 0 for c in calls)


async def test_a_failing_audit_hook_does_not_fail_the_booking(http: httpx.AsyncClient, fake: FakeImpulse) -> None:
    async def broken(_: CallRecord) -> None:
        raise RuntimeError("postgres is down")

    crm = _client(http, on_call=broken)
    await crm.create_booking(1002, (await _templates(crm))[301], MON)
    assert len(fake.active_reservations(client_id=1002)) == 1


# ---- wire details ----------------------------------------------------------------------------------


async def test_auth_header_is_the_raw_key_not_base64() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={"total": 0, "items": []})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        await _client(http, api_key="k3y:with-colon").get_groups()
    assert seen == ["Basic k3y:with-colon"]


@pytest.mark.parametrize("payload", [[1, 2], {"items": "x", "total": 1}, {"data": []}])
async def test_an_unexpected_json_shape_is_a_protocol_error(payload: object) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=payload))) as http:
        with pytest.raises(CRMProtocolError):
            await _client(http).get_schedule()


async def test_a_malformed_list_item_is_skipped_not_fatal() -> None:
    good = {"id": 1, "regular": True, "day": 2, "minutesBegin": 600, "minutesEnd": 660, "group": {"id": 5}}
    bad = {"id": 2, "day": 9, "minutesBegin": 600}
    page = {"total": 2, "items": [good, bad]}
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=page))) as http:
        assert [t.id for t in await _client(http).get_schedule()] == [1]


@pytest.mark.parametrize(
    ("status", "content", "error"),
    [
        (401, b"Unauthorized", CRMAuthError),
        (403, b"<html>Forbidden</html>", CRMAuthError),
        (502, b"<html>Bad Gateway</html>", CRMUnavailable),
        (429, b"<html>Too Many Requests</html>", CRMUnavailable),
        (404, b"<html>Not found</html>", CRMRejected),
        (422, b'{"errors": ["date"]}', CRMRejected),
        (200, b"", CRMAuthError),
    ],
)
async def test_status_codes_map_to_typed_errors(status: int, content: bytes, error: type[Exception]) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(status, content=content))
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(error):
            await _client(http).get_groups()
