"""Booking, second half: the explicit yes asks for the booking (an effect); the CRM's answer comes back
as an event with its outcome: receipt, already booked, rejected with alternatives, or a request for the
admin when the CRM is down or the outcome unknown (PRODUCT.md §5 rows for BOOKING_IN_PROGRESS, §9.3 L1).
Also the summary's timeouts and leaving a booking.

Nothing is lost: an unknown outcome or an unreachable CRM becomes a fallback request with everything the
administrator needs, and the client is told so — at L3 (the LLM down too, as it was when the client said
"да": `Book.llm_down` comes back on the outcome) with "Технические неполадки, администратор свяжется с
вами" (PRODUCT.md §9.3).
"""

from __future__ import annotations

from typing import Literal

from dancebot.conversation import render
from dancebot.conversation.actions.booking import offer
from dancebot.conversation.actions.common import (
    booking_fallback,
    fallback_now,
    llm_down,
    remember_client,
    technical_issues,
    yes_no_buttons,
)
from dancebot.conversation.effects import Book, BookingOutcome, Cancel, ScheduleReminders, VerifyBooking
from dancebot.conversation.session import Slots
from dancebot.conversation.slots import filter_occurrences
from dancebot.conversation.states import State
from dancebot.conversation.turn import Turn
from dancebot.crm.errors import CRMError
from dancebot.crm.models import Occurrence

__all__ = [
    "abort_booking",
    "already_booked",
    "book",
    "expire",
    "fallback",
    "receipt",
    "rejected",
    "still_relevant",
    "verifying",
]


def _booked(t: Turn) -> Occurrence:
    occ = t.slots.occurrence
    assert occ is not None, "a booking state always has its class"
    return occ


async def book(t: Turn) -> None:
    """The explicit yes: book the summarised class (the runner performs it; messages wait meanwhile)."""
    slots = t.slots
    assert slots.client_name and slots.client_phone
    t.do(Book(occurrence=_booked(t), name=slots.client_name, phone=slots.client_phone, llm_down=t.u.llm_down))


async def receipt(t: Turn) -> None:
    slots = t.slots
    occ = _booked(t)
    t.say(
        t.t(
            "receipt",
            klass=render.class_label(occ, t.kb, t.lang),
            when=render.when_label(occ, t.lang),
            where=render.branch_address(occ, t.kb),
            bring=t.t("bring_line", bring=t.kb.policies.what_to_bring) if t.kb.policies.what_to_bring else "",
        )
    )
    t.do(ScheduleReminders(occurrence=occ, name=slots.client_name or "", lang=t.lang, phone=slots.client_phone))
    remember_client(t, booked=True)
    old = slots.replaces
    if old is not None:  # a reschedule: the new class is booked, now the old one is released
        t.do(
            Cancel(
                reservation_id=old.reservation_id,
                occurrence_id=old.occurrence_id,
                phone=old.phone or "",
                line=old.line,
                key="rescheduled",
                llm_down=llm_down(t),
            )
        )
    t.session.slots = Slots()


async def already_booked(t: Turn) -> None:
    occ = _booked(t)
    label = f"{render.class_label(occ, t.kb, t.lang)}, {render.when_label(occ, t.lang)}"
    t.say(f"{t.t('already_booked')} {label}")
    remember_client(t)
    t.session.slots = Slots()


async def rejected(t: Turn) -> State:
    """The CRM said no (full, closed, gone): say why and offer other classes of the style."""
    reason = t.outcome.reason if isinstance(t.outcome, BookingOutcome) else None
    t.say(t.t({"full": "rejected_full", "closed": "rejected_closed"}.get(reason or "", "rejected_other")))
    slots = t.slots
    gone = slots.occurrence.occurrence_id if slots.occurrence else None
    slots.occurrence, slots.when = None, None
    try:
        occs = [o for o in await t.crm.occurrences(t.now) if o.occurrence_id != gone]
    except CRMError as exc:
        return fallback_now(t, type(exc).__name__)
    service = t.kb.service(slots.style) if slots.style else None
    base = filter_occurrences(occs, t.kb, style=slots.style)
    return offer(t, "choose_another", base, service.name if service else "")


async def verifying(t: Turn) -> None:
    """The CRM did not say whether it stored the booking (slow, or the turn was cut off): never a second
    create — the worker re-reads the CRM at growing intervals and sends the receipt or tells the admin."""
    slots = t.slots
    assert slots.client_name and slots.client_phone
    classes = slots.series or [_booked(t)]  # a series cut off mid-way: each class is verified
    for occ in classes:
        t.do(VerifyBooking(occurrence=occ, name=slots.client_name, phone=slots.client_phone, lang=t.lang))
    t.say(t.t("booking_checking"))
    remember_client(t)
    t.session.slots = Slots()


async def fallback(t: Turn) -> None:
    """The CRM could not be reached, nothing was created: the request is recorded for the admin."""
    outcome = t.outcome if isinstance(t.outcome, BookingOutcome) else BookingOutcome("unavailable")
    kind: Literal["booking", "verify"] = "verify" if outcome.status == "unknown" else "booking"
    request = booking_fallback(t, kind, outcome.reason or "unavailable")
    if llm_down(t) and kind == "booking":  # L3: nothing was created, and no LLM either
        technical_issues(t, request.reason, request.details)
    else:
        t.do(request)
        t.say(t.t("fallback_booking"))
    remember_client(t)
    t.session.slots = Slots()


async def abort_booking(t: Turn) -> None:
    t.say(t.t("aborted"))
    t.session.slots = Slots()


async def still_relevant(t: Turn) -> None:
    occ = _booked(t)
    line = f"{render.class_label(occ, t.kb, t.lang)}, {render.when_label(occ, t.lang)}"
    t.ask(t.t("still_relevant", summary_line=line), yes_no_buttons(t))


async def expire(t: Turn) -> None:
    key = "expired" if t.session.state == State.CONFIRM_BOOKING else "admin_later"
    t.say(t.t(key))
    t.session.slots = Slots()
