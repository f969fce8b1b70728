"""Degradation L1: requests the CRM could not take reach the admin and are never lost."""

from __future__ import annotations

import json

from dancebot.conversation.fallback import booking_details, record_fallback
from dancebot.crm.service import CRMService
from dancebot.outbound.alerts import alert_admin
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.tables import fallback_requests
from tests.conftest import ADMIN_CHAT_ID
from tests.crm.conftest import MARIA, AuditRows


async def _details(service: CRMService, rt: Runtime) -> dict[str, object]:
    occurrence = await service.occurrence("302:2026-12-09")
    assert occurrence is not None
    return booking_details(rt.kb, name="Мария Смирнова", phone=MARIA, occurrence=occurrence)


async def _alerts(rt: Runtime) -> list[OutboundJob]:
    return [OutboundJob.loads(raw) for raw in reversed(await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1))]


async def _fallback(rt: Runtime, details: dict[str, object], *, kind: str = "booking", channel: str = "telegram"):
    return await record_fallback(
        rt,
        kind=kind,  # type: ignore[arg-type]
        reason="unavailable",
        channel=channel,
        chat_id=555,
        trace_id="t-9",
        details=details,
    )


async def test_a_fallback_is_queued_and_kept_in_postgres(
    service: CRMService, crm_rt: Runtime, audit_rows: AuditRows
) -> None:
    details = await _details(service, crm_rt)
    assert await _fallback(crm_rt, details) == 1
    item = json.loads(await crm_rt.redis.lindex(keys.FALLBACK_QUEUE, 0))
    assert (item["kind"], item["reason"], item["chat_id"], item["trace_id"]) == ("booking", "unavailable", 555, "t-9")
    assert item["details"]["phone"] == MARIA and item["details"]["occurrence_id"] == "302:2026-12-09"
    [row] = await audit_rows(fallback_requests)
    assert (row["kind"], row["status"], row["channel"], row["chat_id"]) == ("booking", "new", "telegram", 555)
    assert row["payload"]["class"] == "High Heels начинающие"


async def test_an_unknown_outcome_is_marked_verify(service: CRMService, crm_rt: Runtime, audit_rows: AuditRows) -> None:
    await _fallback(crm_rt, await _details(service, crm_rt), kind="verify")
    [row] = await audit_rows(fallback_requests)
    assert (row["kind"], row["status"]) == ("verify", "verify")


async def test_the_admin_gets_everything_needed_to_call_back(service: CRMService, crm_rt: Runtime) -> None:
    await _fallback(crm_rt, await _details(service, crm_rt))
    [alert] = await _alerts(crm_rt)
    assert (alert.chat_id, alert.purpose, alert.trace_id) == (ADMIN_CHAT_ID, "alert", "t-9")
    for expected in (
        "Мария Смирнова, +79991234567",  # the full phone: the admin chat is the studio's own
        "High Heels начинающие",
        "ср 09.12.2026 19:00",
        "Филиал: Центр",
        "Анастасия Ковалёва",
        "CRM не отвечает (unavailable)",
        "/reply 555 ",
        "Заявок в очереди: 1",
    ):
        assert expected in alert.text


async def test_three_fallbacks_with_one_cause_make_one_alert(
    service: CRMService, crm_rt: Runtime, audit_rows: AuditRows
) -> None:
    details = await _details(service, crm_rt)
    for _ in range(3):
        await _fallback(crm_rt, details)
    assert len(await audit_rows(fallback_requests)) == 3
    assert await crm_rt.redis.llen(keys.FALLBACK_QUEUE) == 3
    assert len(await _alerts(crm_rt)) == 1
    await _fallback(crm_rt, details, kind="cancel")  # another cause is announced
    await crm_rt.redis.delete(keys.alert_sent("fallback:booking:unavailable"))  # ten minutes later
    await _fallback(crm_rt, details)
    alerts = await _alerts(crm_rt)
    assert len(alerts) == 3
    assert "отмен" in alerts[1].text and "Заявок в очереди: 4" in alerts[1].text
    assert "Заявок в очереди: 5" in alerts[2].text


async def test_a_whatsapp_client_is_answered_through_its_handle(service: CRMService, crm_rt: Runtime) -> None:
    await _fallback(crm_rt, await _details(service, crm_rt), channel="whatsapp")
    [alert] = await _alerts(crm_rt)
    assert "/reply wa:555 " in alert.text


async def test_without_an_admin_chat_the_request_is_still_recorded(
    service: CRMService, crm_rt: Runtime, audit_rows: AuditRows
) -> None:
    crm_rt.settings = crm_rt.settings.model_copy(update={"admin_chat_id": None})
    await _fallback(crm_rt, await _details(service, crm_rt))
    assert await _alerts(crm_rt) == []
    assert len(await audit_rows(fallback_requests)) == 1
    assert await alert_admin(crm_rt, "dlq", "DLQ > 10", None) is False


async def test_a_failed_series_lists_each_class_for_the_admin(crm_rt: Runtime) -> None:
    series = [{"when": "ср 09.12 19:00", "status": "unavailable"}, {"when": "ср 16.12 19:00", "status": "unknown"}]
    await _fallback(crm_rt, {"name": "Мария", "phone": MARIA, "series": series})
    [alert] = await _alerts(crm_rt)
    assert "Занятия серии: \n  • ср 09.12 19:00, unavailable\n  • ср 16.12 19:00, unknown" in alert.text
