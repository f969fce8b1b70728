"""Understanding + state → the FSM event (PRODUCT.md §5). Pure: no I/O.

Precedence follows PRODUCT.md §5: leaving a flow ("передумал") and asking for a human win; in the summary
only an explicit yes confirms and any slot in the message is a correction; a booking and another
question in one message is a booking; a bare answer to the pending question is `SLOTS`. In a yes/no
question the verb of the action asked about is its yes ("да, отмена" to "Отменить запись?" cancels, never
leaves the flow), its negation its no (understanding/yesno.py).
"""

from __future__ import annotations

from dancebot.conversation.states import BOOKING_STATES, Event, State
from dancebot.understanding.intents import STRONG, Intent
from dancebot.understanding.names import asks_why_contact
from dancebot.understanding.rules import Understanding
from dancebot.understanding.yesno import opens_with_yes

__all__ = ["classify"]

_INTENT_EVENTS = {
    Intent.SERIAL_BOOKING: Event.SERIAL_BOOKING,
    Intent.CANCEL: Event.CANCEL,
    Intent.RESCHEDULE: Event.CANCEL,
    Intent.MY_BOOKINGS: Event.MY_BOOKINGS,
    Intent.BOOKING: Event.BOOKING,
    Intent.SCHEDULE: Event.SCHEDULE,
    Intent.PRICE: Event.PRICE,
    Intent.INFO: Event.INFO,
    Intent.LATENESS: Event.LATENESS,
    Intent.GREETING: Event.GREETING,
    Intent.THANKS: Event.THANKS,
}
_SIDE_QUESTIONS = frozenset({Event.PRICE, Event.INFO, Event.LATENESS, Event.GREETING, Event.THANKS})


_OPEN = (State.IDLE, State.COLLECTING_INTENT, State.BROWSING_SCHEDULE)
_FOLLOW_UPS = {"price": Event.PRICE, "schedule": Event.SCHEDULE}


def classify(u: Understanding, state: State, *, is_edit: bool = False, last_topic: str | None = None) -> Event:
    """The event a message is in `state`: the one place a message's meaning meets the conversation.
    `last_topic` is what the previous message asked ("price", "schedule"), for "а на сальсу?"."""
    if is_edit and state in (State.CONFIRM_BOOKING, State.COLLECTING_DATETIME, State.COLLECTING_CONTACT):
        return Event.NO if state is State.CONFIRM_BOOKING else Event.SLOTS  # a correction, never a reset
    follow_up = _FOLLOW_UPS.get(last_topic or "")
    if follow_up and state in _OPEN and u.elliptic and u.has_slots and not u.callback and _only_slots(u):
        return follow_up  # "а на сальсу?" after a price, "а в субботу?" after a day's schedule
    if state in BOOKING_STATES and not u.callback and not u.has_slots and (u.asks_where or u.asks_who or u.asks_end):
        return Event.INFO  # "а где это?", "кто ведёт?": about the class being booked, then the question again
    if state is State.COLLECTING_CONTACT and not u.callback and u.name is None and u.phone is None:
        if asks_why_contact(u.text):
            return Event.SLOTS  # "а зачем вам имя?": why it is needed, then the question again (booking.collect)
    if u.trial and u.faq is not None and not u.callback and u.phone is None and ("?" in u.text or not u.styles):
        return Event.INFO  # "хочу попробовать, пробное есть?": the studio's trial answer, not a booking yet
    if state is State.CONFIRM_BOOKING and not u.callback and u.asks_schedule and not u.wants and u.phone is None:
        return Event.SCHEDULE  # "а что есть в субботу?": a list on the side, the summary stays
    event = _classify(u, state)
    if event is Event.SCHEDULE and u.unknown_style and not u.styles:
        return Event.BOOKING  # "есть бачата?": say we don't have it and what we have (never invented)
    if event is Event.YES and state is State.BROWSING_SCHEDULE:
        return Event.SLOTS  # "да" to "записать на одно из них?": go on with what was shown
    return event


def _only_slots(u: Understanding) -> bool:
    """Nothing but slot words: no intent of its own beyond what a bare style or day suggests."""
    strong = {s.intent for s in u.intents if s.confidence >= 0.9}
    return not strong & {Intent.BOOKING, Intent.SERIAL_BOOKING, Intent.CANCEL, Intent.ADMIN, Intent.MY_BOOKINGS}


def _asks_if_may_come(u: Understanding) -> bool:
    """ "можно с собакой прийти?", "а можно прийти посмотреть?": a question whose only booking cue is "можно
    прийти" (no booking verb, nothing to book with), asked while a booking is being made."""
    booking = [s for s in u.intents if s.intent is Intent.BOOKING]
    if not booking or booking[0].confidence >= STRONG or u.relation or u.unknown_style or u.wants:
        return False
    said = u.text.lower().lstrip()
    return u.asks or said.startswith(("можно", "а можно", "а если", "а с ", "с "))


def _strong(u: Understanding, intent: Intent) -> bool:
    """ "передумала", "стоп" leave for sure; "отмена" alone only may."""
    return any(s.intent is intent and s.confidence >= STRONG for s in u.intents)


def _classify(u: Understanding, state: State) -> Event:
    callback = u.callback
    if callback:
        if callback.startswith("bk:") and state is not State.CANCEL_FLOW:
            return Event.CANCEL  # "Отменить …" under "мои записи": starts the cancel of that booking
        return _callback_event(callback)
    intents = {s.intent for s in u.intents}
    in_booking = state in BOOKING_STATES or state is State.SERIAL_BOOKING
    if Intent.ADMIN in intents:
        return Event.ADMIN
    if u.unknown_style and not u.styles and state in (State.IDLE, State.COLLECTING_INTENT, State.BROWSING_SCHEDULE):
        return Event.BOOKING  # "есть бачата?": say we don't have it and what we have (never invented)
    confirm_reply = state in (State.CANCEL_FLOW, State.SERIAL_BOOKING) and u.yes_no is not None and not u.has_slots
    if state is State.CANCEL_FLOW and u.has_slots and u.phone is None and not _strong(u, Intent.ABORT):
        if u.yes_no == "yes" or u.restates or opens_with_yes(u.text):
            # "да, отмените запись на вторник": a yes naming a booking; the cancel step checks it is the one
            # asked about (a yes), or another of the client's (that one instead)
            return Event.SLOTS
    if Intent.ABORT in intents and (in_booking or state is State.CANCEL_FLOW) and not confirm_reply:
        # "отмена", "да, отменяйте" to "Отменить запись?" confirm the cancel (understanding/yesno.py);
        # "отмените другую" is about the cancel too: read on, never "the booking stays"
        if not (state is State.CANCEL_FLOW and u.restates and not _strong(u, Intent.ABORT)):
            return Event.ABORT
    if Intent.LATENESS in intents:
        return Event.LATENESS  # "опаздываю минут на 10" is not a class time
    if Intent.PRICE in intents and Intent.BOOKING not in intents and in_booking:
        return Event.PRICE  # "а сколько стоит хилс?" mid-booking is a side question, not a new style
    if state is State.CONFIRM_BOOKING:
        if u.yes_no == "yes" and not u.has_correction and not u.has_slots:
            return Event.YES
        if u.yes_no == "no" or u.has_slots:
            return Event.NO
    if confirm_reply:
        return Event.YES if u.yes_no == "yes" else Event.NO
    for intent in (Intent.SERIAL_BOOKING, Intent.CANCEL, Intent.RESCHEDULE, Intent.MY_BOOKINGS):
        if intent in intents and state is not State.SERIAL_BOOKING:
            return _INTENT_EVENTS[intent]
    if in_booking and u.has_slots:
        return Event.SLOTS
    if state is State.CANCEL_FLOW and (u.phone or u.has_slots):
        return Event.SLOTS
    if (in_booking or state is State.CANCEL_FLOW) and not u.has_slots and _asks_if_may_come(u):
        # "можно с собакой прийти?" inside a flow asks something, not a new booking: the FAQ answers it
        # ("а можно прийти новичку?"), else the admin does; the pending question is asked again either way
        return Event.INFO if u.faq is not None else Event.UNKNOWN
    top = u.intents[0].intent if u.intents else Intent.UNKNOWN
    contacts = u.name is not None or (u.phone is not None and u.phone.valid)
    if not in_booking and contacts and (u.styles or u.teachers) and "расписан" not in u.text.lower():
        return Event.BOOKING  # "зумба во вторник утром, Нина 8953…": a name and a phone book, they don't browse
    if not in_booking and state in _OPEN and u.faq is not None and not contacts and not u.wants:
        if u.faq.whole and u.time is None:
            return Event.INFO  # "нужна пара на бачату?" is the studio's own FAQ question, not a schedule query
        if Intent.BOOKING in intents and not u.has_slots and _asks_if_may_come(u):
            return Event.INFO  # "можно прийти без опыта?": the studio's FAQ answers it; nothing to book yet
    if Intent.BOOKING in intents or (u.styles and u.wants and not in_booking):
        return Event.BOOKING  # "хочу на хилс, и сколько стоит?": the booking first, the price with it
    if top in _INTENT_EVENTS and _INTENT_EVENTS[top] not in _SIDE_QUESTIONS:
        return _INTENT_EVENTS[top]
    if (u.has_slots or u.unknown_style) and not in_booking and top not in (Intent.PRICE, Intent.INFO):
        wish = u.wants or u.name is not None or u.phone is not None
        if not wish and ((u.asks and (u.styles or u.teachers or u.branches)) or u.asks_schedule):
            return Event.SCHEDULE  # "что есть на Светланской вечером?" asks, it does not book
        if top is Intent.UNKNOWN and "?" in u.text and not (u.styles or u.teachers or u.branches):
            return Event.UNKNOWN  # "можно арендовать зал на вечер?": a question for the admin, not a class time
        return Event.SLOTS if state is State.BROWSING_SCHEDULE else Event.BOOKING
    if top in _INTENT_EVENTS:
        return _INTENT_EVENTS[top]
    if u.yes_no == "yes":
        return Event.YES
    if u.yes_no == "no":
        return Event.NO
    if in_booking and u.unknown_style:
        return Event.SLOTS
    return Event.UNKNOWN


def _callback_event(data: str) -> Event:
    kind = data.split(":", 1)[0]
    return {
        "yes": Event.YES,
        "no": Event.NO,
        "admin": Event.ADMIN,
        "abort": Event.ABORT,
        "book": Event.BOOKING,
    }.get(kind, Event.PICK)
