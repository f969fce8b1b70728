"""Serial booking (PRODUCT.md §5.4): one style, up to `booking.max_serial` dates, one summary, one yes;
each class booked with its own idempotency key (a `BookSeries` effect); the receipt says which succeeded
and which did not."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from dancebot.conversation import render
from dancebot.conversation.actions.booking import absorb, ask_group, offer
from dancebot.conversation.actions.common import (
    ask_slot,
    fallback_now,
    llm_down,
    name_buttons,
    remember_client,
    technical_issues,
    yes_no_buttons,
)
from dancebot.conversation.effects import (
    BookSeries,
    RecordFallback,
    ScheduleReminders,
    SeriesOutcome,
    VerifyBooking,
)
from dancebot.conversation.session import Slots
from dancebot.conversation.slots import filter_occurrences
from dancebot.conversation.states import State
from dancebot.conversation.turn import Turn
from dancebot.crm.errors import CRMError
from dancebot.crm.models import Occurrence
from dancebot.understanding.phone import display_phone

__all__ = ["book_series", "collect_series", "series_receipt"]

_REASON_KEYS = {  # BookingResult.reason → catalogue text
    "full": "series_reason_full",
    "closed": "series_reason_closed",
    "past": "series_reason_past",
    "recent": "series_reason_booked",
    "already_booked": "series_reason_booked",
}


async def collect_series(t: Turn) -> State:
    """ "На все среды", "на 3 занятия": the style, the dates, the contact, then one summary."""
    return await _collect(t)


async def book_series(t: Turn) -> State:
    """The yes to the series summary: book them all (an effect), or finish collecting if something is missing."""
    slots = t.slots
    if not slots.series or not slots.client_name or not slots.client_phone:
        return await _collect(t)
    t.do(
        BookSeries(
            occurrences=tuple(slots.series), name=slots.client_name, phone=slots.client_phone, llm_down=t.u.llm_down
        )
    )
    return State.BOOKING_IN_PROGRESS  # messages wait meanwhile; a turn that dies here is verified


async def series_receipt(t: Turn) -> None:
    """Every class of the series has its result: one receipt, reminders, a request for what failed."""
    assert isinstance(t.outcome, SeriesOutcome)
    slots = t.slots
    name, phone = slots.client_name or "", slots.client_phone or ""
    results = t.outcome.results
    if results and all(r.status == "unavailable" for r in results) and llm_down(t):  # L3: the CRM took none
        series = [
            {"occurrence_id": r.occurrence.occurrence_id, "when": render.when_label(r.occurrence, "ru")}
            for r in results
        ]
        klass = render.class_label(results[0].occurrence, t.kb, "ru")
        technical_issues(t, "series_unavailable", {"name": name, "phone": phone, "class": klass, "series": series})
        remember_client(t)
        t.session.slots = Slots()
        return
    lines: list[str] = []
    failed: list[dict[str, Any]] = []
    for r in results:
        line = render.when_label(r.occurrence, t.lang)
        if r.status == "booked":
            lines.append(f"• {line}")
            t.do(ScheduleReminders(occurrence=r.occurrence, name=name, lang=t.lang, phone=phone or None))
        elif r.status == "duplicate":
            lines.append(f"• {line} ({t.t('series_reason_booked')})")
        elif r.status == "unknown":  # the CRM may still store it: verified later, never sent again
            lines.append(f"• {line} ({t.t('series_reason_checking')})")
            t.do(VerifyBooking(occurrence=r.occurrence, name=name, phone=phone, lang=t.lang))
        else:
            reason = t.t(_REASON_KEYS.get(r.reason or "", "series_reason_admin"))
            lines.append(t.t("series_failed_line", line=line, reason=reason))
            if r.status == "unavailable":
                failed.append({"occurrence_id": r.occurrence.occurrence_id, "when": line, "status": r.status})
    first = results[0].occurrence if results else (slots.series[0] if slots.series else None)
    assert first is not None
    if failed:
        details = {"name": name, "phone": phone, "class": render.class_label(first, t.kb, "ru"), "series": failed}
        t.do(RecordFallback(kind="booking", reason="series_unavailable", details=details))
    bring = t.t("bring_line", bring=t.kb.policies.what_to_bring) if t.kb.policies.what_to_bring else ""
    klass, where, booked = render.class_label(first, t.kb, t.lang), render.branch_address(first, t.kb), "\n".join(lines)
    receipt = t.t("series_receipt", klass=klass, lines=booked, where=where, bring=bring)
    if len(receipt) > render.LIMITS.get(t.msg.channel, 300):  # a long series on WhatsApp: what to bring apart
        t.preface.append(t.t("series_receipt", klass=klass, lines=booked, where=where, bring=""))
        t.say(bring.strip())
    else:
        t.say(receipt)
    remember_client(t, booked=any(r.status == "booked" for r in results))
    t.session.slots = Slots()


async def _collect(t: Turn) -> State:
    slots = t.slots
    notes = absorb(t)
    if t.u.class_count:
        slots.count = t.u.class_count
    try:
        occs = await t.crm.occurrences(t.now)
    except CRMError as exc:
        return fallback_now(t, type(exc).__name__)
    if not slots.style and ask_group(t, occs, notes) is not None:
        return State.SERIAL_BOOKING
    assert slots.style is not None
    when = slots.when.constraint() if slots.when else None
    if slots.count and when is not None and when.dates and len(when.dates) == 1 and when.weekdays is None:
        first = min(when.dates)  # "на ближайшие три четверга": that weekday, from the nearest one on
        weekday = frozenset({first.weekday()})
        when = dataclasses.replace(when, dates=None, date_range=(t.now.date(), date.max), weekdays=weekday)
    if when is None and not slots.count:
        t.ask(t.t("series_ask_count"))
        t.session.pending.slot = "datetime"
        return State.SERIAL_BOOKING
    hits = filter_occurrences(occs, t.kb, style=slots.style, teacher=slots.teacher, branch=slots.branch, when=when)
    if not hits:
        service = t.kb.service(slots.style)
        offer(t, "no_match_time", filter_occurrences(occs, t.kb, style=slots.style), service.name if service else "")
        return State.SERIAL_BOOKING
    hits = _one_group_one_per_day(hits)
    limit = t.kb.booking.max_serial
    wanted = slots.count or len(hits)
    if wanted > limit:
        t.say(t.t("series_too_many", max=limit))
    elif slots.count and len(hits) < slots.count:  # "на 4 четверга" with two in the booking window
        t.say(t.t("series_fewer", found=len(hits), wanted=slots.count, days=t.kb.booking.lookahead_days))
    chosen = hits[: min(wanted, limit)]
    slots.series = chosen
    if not slots.client_name:
        if t.profile.name and not slots.relation:
            slots.client_name = t.profile.name
        else:
            ask_slot(t, "client_name", t.t("ask_name"), name_buttons(t))
            return State.SERIAL_BOOKING
    if not slots.client_phone:
        if t.profile.phone:
            slots.client_phone = t.profile.phone
        else:
            ask_slot(t, "client_phone", t.t("ask_phone"), None, request_contact=True)
            return State.SERIAL_BOOKING
    return _series_summary(t, chosen)


def _series_summary(t: Turn, chosen: list[Occurrence]) -> State:
    slots = t.slots
    lines = render.series_dates(chosen, t.lang, compact=t.msg.channel == "whatsapp")
    text = t.t(
        "series_summary",
        who=slots.client_name,
        phone=display_phone(slots.client_phone or ""),
        klass=f"{render.class_label(chosen[0], t.kb, t.lang)}, {render.branch_address(chosen[0], t.kb)}",
        lines=lines,
    )
    t.session.pending.slot = "confirmation"
    t.ask(text, yes_no_buttons(t))
    return State.SERIAL_BOOKING


def _one_group_one_per_day(hits: list[Occurrence]) -> list[Occurrence]:
    """A series is one group in one place (its summary shows one address), one class a day."""
    if not hits:
        return hits
    first = hits[0]
    kept: list[Occurrence] = []
    for occ in hits:
        if occ.group_id == first.group_id and occ.branch_crm_id == first.branch_crm_id:
            if all(k.date != occ.date for k in kept):
                kept.append(occ)
    return kept
