"""The conversation's state machine as one declarative table (contract §7, SPEC §5).

Each row maps (state, event) to (next state, action). The engine looks the row up and runs the action;
the action may refine the next state only where the row says `FIRST_MISSING` (the state that collects
the first missing booking slot, so one message can fill several) or `SAME`. A test walks every row.

Rows are written for groups of states (`BOOKING_STATES`, `ANY`) and expanded here; a row for one state
overrides a group row for the same event.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "BOOKING_STATES",
    "FIRST_MISSING",
    "SAME",
    "TABLE",
    "Event",
    "Row",
    "State",
    "lookup",
]


class State(StrEnum):
    IDLE = "IDLE"
    COLLECTING_INTENT = "COLLECTING_INTENT"
    BROWSING_SCHEDULE = "BROWSING_SCHEDULE"
    COLLECTING_GROUP = "COLLECTING_GROUP"
    COLLECTING_DATETIME = "COLLECTING_DATETIME"
    COLLECTING_CONTACT = "COLLECTING_CONTACT"
    CONFIRM_BOOKING = "CONFIRM_BOOKING"
    BOOKING_IN_PROGRESS = "BOOKING_IN_PROGRESS"
    BOOKING_DONE = "BOOKING_DONE"
    CANCEL_FLOW = "CANCEL_FLOW"
    SERIAL_BOOKING = "SERIAL_BOOKING"
    HANDOFF_TO_ADMIN = "HANDOFF_TO_ADMIN"
    ADMIN_RESPONDING = "ADMIN_RESPONDING"


class Event(StrEnum):
    # from understanding
    BOOKING = "booking"
    SERIAL_BOOKING = "serial_booking"
    CANCEL = "cancel"
    MY_BOOKINGS = "my_bookings"
    SCHEDULE = "schedule"
    PRICE = "price"
    INFO = "info"
    LATENESS = "lateness"
    GREETING = "greeting"
    THANKS = "thanks"
    ADMIN = "admin"
    YES = "yes"
    NO = "no"
    SLOTS = "slots"  # slot values with no other intent: an answer to the pending question
    PICK = "pick"  # a button or a number choosing one of the offered options
    ABORT = "abort"  # "передумал", "отмена": leave the current flow
    UNKNOWN = "unknown"
    # from the system
    CRM_OK = "crm_ok"
    CRM_DUPLICATE = "crm_duplicate"
    CRM_REJECTED = "crm_rejected"
    CRM_UNAVAILABLE = "crm_unavailable"
    TIMEOUT_REPROMPT = "timeout_reprompt"
    TIMEOUT_EXPIRE = "timeout_expire"
    ADMIN_REPLY = "admin_reply"
    ADMIN_CLOSE = "admin_close"


SAME = "SAME"  # stay in the current state
FIRST_MISSING = "FIRST_MISSING"  # the state collecting the first missing booking slot (or CONFIRM_BOOKING)


@dataclass(frozen=True)
class Row:
    next: str  # a State value, SAME or FIRST_MISSING
    action: str  # the engine method that performs it


S = State
E = Event
BOOKING_STATES = (S.COLLECTING_GROUP, S.COLLECTING_DATETIME, S.COLLECTING_CONTACT, S.CONFIRM_BOOKING)
OPEN_STATES = (S.IDLE, S.COLLECTING_INTENT, S.BROWSING_SCHEDULE)
CONVERSING = (*OPEN_STATES, *BOOKING_STATES, S.CANCEL_FLOW, S.SERIAL_BOOKING)
ANSWERS = (E.PRICE, E.INFO, E.LATENESS, E.GREETING, E.THANKS)
CLIENT_EVENTS = (
    E.BOOKING,
    E.SERIAL_BOOKING,
    E.CANCEL,
    E.MY_BOOKINGS,
    E.SCHEDULE,
    *ANSWERS,
    E.ADMIN,
    E.YES,
    E.NO,
    E.SLOTS,
    E.PICK,
    E.ABORT,
    E.UNKNOWN,
)

_GROUP_ROWS: list[tuple[tuple[State, ...], tuple[Event, ...], Row]] = [
    # starting things, from anywhere a client is talking to the bot
    (CONVERSING, (E.BOOKING,), Row(FIRST_MISSING, "collect")),
    (CONVERSING, (E.SCHEDULE,), Row(S.BROWSING_SCHEDULE, "show_schedule")),
    (CONVERSING, (E.CANCEL, E.MY_BOOKINGS), Row(S.CANCEL_FLOW, "start_cancel")),
    (CONVERSING, (E.SERIAL_BOOKING,), Row(S.SERIAL_BOOKING, "collect_series")),
    (CONVERSING, (E.ADMIN,), Row(S.HANDOFF_TO_ADMIN, "handoff")),
    # questions on the side: answered; inside a flow the pending question is asked again
    (OPEN_STATES, ANSWERS, Row(SAME, "answer")),
    (OPEN_STATES, (E.UNKNOWN,), Row(S.COLLECTING_INTENT, "unknown")),
    (OPEN_STATES, (E.SLOTS, E.PICK), Row(FIRST_MISSING, "collect")),
    (OPEN_STATES, (E.YES, E.NO, E.ABORT), Row(S.IDLE, "acknowledge")),
    ((*BOOKING_STATES, S.CANCEL_FLOW, S.SERIAL_BOOKING), ANSWERS, Row(SAME, "answer_and_return")),
    ((*BOOKING_STATES, S.CANCEL_FLOW, S.SERIAL_BOOKING), (E.UNKNOWN,), Row(SAME, "reprompt")),
    ((*BOOKING_STATES, S.SERIAL_BOOKING), (E.ABORT,), Row(S.IDLE, "abort_booking")),
    # collecting slots
    (BOOKING_STATES, (E.SLOTS, E.PICK), Row(FIRST_MISSING, "collect")),
    ((S.COLLECTING_GROUP, S.COLLECTING_DATETIME, S.COLLECTING_CONTACT), (E.YES,), Row(SAME, "reprompt")),
    ((S.COLLECTING_GROUP, S.COLLECTING_DATETIME, S.COLLECTING_CONTACT), (E.NO,), Row(S.IDLE, "abort_booking")),
    # the summary
    ((S.CONFIRM_BOOKING,), (E.YES,), Row(S.BOOKING_IN_PROGRESS, "book")),
    ((S.CONFIRM_BOOKING,), (E.NO,), Row(FIRST_MISSING, "correct")),
    ((S.CONFIRM_BOOKING,), (E.TIMEOUT_REPROMPT,), Row(SAME, "still_relevant")),
    ((S.CONFIRM_BOOKING,), (E.TIMEOUT_EXPIRE,), Row(S.IDLE, "expire")),
    # the CRM's answer
    ((S.BOOKING_IN_PROGRESS,), (E.CRM_OK,), Row(S.IDLE, "receipt")),
    ((S.BOOKING_IN_PROGRESS,), (E.CRM_DUPLICATE,), Row(S.IDLE, "already_booked")),
    ((S.BOOKING_IN_PROGRESS,), (E.CRM_REJECTED,), Row(S.COLLECTING_DATETIME, "rejected")),
    ((S.BOOKING_IN_PROGRESS,), (E.CRM_UNAVAILABLE,), Row(S.IDLE, "fallback")),
    # cancelling a booking / my bookings
    ((S.CANCEL_FLOW,), (E.SLOTS, E.PICK), Row(SAME, "cancel_step")),
    ((S.CANCEL_FLOW,), (E.YES,), Row(SAME, "cancel_step")),
    ((S.CANCEL_FLOW,), (E.NO, E.ABORT), Row(S.IDLE, "cancel_declined")),
    # serial booking
    ((S.SERIAL_BOOKING,), (E.SLOTS, E.PICK, E.NO), Row(SAME, "collect_series")),
    ((S.SERIAL_BOOKING,), (E.YES,), Row(S.IDLE, "book_series")),
    # the human administrator
    ((S.HANDOFF_TO_ADMIN, S.ADMIN_RESPONDING), CLIENT_EVENTS, Row(SAME, "relay")),
    ((S.HANDOFF_TO_ADMIN,), (E.ADMIN_REPLY,), Row(S.ADMIN_RESPONDING, "admin_reply")),
    ((S.HANDOFF_TO_ADMIN, S.ADMIN_RESPONDING), (E.ADMIN_CLOSE,), Row(S.IDLE, "admin_close")),
    ((S.HANDOFF_TO_ADMIN,), (E.TIMEOUT_REPROMPT,), Row(SAME, "handoff_reminder")),
    ((S.ADMIN_RESPONDING, S.HANDOFF_TO_ADMIN), (E.TIMEOUT_EXPIRE,), Row(S.IDLE, "expire")),
    ((S.ADMIN_RESPONDING,), (E.ADMIN_REPLY,), Row(SAME, "admin_reply")),
]


def _expand() -> dict[tuple[State, Event], Row]:
    table: dict[tuple[State, Event], Row] = {}
    for states, events, row in _GROUP_ROWS:  # later rows are more specific and win
        for state in states:
            for event in events:
                table[(state, event)] = row
    return table


TABLE: dict[tuple[State, Event], Row] = _expand()


def lookup(state: State, event: Event) -> Row | None:
    """The row for (state, event), or None: the event means nothing in that state and is ignored."""
    return TABLE.get((state, event))
