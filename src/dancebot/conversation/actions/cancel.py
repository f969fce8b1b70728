"""Cancel, "мои записи" and reschedule (PRODUCT.md §5.3): only the client's own future reservations, a
choice, an explicit confirmation (with the late-cancel warning from KB policies), then the cancel as an
effect whose outcome comes back as CANCEL_DONE / CANCEL_FAILED.

Steps live in `session.pending.cancel`: phone → select → confirm. A reschedule books the new class first
(the booking flow) and releases the old one with the new receipt, so a client never loses a place.

The CRM down: the admin gets the question (L1/L2) — or, at L3 (the LLM down too), "Технические неполадки,
администратор свяжется с вами" and one `l3` request (PRODUCT.md §9.3). A client who insists after such a
miss, or after "записей не нашла", is handed to the admin (PRODUCT.md §11.2).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from dancebot.conversation.actions.booking import collect_slots
from dancebot.conversation.actions.browse import question_for_admin
from dancebot.conversation.actions.common import handed_over_if_claiming, llm_down, technical_issues, yes_no_buttons
from dancebot.conversation.actions.handoff import handed_over_if_insisting, handed_over_if_pressing, note_miss
from dancebot.conversation.effects import Cancel, CancelOutcome, DropReminders, FallbackKind, RecordFallback
from dancebot.conversation.session import CancelFlow, Replaces, Slots, When
from dancebot.conversation.states import State
from dancebot.conversation.turn import Turn
from dancebot.crm.errors import CRMError
from dancebot.crm.models import BookedClass, normalize_phone
from dancebot.kb.schema import KnowledgeBase
from dancebot.outbound.messages import Button
from dancebot.understanding.entities import kb_words
from dancebot.understanding.intents import Intent
from dancebot.understanding.yesno import read_yes_no

__all__ = ["booked_line", "cancel_declined", "cancel_failed", "cancel_step", "cancelled", "own_phone", "start_cancel"]

_REQUESTS = {"cancel": "отменить запись", "reschedule": "перенести запись", "list": "посмотреть свои записи"}
_WEEKDAYS = {"ru": ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"), "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def booked_line(b: BookedClass, kb: KnowledgeBase, lang: str) -> str:
    day = _WEEKDAYS.get(lang, _WEEKDAYS["ru"])[b.date.weekday()]
    when = f"{day} {b.date:%d.%m}" + (f" {b.start:%H:%M}" if b.start else "")
    branch = kb.branch_by_crm_id(b.branch_crm_id) if b.branch_crm_id is not None else None
    where = f", {branch.name}" if branch else ""
    return f"{when} {b.style_name or b.group_name}{where}"


# ---- actions --------------------------------------------------------------------------------------------


async def start_cancel(t: Turn) -> State:
    return await _start(t)


async def _start(t: Turn) -> State:
    """A cancel, reschedule or "мои записи" request read afresh: the mode from the message, then the phone."""
    intents = {s.intent for s in t.u.intents}
    mode: Literal["cancel", "reschedule", "list"]
    if Intent.RESCHEDULE in intents:
        mode = "reschedule"
    elif Intent.MY_BOOKINGS in intents and Intent.CANCEL not in intents:
        mode = "list"
    else:
        mode = "cancel"
    if t.callback.startswith("bk:"):  # "Отменить …" under "мои записи"
        mode = "cancel"
    t.session.slots = Slots()
    flow = CancelFlow(mode=mode, step="phone")
    if mode == "reschedule" and t.u.time is not None and not t.u.time.is_empty:
        flow.new_when = When.of(t.u.time)  # "перенести на субботу"
    t.session.pending.cancel = flow
    phone = own_phone(t)
    if phone is None:
        return _ask_for_contact(t)
    return await _with_bookings(t, flow, phone)


async def cancel_step(t: Turn) -> State:
    flow = t.session.pending.cancel or CancelFlow()
    t.session.pending.cancel = flow
    if flow.step == "phone":
        phone = own_phone(t)
        if phone is None:
            return _ask_for_contact(t)
        return await _with_bookings(t, flow, phone)
    bookings = flow.bookings
    if flow.step == "select":
        if t.callback.startswith("bk:"):
            chosen = [b for b in bookings if str(b.reservation_id) == t.callback[3:]]
        else:
            chosen = _narrow(t, bookings)
        return _choose(t, flow, chosen if len(chosen) < len(bookings) or len(chosen) == 1 else bookings)
    yes = t.u.yes_no == "yes" or t.callback.split(":")[0] == "yes"
    if flow.chosen is not None and t.u.has_slots and not t.callback:
        named = _named(t, bookings)
        if named and flow.chosen not in named:  # "да, отмените запись на пятницу": another booking, that one
            return _choose(t, flow, named)
        if not named and (t.u.has(Intent.CANCEL) or t.u.has(Intent.RESCHEDULE)):
            return await _start(t)  # names none of them: the request read afresh
        # "да, отмените запись на вторник" for that very Tuesday booking: restating it is a yes
        yes = bool(named) and read_yes_no(t.text, "cancel", naming=kb_words(t.kb)).answer == "yes"
    if flow.chosen is not None and yes:  # the confirm step
        if flow.mode == "cancel" and t.u.has(Intent.RESCHEDULE) and not t.callback:
            flow.mode = "reschedule"  # "да, перенесите" to "Отменить запись?": move it, never just cancel it
            return _choose(t, flow, [flow.chosen])
        return await _do_cancel(t, flow, flow.chosen)
    t.ask_again()
    return State.CANCEL_FLOW


async def cancel_declined(t: Turn) -> None:
    t.session.pending.cancel = None
    t.say(t.t("cancel_declined"))


async def cancelled(t: Turn) -> None:
    """The CRM cancelled it: reminders dropped, the client told."""
    assert isinstance(t.outcome, CancelOutcome)
    done = t.outcome.request
    t.do(DropReminders(occurrence_id=done.occurrence_id))
    t.say(t.t(done.key, line=done.line))


async def cancel_failed(t: Turn) -> None:
    """The CRM could not cancel: the admin gets the request, the client is told (at L3: "технические
    неполадки", the request recorded as `l3`)."""
    assert isinstance(t.outcome, CancelOutcome)
    failed = t.outcome.request
    details = {"phone": failed.phone or None, "reservation_id": failed.reservation_id, "class": failed.line}
    reason = t.outcome.reason or "unavailable"
    if llm_down(t):
        technical_issues(t, reason, {**details, "request": _REQUESTS["cancel"]})
        return
    t.do(RecordFallback(kind="cancel", reason=reason, details=details))
    t.say(t.t("cancel_failed"))


# ---- helpers --------------------------------------------------------------------------------------------


def own_phone(t: Turn) -> str | None:
    """A phone provably the client's own (PRODUCT.md §5.3): a Telegram contact they shared themselves, the
    WhatsApp sender, or the phone they booked with from this chat. Never a number merely typed in."""
    if t.msg.contact_phone and t.msg.contact_is_own:
        return normalize_phone(t.msg.contact_phone)
    if t.msg.channel == "whatsapp" and t.msg.sender_phone:
        return normalize_phone(t.msg.sender_phone)
    return t.profile.own_phone


def _ask_for_contact(t: Turn) -> State:
    """A typed number reveals nothing: ask for the share-contact button instead."""
    typed = t.u.phone is not None or (t.msg.contact_phone is not None and not t.msg.contact_is_own)
    t.ask(t.t("share_contact_not_typed" if typed else "ask_phone_for_bookings"), request_contact=True)
    t.session.pending.slot = "client_phone"
    return State.CANCEL_FLOW


async def _with_bookings(t: Turn, flow: CancelFlow, phone: str) -> State:
    flow.phone = phone
    try:
        bookings = await t.crm.client_bookings(phone, t.now)
    except CRMError as exc:
        if llm_down(t):  # L3 (PRODUCT.md §9.3)
            request = _REQUESTS[flow.mode] + (f": «{t.text}»" if t.text else "")
            technical_issues(t, type(exc).__name__, {"phone": phone, "request": request})
            return State.IDLE
        if handed_over_if_claiming(t) or handed_over_if_insisting(t):  # asked again, "я же записана!" (§11.2)
            return State.HANDOFF_TO_ADMIN
        t.say(t.t("crm_down_info"))
        request = _REQUESTS[flow.mode] + (f": «{t.text}»" if t.text else "")
        kind: FallbackKind = "cancel" if flow.mode == "cancel" else "question"  # "мои записи", a move: a question
        question_for_admin(t, type(exc).__name__, kind=kind, request=request, phone=phone)  # on /requests too
        return State.IDLE
    update = {"own_phone": phone, **({} if t.profile.phone else {"phone": phone})}  # proven by `own_phone`
    t.profile = t.profile.model_copy(update=update)
    if not bookings:
        if handed_over_if_pressing(t) or handed_over_if_claiming(t):  # "я же записана!" after "нет записей"
            return State.HANDOFF_TO_ADMIN
        note_miss(t)
        t.ask(t.t("no_bookings"), [[Button(text=t.t("admin_button"), data="admin")]])
        return State.IDLE
    flow.bookings = list(bookings)
    if t.callback.startswith("bk:"):
        return _choose(t, flow, [b for b in bookings if str(b.reservation_id) == t.callback[3:]] or bookings)
    if flow.mode == "list":
        lines = "\n".join(booked_line(b, t.kb, t.lang) for b in bookings[:5])
        t.say(t.t("my_bookings", lines=lines))
        t.buttons = [
            [
                Button(
                    text=t.t("btn_cancel_booking", line=booked_line(b, t.kb, t.lang)[:40]),
                    data=f"bk:{b.reservation_id}",
                )
            ]
            for b in bookings[:3]
        ]
        t.session.pending.cancel = None
        return State.IDLE
    return _choose(t, flow, _narrow(t, bookings))


def _narrow(t: Turn, bookings: list[BookedClass]) -> list[BookedClass]:
    """ "отмените запись на пятницу" / "на хилс": keep the bookings the message points at."""
    hits = bookings
    if t.u.time is not None and not t.u.time.is_empty:
        starts = t.u.time.select(b.start for b in hits if b.start is not None)
        by_time = [b for b in hits if b.start in starts]
        hits = by_time or hits
    if t.u.styles:
        names = {s.name.lower() for s in (t.kb.service(m.id) for m in t.u.styles) if s}
        by_style = [b for b in hits if b.style_name.lower() in names]
        hits = by_style or hits
    return hits


def _named(t: Turn, bookings: list[BookedClass]) -> list[BookedClass]:
    """The bookings the message names by day, date, time or style — all it names; none when it names
    nothing, or nothing of the client's."""
    hits, said = list(bookings), False
    if t.u.time is not None and not t.u.time.is_empty:
        starts = t.u.time.select(b.start for b in hits if b.start is not None)
        hits, said = [b for b in hits if b.start in starts], True
    if t.u.styles:
        names = {s.name.lower() for s in (t.kb.service(m.id) for m in t.u.styles) if s}
        hits, said = [b for b in hits if b.style_name.lower() in names], True
    return hits if said else []


def _choose(t: Turn, flow: CancelFlow, bookings: list[BookedClass]) -> State:
    # Which booking, or the yes/no: no booking slot is pending any more, so the reply is read as an answer to
    # this question ("да, отмените" restates the cancel: understanding/yesno.py), not to an earlier one.
    t.session.pending.slot = None
    if len(bookings) == 1:
        chosen = bookings[0]
        flow.step, flow.chosen = "confirm", chosen
        line = booked_line(chosen, t.kb, t.lang)
        hours = t.kb.policies.late_cancel_hours
        late = chosen.start is not None and chosen.start - t.now < timedelta(hours=hours)
        if late:
            key = "late_cancel_warning"
        else:
            key = "confirm_reschedule" if flow.mode == "reschedule" else "confirm_cancel"
        yes = "btn_reschedule_yes" if key == "confirm_reschedule" else "btn_cancel_yes"
        t.ask(t.t(key, line=line, hours=hours), yes_no_buttons(t, yes, "btn_cancel_no"))
        return State.CANCEL_FLOW
    flow.step = "select"
    buttons = [[Button(text=booked_line(b, t.kb, t.lang)[:60], data=f"bk:{b.reservation_id}")] for b in bookings[:5]]
    t.ask(t.t("which_cancel"), buttons)
    return State.CANCEL_FLOW


async def _do_cancel(t: Turn, flow: CancelFlow, chosen: BookedClass) -> State:
    t.session.pending.cancel = None
    line = booked_line(chosen, t.kb, t.lang)
    if flow.mode == "reschedule":  # book the new class first; the old one goes with its receipt
        service = next((s for s in t.kb.services if s.name.lower() == chosen.style_name.lower()), None)
        t.session.slots = Slots(
            style=service.id if service else None,
            client_phone=flow.phone,
            when=flow.new_when,
            replaces=Replaces(
                reservation_id=chosen.reservation_id, occurrence_id=chosen.occurrence_id, phone=flow.phone, line=line
            ),
        )
        return await collect_slots(t)
    t.do(
        Cancel(
            reservation_id=chosen.reservation_id,
            occurrence_id=chosen.occurrence_id,
            phone=flow.phone or "",
            line=line,
            llm_down=t.u.llm_down,
        )
    )
    return State.CANCEL_FLOW
