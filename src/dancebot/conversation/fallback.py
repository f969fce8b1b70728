"""Degradation L1 (PRODUCT.md §9.3): what the bot could not do goes to the admin, and nothing is lost.

`record_fallback` writes each request twice — a JSON item on the Redis `queue:fallback` list and the
durable `fallback_requests` row (status "verify" for a booking whose outcome is unknown, else "new") —
then alerts the admin chat. The admin chat is the studio's own, so the alert carries the FULL phone
(the admin calls the client back) and the `/reply` command; only logs mask phones.

Alerts go through `outbound.alerts` (one per cause per 10 minutes): during an outage the second and
later requests with the same cause are still recorded (queue item + row) but not announced one by one;
each alert says how many requests are waiting. The admin-chat wording lives here.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from dancebot.channels.handles import format_handle
from dancebot.crm.models import Occurrence
from dancebot.kb.schema import KnowledgeBase
from dancebot.logs import get_logger
from dancebot.outbound.alerts import alert_admin
from dancebot.runtime import Runtime
from dancebot.storage import keys

__all__ = ["FallbackKind", "booking_details", "fallback_alert_text", "record_fallback"]

log = get_logger(__name__)

FallbackKind = Literal["booking", "cancel", "verify", "l3"]

_TITLES: Final[dict[str, str]] = {
    "booking": "📝 Заявка на запись — запишите клиента вручную",
    "cancel": "❌ Заявка на отмену записи — отмените вручную",
    "verify": "❓ Проверьте запись в CRM: ответ на запрос не пришёл, запись могла сохраниться",
    "l3": "🆘 Клиенту нужна помощь: технические неполадки",
}
_LABELS: Final[dict[str, str]] = {
    "class": "Занятие",
    "when": "Когда",
    "series": "Занятия серии",
    "branch": "Филиал",
    "teacher": "Педагог",
    "style": "Направление",
    "request": "Запрос клиента",
}
_WEEKDAYS: Final = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
_CRM_DOWN = "CRM не отвечает"
_CRM_KEY = "CRM не принимает ключ API — проверьте IMPULSE_API_KEY"
_CRM_ODD = "CRM ответила в непонятном формате"
_REASONS: Final[dict[str, str]] = {  # `BookingResult.reason` values and CRM error names, in the admin's words
    "unavailable": _CRM_DOWN,
    "auth_error": _CRM_KEY,
    "protocol_error": _CRM_ODD,
    "unverified": "CRM не подтвердила запись",
    "not_attempted": "CRM не ответила на предыдущее занятие серии",
    "timeout": "запись не завершилась вовремя",
    "CRMUnavailable": _CRM_DOWN,
    "CRMAuthError": _CRM_KEY,
    "CRMProtocolError": _CRM_ODD,
    "CRMUnknownOutcome": "CRM не подтвердила операцию",
}


def booking_details(
    kb: KnowledgeBase, *, name: str | None, phone: str | None, occurrence: Occurrence
) -> dict[str, Any]:
    """The `details` of a booking/cancel/verify fallback: everything the admin needs to act by hand."""
    branch = kb.branch_by_crm_id(occurrence.branch_crm_id) if occurrence.branch_crm_id is not None else None
    start = occurrence.start
    return {
        "name": name,
        "phone": phone,
        "occurrence_id": occurrence.occurrence_id,
        "class": occurrence.group_name,
        "when": f"{_WEEKDAYS[start.weekday()]} {start:%d.%m.%Y %H:%M}",
        "branch": branch.name if branch else None,
        "teacher": occurrence.teacher_name or None,
    }


async def record_fallback(
    rt: Runtime,
    *,
    kind: FallbackKind,
    reason: str,
    channel: str,
    chat_id: int,
    trace_id: str | None,
    details: dict[str, Any],
) -> int:
    """Queue the request for the admin, keep its durable row, alert the admin; returns the queue length."""
    item = {
        "v": 1,
        "kind": kind,
        "reason": reason,
        "channel": channel,
        "chat_id": chat_id,
        "trace_id": trace_id,
        "details": details,
        "created_at": rt.now().isoformat(),
    }
    waiting = int(await rt.redis.lpush(keys.FALLBACK_QUEUE, json.dumps(item, ensure_ascii=False)))
    await rt.audit.fallback(
        trace_id=trace_id,
        channel=channel,
        chat_id=chat_id,
        kind=kind,
        reason=reason,
        payload=details,
        status="verify" if kind == "verify" else "new",
    )
    log.warning("fallback.recorded", kind=kind, reason=reason, channel=channel, chat_id=chat_id, waiting=waiting)
    text = fallback_alert_text(
        kind=kind, reason=reason, channel=channel, chat_id=chat_id, details=details, waiting=waiting
    )
    await alert_admin(rt, f"fallback:{kind}:{reason}", text, trace_id)
    return waiting


def fallback_alert_text(
    *, kind: str, reason: str, channel: str, chat_id: int, details: dict[str, Any], waiting: int
) -> str:
    """The admin's message: who, what, why, how to answer, and how many requests wait."""
    handle = format_handle(channel, chat_id)
    client = ", ".join(str(v) for v in (details.get("name"), details.get("phone")) if v) or "не назвался"
    lines = [_TITLES.get(kind, f"Заявка ({kind})"), f"Клиент: {client}"]
    lines += [f"{label}: {_plain(details[key])}" for key, label in _LABELS.items() if details.get(key)]
    shown = {"name", "phone", "occurrence_id", *_LABELS}
    lines += [
        f"{key}: {_plain(value)}" for key, value in details.items() if key not in shown and value not in (None, "")
    ]
    lines += [
        f"Причина: {_REASONS[reason]} ({reason})" if reason in _REASONS else f"Причина: {reason}",
        f"Канал: {channel}, чат {handle}",
        f"Ответить клиенту: /reply {handle} текст",
        f"Заявок в очереди: {waiting}. Новые заявки с той же причиной в ближайшие 10 минут попадут в очередь "
        "без отдельного сообщения.",
    ]
    return "\n".join(lines)


def _plain(value: Any) -> str:
    """A list (e.g. the classes of a series) one item per line; a dict as its values."""
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values() if v not in (None, ""))
    if isinstance(value, list | tuple):
        return "".join(f"\n  • {_plain(item)}" for item in value)
    return str(value)
