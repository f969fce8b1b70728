"""Degradation L1 (PRODUCT.md §9.3): what the bot could not do goes to the admin, and nothing is lost.

`record_fallback` writes each request twice — a JSON item on the Redis `queue:fallback` list and the
durable `fallback_requests` row (status "verify" for a booking whose outcome is unknown, else "new") —
then alerts the admin chat. The admin chat is the studio's own, so the alert carries the FULL phone
(the admin calls the client back) and the `/reply` command; only logs mask phones.

Alerts go through `outbound.alerts` (one per cause per 10 minutes): during an outage the second and
later requests with the same cause are still recorded (queue item + row) but not announced one by one;
each alert says how many requests are waiting and what to do. The admin-chat wording lives here.

The queue is the administrator's work list: `/requests` shows it numbered (`open_requests`), `/done N`
takes one off (`resolve`) and leaves a note on `queue:fallback:resolved`, which the worker turns into the
row's status "done" (`apply_resolutions`) — the app never writes PostgreSQL itself (PRODUCT.md §12.3).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from sqlalchemy import and_, select, update

from dancebot.channels.handles import format_handle
from dancebot.crm.models import Occurrence
from dancebot.kb.schema import KnowledgeBase
from dancebot.logs import get_logger
from dancebot.outbound.alerts import alert_admin
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.tables import fallback_requests

__all__ = [
    "FallbackKind",
    "OpenRequest",
    "apply_resolutions",
    "booking_details",
    "fallback_alert_text",
    "open_requests",
    "record_fallback",
    "request_line",
    "resolve",
]

log = get_logger(__name__)

FallbackKind = Literal["booking", "cancel", "verify", "l3", "question"]

_TITLES: Final[dict[str, str]] = {
    "booking": "📝 Заявка на запись — запишите клиента вручную",
    "cancel": "❌ Заявка на отмену записи — отмените вручную",
    "verify": "❓ Проверьте запись в CRM: ответ на запрос не пришёл, запись могла сохраниться",
    "l3": "🆘 Клиенту нужна помощь: технические неполадки",
    "question": "💬 Вопрос клиента без ответа: CRM не отвечала",
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
_TODO: Final[dict[str, str]] = {
    "booking": "запишите клиента в CRM и подтвердите ему через /reply",
    "cancel": "отмените запись в CRM и подтвердите клиенту через /reply",
    "verify": "найдите запись клиента в CRM; если её нет — запишите и подтвердите через /reply",
    "l3": "свяжитесь с клиентом по телефону или через /reply",
    "question": "ответьте клиенту через /reply",
}
_SHORT: Final[dict[str, str]] = {
    "booking": "запись", "cancel": "отмена", "verify": "проверить запись", "l3": "помощь", "question": "вопрос",
}  # fmt: skip
_WEEKDAYS: Final = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
_OPEN: Final = ("new", "verify")
_RESOLUTION_PATIENCE: Final = 3600.0  # a note whose row never arrives is dropped after this (logged)
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
        f"Что сделать: {_TODO.get(kind, 'свяжитесь с клиентом')}, затем /requests и /done N.",
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


# ---- the administrator's work list ----------------------------------------------------------------


@dataclass(frozen=True)
class OpenRequest:
    """One request waiting on `queue:fallback`, as recorded (`raw` is the exact item, for its removal)."""

    raw: str
    kind: str
    reason: str
    channel: str
    chat_id: int
    trace_id: str | None
    details: dict[str, Any]
    created_at: str

    @classmethod
    def parse(cls, raw: bytes | str) -> OpenRequest | None:
        try:
            raw = raw.decode() if isinstance(raw, bytes) else raw
            item = json.loads(raw)
            return cls(
                raw=raw,
                kind=str(item["kind"]),
                reason=str(item["reason"]),
                channel=str(item["channel"]),
                chat_id=int(item["chat_id"]),
                trace_id=item.get("trace_id"),
                details=dict(item.get("details") or {}),
                created_at=str(item.get("created_at") or ""),
            )
        except (ValueError, KeyError, TypeError):  # UnicodeDecodeError is a ValueError
            return None


async def open_requests(rt: Runtime) -> list[OpenRequest]:
    """The requests waiting for the administrator, oldest first (unreadable items are logged and skipped)."""
    raw_items = cast("list[bytes]", await rt.redis.lrange(keys.FALLBACK_QUEUE, 0, -1))
    found = []
    for raw in reversed(raw_items):  # LPUSH: the oldest is at the right end
        request = OpenRequest.parse(raw)
        if request is None:
            log.error("fallback.unreadable", item=str(raw[:200]))
            continue
        found.append(request)
    return found


async def resolve(rt: Runtime, request: OpenRequest) -> bool:
    """Take a request off the work list (False when it was no longer there: done already) and leave a
    note for the worker to mark its PostgreSQL row done."""
    if not await rt.redis.lrem(keys.FALLBACK_QUEUE, 1, request.raw):
        return False
    note = {
        "trace_id": request.trace_id,
        "chat_id": request.chat_id,
        "kind": request.kind,
        "reason": request.reason,
        "resolved_at": time.time(),
    }
    await rt.redis.rpush(keys.FALLBACK_RESOLVED, json.dumps(note, ensure_ascii=False))
    log.info("fallback.resolved", kind=request.kind, chat_id=request.chat_id)
    return True


async def apply_resolutions(rt: Runtime, *, batch: int = 100) -> int:
    """Worker chore: each note of `/done` sets its `fallback_requests` row to "done" (the oldest open row
    of that chat, trace, kind and reason). A note whose row is not written yet waits for a later round;
    PostgreSQL down → every note waits. Returns how many rows were updated."""
    notes = cast("list[bytes]", await rt.redis.lrange(keys.FALLBACK_RESOLVED, 0, batch - 1))
    updated = 0
    for item in notes:
        raw = item.decode(errors="replace")
        try:
            note = json.loads(raw)
            at = float(note["resolved_at"])
            table = fallback_requests
            match = and_(
                table.c.chat_id == int(note["chat_id"]),
                table.c.kind == str(note["kind"]),
                table.c.reason == str(note["reason"]),
                table.c.trace_id.is_not_distinct_from(note.get("trace_id")),
                table.c.status.in_(_OPEN),
            )
        except (ValueError, KeyError, TypeError):
            log.error("fallback.bad_resolution", note=raw[:200])
            await rt.redis.lrem(keys.FALLBACK_RESOLVED, 1, raw)
            continue
        oldest = select(table.c.id).where(match).order_by(table.c.id).limit(1).scalar_subquery()
        done = (
            update(table)
            .where(table.c.id == oldest)
            .values(status="done", resolved_at=dt.datetime.fromtimestamp(at, dt.UTC))
        )
        try:
            async with rt.db.begin() as conn:
                rows = (await conn.execute(done)).rowcount
        except Exception as exc:  # PostgreSQL away: every note waits for a later round
            log.warning("fallback.resolutions_waiting", error=type(exc).__name__, notes=len(notes))
            return updated
        if rows or time.time() - at > _RESOLUTION_PATIENCE:
            if not rows:
                log.warning("fallback.resolution_without_row", chat_id=note["chat_id"], kind=note["kind"])
            await rt.redis.lrem(keys.FALLBACK_RESOLVED, 1, raw)
            updated += rows
    return updated


def request_line(n: int, request: OpenRequest) -> str:
    """ "2. 02.12 15:04 · запись · Анна, +79991234567 · High Heels, ср 09.12.2026 19:00 · CRM не отвечает · 12345" """
    d = request.details
    client = ", ".join(str(v) for v in (d.get("name"), d.get("phone")) if v) or "не назвался"
    what = ", ".join(str(v) for v in (d.get("class") or d.get("style"), d.get("when")) if v)
    if not what and d.get("series"):
        what = f"серия из {len(d['series'])} занятий"
    cause = _REASONS.get(request.reason, request.reason)
    try:
        when = dt.datetime.fromisoformat(request.created_at).strftime("%d.%m %H:%M")
    except ValueError:
        when = "—"
    if not what and request.kind == "question":
        what = str(d.get("request") or "")
    parts = [when, _SHORT.get(request.kind, request.kind), client, what or "занятие не выбрано", cause]
    return f"{n}. " + " · ".join(parts) + f" · {format_handle(request.channel, request.chat_id)}"
