"""The Redis cache in front of the CRM: fewer CRM calls, and never an expired schedule served as fact."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from dancebot.crm.errors import CRMAuthError, CRMUnavailable
from dancebot.crm.fake import FakeImpulse
from dancebot.crm.service import CRMService
from dancebot.storage import keys
from tests.crm.conftest import MARIA


def _count(fake: FakeImpulse, entity: str, action: str = "list") -> int:
    return sum(1 for r in fake.requests if (r.entity, r.action) == (entity, action))


async def test_second_read_of_the_schedule_asks_the_crm_nothing(service: CRMService, fake: FakeImpulse) -> None:
    first = await service.occurrences()
    assert await service.occurrences() == first
    assert _count(fake, "schedule") == 1


async def test_groups_and_teachers_are_cached_too(service: CRMService, fake: FakeImpulse) -> None:
    for _ in range(2):
        assert len(await service.cache.groups()) == 14
        assert {t.id for t in await service.cache.teachers()} == {101, 102, 103, 104, 105}
    assert (_count(fake, "group"), _count(fake, "teacher")) == (1, 1)


async def test_a_fresh_cache_is_served_while_the_crm_is_down(service: CRMService, fake: FakeImpulse) -> None:
    first = await service.occurrences()
    fake.set_mode("500")
    assert await service.occurrences() == first


@pytest.mark.parametrize(("mode", "error"), [("500", CRMUnavailable), ("html", CRMAuthError)])
async def test_an_expired_cache_with_the_crm_down_raises(
    service: CRMService, fake: FakeImpulse, mode: str, error: type[Exception]
) -> None:
    from dancebot.crm.cache import LOCAL_FOR

    await service.occurrences()
    await service._rt.redis.pexpire(keys.cache("schedule"), int(LOCAL_FOR * 1000) + 500)  # nearly over…
    await asyncio.sleep(LOCAL_FOR + 0.05)
    await service.occurrences()  # read with 0.45 s left: the process keeps it no longer than that
    await asyncio.sleep(0.5)  # …and now the 15 minutes are over
    fake.set_mode(mode)  # type: ignore[arg-type]
    with pytest.raises(error):
        await service.occurrences()


async def test_a_process_sees_another_processs_schedule_within_a_second(service: CRMService, fake: FakeImpulse) -> None:
    """What a process keeps of a cached key is used for a second at most: a schedule another process stored
    (a refresh after its booking) is seen after that; one this process stored, at once."""
    from dancebot.crm.cache import LOCAL_FOR, CRMCache

    first = await service.cache.templates()
    other = CRMCache(service._rt.redis, service.cache._client)
    changed = [t.model_copy(update={"id": t.id + 1000}) if i == 0 else t for i, t in enumerate(first)]
    await other._store(keys.cache("schedule"), 900, changed)
    assert [t.id for t in await other.templates()] == [t.id for t in changed]  # its own: at once
    await asyncio.sleep(LOCAL_FOR + 0.1)
    assert [t.id for t in await service.cache.templates()] == [t.id for t in changed]
    assert _count(fake, "schedule") == 1  # nothing asked of the CRM: both read Redis


async def test_a_booking_refreshes_the_schedule(service: CRMService, fake: FakeImpulse) -> None:
    occurrence = await service.occurrence("302:2026-12-09")
    assert occurrence is not None
    result = await service.book(
        occurrence=occurrence, name="Мария", phone_e164=MARIA, channel="telegram", chat_id=1, trace_id="t"
    )
    assert result.status == "booked"
    await service.cache.refreshed()
    assert _count(fake, "schedule") == 2  # read again right after the booking…
    await service.occurrences()
    assert _count(fake, "schedule") == 2  # …so the next reader finds it fresh


async def test_a_cancellation_refreshes_the_schedule(service: CRMService, fake: FakeImpulse) -> None:
    await service.occurrences()
    await service.cancel(5001, phone_e164="+79991234567", occurrence_id="301:2026-12-07")
    await service.cache.refreshed()
    await service.occurrences()
    assert _count(fake, "schedule") == 2


async def test_while_the_schedule_is_refreshed_readers_keep_the_cached_one(
    service: CRMService, fake: FakeImpulse
) -> None:
    """A client asking about the schedule right after someone else's booking is not queued behind the CRM:
    she gets the schedule cached minutes ago (within its TTL) while the refresh runs."""
    before = await service.occurrences()
    fake.hang_seconds = 0.2  # a slow CRM, under the client's 0.3 s timeout
    fake.set_mode("hang")
    service.cache.refresh_schedule()
    started = asyncio.get_running_loop().time()
    assert await service.occurrences() == before
    assert asyncio.get_running_loop().time() - started < 0.1
    await service.cache.refreshed()
    assert _count(fake, "schedule") == 2


async def test_refreshes_asked_for_during_one_coalesce(service: CRMService, fake: FakeImpulse) -> None:
    await service.occurrences()
    fake.hang_seconds = 0.05
    fake.set_mode("hang")
    for _ in range(10):  # ten bookings finishing while the first refresh is on its way
        service.cache.refresh_schedule()
        await asyncio.sleep(0.005)
    await service.cache.refreshed()
    assert _count(fake, "schedule") <= 3  # the first read, the refresh, and one more for those asked meanwhile


async def test_a_failed_refresh_keeps_the_cached_schedule(service: CRMService, fake: FakeImpulse) -> None:
    before = await service.occurrences()
    fake.set_mode("500")
    service.cache.refresh_schedule()
    await service.cache.refreshed()
    assert await service.occurrences() == before  # still within its 15 minutes


async def test_schedule_window_holidays_and_stickers(service: CRMService) -> None:
    occurrences = await service.occurrences()
    ids = {o.occurrence_id for o in occurrences}
    assert "302:2026-12-02" in ids  # today 19:00, still ahead
    assert "317:2026-12-02" not in ids  # today 10:00, started
    assert min(o.date for o in occurrences) == dt.date(2026, 12, 2)
    assert max(o.date for o in occurrences) == dt.date(2026, 12, 15)  # 14 days, today included
    assert not [o for o in occurrences if o.date == dt.date(2026, 12, 12)]  # «Отчётный концерт»
    assert not [o for o in occurrences if o.schedule_id == 322]  # «ВЫХОДНОЙ»
    salsa = next(o for o in occurrences if o.schedule_id == 313)
    assert (salsa.status, salsa.is_bookable) == ("closed", False)
    assert all(o.start.tzinfo is not None and o.start.utcoffset() == dt.timedelta(hours=10) for o in occurrences)
    assert "328:2026-12-06" in ids  # the one-off masterclass


async def test_one_phone_written_any_way_finds_the_same_client(service: CRMService, fake: FakeImpulse) -> None:
    for phone in ("8 (999) 123-45-67", "+79991234567", "89991234567", "+7 999 123-45-67"):
        client = await service.find_client(phone)
        assert client is not None and client.id == 1001
    near_miss = await service.find_client("+79991234568")
    assert near_miss is not None and near_miss.id == 1002
    second_phone = await service.find_client("+79241112233")  # client 1003 has two phones
    assert second_phone is not None and second_phone.id == 1003
    assert _count(fake, "client") == 1


async def test_unknown_phones_rebuild_the_index_at_most_once_a_minute(service: CRMService, fake: FakeImpulse) -> None:
    assert await service.find_client("+79140000000") is None
    assert await service.find_client("+79140000001") is None
    assert _count(fake, "client") == 1
    fake.clients[9001] = {"id": 9001, "name": "Ирина", "phone": "8 914 000-00-01", "status": {"id": 1}}
    await service._rt.redis.delete(keys.cache("client_index:refresh"))  # a minute later
    found = await service.find_client("+79140000001")
    assert found is not None and found.id == 9001
    assert _count(fake, "client") == 2


async def test_a_created_client_is_found_without_asking_the_crm(service: CRMService, fake: FakeImpulse) -> None:
    client_id, new = await service.ensure_client("Ксения", "+79145550011")
    assert new and fake.clients[client_id]["name"] == "Ксения"
    lists = _count(fake, "client")
    found = await service.find_client("8 914 555 00 11")
    assert found is not None and found.id == client_id
    assert await service.ensure_client("Ксения", "+79145550011") == (client_id, False)
    assert _count(fake, "client") == lists
    assert _count(fake, "client", "update") == 1


async def test_a_client_added_in_the_crm_meanwhile_is_not_duplicated(service: CRMService, fake: FakeImpulse) -> None:
    await service.find_client(MARIA)  # index built; the next minute no rebuild
    fake.clients[9002] = {"id": 9002, "name": "Ирина", "phone": "+79145550022", "status": {"id": 1}}
    assert await service.ensure_client("Ирина", "+79145550022") == (9002, False)  # not new: holds are read
    assert len([c for c in fake.clients.values() if "9145550022" in str(c.get("phone"))]) == 1


async def test_health_is_cached_for_a_few_seconds(service: CRMService, fake: FakeImpulse) -> None:
    assert await service.health() == "ok"
    fake.set_mode("500")
    assert await service.health() == "ok"
    assert _count(fake, "branch") == 1
    await service._rt.redis.delete(keys.cache("crm_health"))
    assert await service.health() == "down"
    await service._rt.redis.delete(keys.cache("crm_health"))
    fake.set_mode("html")
    assert await service.health() == "auth_error"
    assert 0 < await service._rt.redis.ttl(keys.cache("crm_health")) <= 10


async def test_concurrent_lookups_build_the_index_once(service: CRMService, fake: FakeImpulse) -> None:
    phones = ["+79140000000", MARIA, "+79140000000", "+79991234568"] * 3
    found = await asyncio.gather(*(service.find_client(p) for p in phones))
    assert [c.id if c else None for c in found[:4]] == [None, 1001, None, 1002]
    assert _count(fake, "client") == 1


async def test_the_schedule_read_again_after_a_booking_shows_what_the_crm_changed(
    service: CRMService, fake: FakeImpulse
) -> None:
    """Refreshed after each booking (SPEC §9): a sticker the admin set meanwhile is seen once the refresh
    is in; a refresh that brings nothing new keeps the classes already computed (the same objects,
    nothing expanded again)."""
    before = await service.occurrences()
    service.cache.refresh_schedule()  # a booking was made
    await service.cache.refreshed()
    unchanged = await service.occurrences()
    assert _count(fake, "schedule") == 2
    assert [a is b for a, b in zip(before, unchanged, strict=True)] == [True] * len(before)

    fake.collections["schedule"][302]["sticker"] = {"id": 3, "name": "НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ"}
    assert await service.occurrences() == unchanged  # cached for 15 minutes…
    service.cache.refresh_schedule()  # …until the next booking
    await service.cache.refreshed()
    after = {o.occurrence_id: o for o in await service.occurrences()}
    assert _count(fake, "schedule") == 3
    was = {o.occurrence_id: o for o in before}["302:2026-12-09"]
    assert after["302:2026-12-09"].status == "closed" != was.status


async def test_a_read_answered_after_this_process_dropped_the_schedule_is_not_kept(
    service: CRMService, fake: FakeImpulse
) -> None:
    """A read whose answer (the schedule) arrives after this process dropped the key must not keep it for
    the next second: with the CRM down, no schedule is served as fact."""
    from typing import Any

    from dancebot.crm.cache import LOCAL_FOR

    cache = service.cache
    await cache.templates()
    await asyncio.sleep(LOCAL_FOR + 0.05)  # what the process kept has lapsed: the next read asks Redis
    answered, release = asyncio.Event(), asyncio.Event()
    real = cache._redis

    class LateAnswers:  # Redis answers the read at once; the answer reaches the reader only later
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def pipeline(self, **kw: Any) -> Any:
            pipe = real.pipeline(**kw)
            execute = pipe.execute

            async def late() -> Any:
                result = await execute()
                answered.set()
                await release.wait()
                return result

            pipe.execute = late
            return pipe

    cache._redis = LateAnswers()  # type: ignore[assignment]
    reading = asyncio.create_task(cache.templates())
    await answered.wait()  # the schedule has been read…
    cache._redis = real
    await cache.invalidate_schedule()  # …then this process drops it
    fake.set_mode("500")
    release.set()
    with pytest.raises(CRMUnavailable):
        await reading
    with pytest.raises(CRMUnavailable):
        await cache.templates()
