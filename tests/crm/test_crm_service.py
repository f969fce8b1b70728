"""The client's own bookings, cancellation, sticker rules and the audit trail of CRM calls."""

from __future__ import annotations

import datetime as dt
import json

import structlog

from dancebot.crm.booking import booking_fingerprint
from dancebot.crm.fake import FakeImpulse
from dancebot.crm.fake_seed import reservation_record
from dancebot.crm.service import CRMService, sticker_classifier
from dancebot.kb.schema import StickerRules
from dancebot.logs import bind_trace
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.tables import tool_calls
from tests.crm.conftest import MARIA, NOW, VLAD, AuditRows


def _add_reservation(fake: FakeImpulse, rid: int, client_id: int, template_id: int, day: dt.date) -> None:
    fake.reservations[rid] = reservation_record(rid, fake.clients[client_id], fake.templates[template_id], day)


async def test_my_bookings_are_mine_upcoming_and_not_cancelled(service: CRMService, fake: FakeImpulse) -> None:
    _add_reservation(fake, 9001, 1001, 302, dt.date(2026, 11, 25))  # last week, never archived
    _add_reservation(fake, 9002, 1001, 317, dt.date(2026, 12, 2))  # today 10:00, already started
    _add_reservation(fake, 9003, 1002, 318, dt.date(2026, 12, 4))  # the near-miss phone's booking
    mini = await service.occurrence("318:2026-12-04")
    assert mini is not None
    await service.book(occurrence=mini, name="Мария", phone_e164=MARIA, channel="telegram", chat_id=1, trace_id="t")

    booked = await service.client_bookings("8 (999) 123-45-67")

    assert [(b.reservation_id, b.occurrence_id) for b in booked] == [
        (booked[0].reservation_id, "318:2026-12-04"),
        (5001, "301:2026-12-07"),  # 5002 is archived
    ]
    monday = booked[1]
    assert monday.start == dt.datetime(2026, 12, 7, 19, 0, tzinfo=VLAD)
    assert monday.end == dt.datetime(2026, 12, 7, 20, 0, tzinfo=VLAD)
    assert (monday.group_name, monday.style_name, monday.teacher_name) == (
        "High Heels начинающие",
        "High Heels",
        "Анастасия Ковалёва",
    )
    assert (monday.branch_crm_id, monday.hall_name) == (1, "Большой зал")
    assert [b.reservation_id for b in await service.client_bookings("+79991234568")] == [9003]


async def test_unknown_phone_has_no_bookings(service: CRMService) -> None:
    assert await service.client_bookings("+79140000000") == []


async def test_a_booking_on_a_template_gone_from_the_schedule_is_still_listed(
    service: CRMService, fake: FakeImpulse
) -> None:
    _add_reservation(fake, 9004, 1001, 322, dt.date(2026, 12, 6))  # «ВЫХОДНОЙ» template, booked anyway
    del fake.templates[301]  # 5001's template was removed in the CRM
    booked = {b.reservation_id: b for b in await service.client_bookings(MARIA, NOW)}
    assert booked[9004].group_name == "Детские танцы 8-10 лет" and booked[9004].branch_crm_id == 2
    assert booked[5001].group_name == "High Heels начинающие"
    assert booked[5001].start == dt.datetime(2026, 12, 7, 19, 0, tzinfo=VLAD) and booked[5001].end is None


async def test_cancel_archives_the_reservation(service: CRMService, fake: FakeImpulse) -> None:
    await service.cancel(5001, phone_e164=MARIA, occurrence_id="301:2026-12-07")
    assert fake.reservations[5001]["archived"] is True
    assert await service.client_bookings(MARIA) == []


def test_sticker_rules_match_case_insensitively_anywhere_in_the_name() -> None:
    classify = sticker_classifier(StickerRules())
    assert classify("НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ") == "closed"
    assert classify("Группа закрыта") == "closed"
    assert classify("выходной") == "cancelled"
    assert classify("МОЖНО ПРИСОЕДИНИТЬСЯ") == "open"
    assert classify("НОВАЯ ХОРЕОГРАФИЯ") == "open"  # informational
    assert classify(None) == "open"
    custom = sticker_classifier(StickerRules(closed=["мест нет"], cancelled=["отмена"], open=[]))
    assert custom("МЕСТ НЕТ до января") == "closed"
    assert custom("Отмена: педагог болеет") == "cancelled"
    assert custom("ВЫХОДНОЙ") == "cancelled"  # the studio's lists extend the defaults (SPEC §8)


async def test_every_crm_call_is_a_tool_call_row_with_the_phone_masked(
    service: CRMService, audit_rows: AuditRows
) -> None:
    occurrence = await service.occurrence("302:2026-12-09")
    assert occurrence is not None
    bind_trace("trace-42")
    try:
        result = await service.book(
            occurrence=occurrence, name="Ольга", phone_e164="+79140001122", channel="telegram", chat_id=7, trace_id="x"
        )
    finally:
        structlog.contextvars.clear_contextvars()
    assert result.status == "booked"
    await service.cache.refreshed()
    rows = await audit_rows(tool_calls)
    assert [r["function"] for r in rows] == [
        "get_schedule",
        "list_clients",
        "create_client",
        "create_booking",  # a client created just now holds no reservations: none are read
        "get_schedule",  # refreshed after the booking, in the background
    ]
    assert [r["trace_id"] for r in rows][:4] == [None, "trace-42", "trace-42", "trace-42"]
    assert all(r["status"] == "ok" and r["latency_ms"] >= 0 for r in rows)
    assert rows[2]["arguments"] == {"name": "Ольга", "phone": "+7914****122"}
    assert rows[3]["arguments"]["occurrence_id"] == "302:2026-12-09"
    assert "9140001122" not in json.dumps([r["arguments"] for r in rows])


async def test_cancel_releases_the_idempotency_key_so_the_class_can_be_booked_again(
    service: CRMService, rt: Runtime
) -> None:
    key = keys.idempotency(booking_fingerprint(MARIA, "301:2026-12-07"))
    await rt.redis.set(key, "booked", ex=600)  # booked a minute ago
    await service.cancel(5001, phone_e164=MARIA, occurrence_id="301:2026-12-07")
    assert not await rt.redis.exists(key)
