"""The conversation's state machine as one declarative table (PRODUCT.md §5). It tells the whole truth.

Each row maps (state, event) to the action that handles it and every state that action may lead to.
The engine runs the action and refuses any other state (`IllegalTransition`); a test walks every row and
checks it against the states listed here. An action returns its next state, or None where its row allows
exactly one.

Rows are written for groups of states (`ANY`, `BOOKING_STATES`…) and expanded here; `SAME` in a row
stands for the state the row is expanded for; a later row for the same (state, event) wins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dancebot.conversation.actions import booking, browse, cancel, handoff, outcome, series
from dancebot.conversation.states import BOOKING_STATES, Event, State
from dancebot.conversation.turn import Turn

__all__ = ["FIRST_MISSING", "SAME", "TABLE", "Action", "Row", "lookup"]

Action = Callable[[Turn], Awaitable[State | None]]


class _Same:
    def __repr__(self) -> str:
        return "SAME"


SAME = _Same()  # the state the row is expanded for
Target = State | _Same


@dataclass(frozen=True)
class Row:
    action: Action
    next: frozenset[State]  # every state the action may lead to

    @property
    def name(self) -> str:
        return f"{self.action.__module__.rsplit('.', 1)[-1]}.{self.action.__name__}"


S = State
E = Event
COLLECTS = (S.COLLECTING_GROUP, S.COLLECTING_DATETIME, S.COLLECTING_CONTACT)
# The state that collects the first missing booking slot, or the summary (PRODUCT.md §5).
FIRST_MISSING = (*BOOKING_STATES,)
OPEN_STATES = (S.IDLE, S.COLLECTING_INTENT, S.BROWSING_SCHEDULE)
FLOWS = (*BOOKING_STATES, S.CANCEL_FLOW, S.SERIAL_BOOKING)
CONVERSING = (*OPEN_STATES, *FLOWS)
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
    E.FREEZE,
    E.COMPLAINT,
)
# collecting may also record the request when the CRM is down (IDLE), or ask for a phone first
COLLECTING = (*FIRST_MISSING, S.IDLE)
# …or hand over: "я точно записывалась" right after "записей не нашла", "да" to "Передать вопрос администратору?"
COLLECTING_OR_ADMIN = (*COLLECTING, S.HANDOFF_TO_ADMIN)

_GROUP_ROWS: list[tuple[tuple[State, ...], tuple[Event, ...], Action, tuple[Target, ...]]] = [
    # starting things, from anywhere a client is talking to the bot
    (CONVERSING, (E.BOOKING,), booking.collect, COLLECTING_OR_ADMIN),
    (CONVERSING, (E.SCHEDULE,), browse.show_schedule, (S.BROWSING_SCHEDULE, S.IDLE, S.HANDOFF_TO_ADMIN)),
    (CONVERSING, (E.CANCEL, E.MY_BOOKINGS), cancel.start_cancel, (S.CANCEL_FLOW, S.IDLE, S.HANDOFF_TO_ADMIN)),
    (CONVERSING, (E.SERIAL_BOOKING,), series.collect_series, (S.SERIAL_BOOKING, S.COLLECTING_CONTACT, S.IDLE)),
    (CONVERSING, (E.ADMIN,), handoff.handoff, (S.HANDOFF_TO_ADMIN,)),
    # for the administrator after the facts (a freeze's reason and dates), or at once (PRODUCT.md §11)
    (CONVERSING, (E.FREEZE,), handoff.freeze, (S.COLLECTING_INTENT, S.HANDOFF_TO_ADMIN, S.IDLE)),
    (CONVERSING, (E.COMPLAINT,), handoff.complaint, (S.HANDOFF_TO_ADMIN,)),
    # questions on the side: answered; inside a flow the pending question is asked again
    (OPEN_STATES, ANSWERS, browse.answer, (SAME, S.HANDOFF_TO_ADMIN)),
    (OPEN_STATES, (E.UNKNOWN,), browse.unknown, (S.COLLECTING_INTENT, S.HANDOFF_TO_ADMIN)),
    (OPEN_STATES, (E.SLOTS, E.PICK), booking.collect, COLLECTING_OR_ADMIN),
    (OPEN_STATES, (E.YES, E.NO, E.ABORT), browse.acknowledge, (S.IDLE, S.HANDOFF_TO_ADMIN)),
    (FLOWS, ANSWERS, browse.answer_and_return, (SAME, S.HANDOFF_TO_ADMIN)),
    (FLOWS, (E.UNKNOWN,), browse.reprompt, (SAME, S.HANDOFF_TO_ADMIN)),
    ((*BOOKING_STATES, S.SERIAL_BOOKING), (E.ABORT,), outcome.abort_booking, (S.IDLE,)),
    # collecting slots
    (BOOKING_STATES, (E.SLOTS, E.PICK), booking.collect, COLLECTING),
    (COLLECTS, (E.YES,), booking.take_offered, COLLECTING_OR_ADMIN),
    ((S.CONFIRM_BOOKING,), (E.SCHEDULE,), browse.schedule_aside, (SAME, S.IDLE, S.HANDOFF_TO_ADMIN)),
    (COLLECTS, (E.NO,), outcome.abort_booking, (S.IDLE,)),
    # the summary: yes books (an effect); the CRM's answer comes back as the next event
    ((S.CONFIRM_BOOKING,), (E.YES,), outcome.book, (S.BOOKING_IN_PROGRESS,)),
    ((S.CONFIRM_BOOKING,), (E.NO,), booking.correct, COLLECTING),
    ((S.CONFIRM_BOOKING,), (E.TIMEOUT_REPROMPT,), outcome.still_relevant, (SAME,)),
    ((S.CONFIRM_BOOKING,), (E.TIMEOUT_EXPIRE,), outcome.expire, (S.IDLE,)),
    ((S.BOOKING_IN_PROGRESS,), (E.CRM_OK,), outcome.receipt, (S.IDLE,)),
    ((S.BOOKING_IN_PROGRESS,), (E.CRM_DUPLICATE,), outcome.already_booked, (S.IDLE,)),
    (
        (S.BOOKING_IN_PROGRESS,),
        (E.CRM_REJECTED,),
        outcome.rejected,
        (S.COLLECTING_DATETIME, S.COLLECTING_CONTACT, S.IDLE),
    ),
    ((S.BOOKING_IN_PROGRESS,), (E.CRM_UNAVAILABLE,), outcome.fallback, (S.IDLE,)),
    ((S.BOOKING_IN_PROGRESS,), (E.CRM_UNVERIFIED,), outcome.verifying, (S.IDLE,)),
    # cancelling a booking / my bookings; a reschedule goes on into the booking states
    (
        (S.CANCEL_FLOW,),
        (E.SLOTS, E.PICK, E.YES),
        cancel.cancel_step,
        (S.CANCEL_FLOW, S.IDLE, S.HANDOFF_TO_ADMIN, *FIRST_MISSING),
    ),
    ((S.CANCEL_FLOW,), (E.NO, E.ABORT), cancel.cancel_declined, (S.IDLE,)),
    ((S.CANCEL_FLOW, S.IDLE), (E.CANCEL_DONE,), cancel.cancelled, (S.IDLE,)),
    ((S.CANCEL_FLOW, S.IDLE), (E.CANCEL_FAILED,), cancel.cancel_failed, (S.IDLE,)),
    # serial booking
    ((S.SERIAL_BOOKING,), (E.SLOTS, E.PICK), series.collect_series, (S.SERIAL_BOOKING, S.COLLECTING_CONTACT, S.IDLE)),
    ((S.SERIAL_BOOKING,), (E.NO,), outcome.abort_booking, (S.IDLE,)),
    (
        (S.SERIAL_BOOKING,),
        (E.YES,),
        series.book_series,
        (S.BOOKING_IN_PROGRESS, S.SERIAL_BOOKING, S.COLLECTING_CONTACT, S.IDLE),
    ),
    ((S.BOOKING_IN_PROGRESS,), (E.SERIES_DONE,), series.series_receipt, (S.IDLE,)),
    # the human administrator
    ((S.HANDOFF_TO_ADMIN, S.ADMIN_RESPONDING), CLIENT_EVENTS, handoff.relay, (SAME,)),
    ((S.HANDOFF_TO_ADMIN,), (E.ADMIN_REPLY,), handoff.admin_reply, (S.ADMIN_RESPONDING,)),
    ((S.HANDOFF_TO_ADMIN, S.ADMIN_RESPONDING), (E.ADMIN_CLOSE,), handoff.admin_close, (S.IDLE,)),
    ((S.HANDOFF_TO_ADMIN,), (E.TIMEOUT_REPROMPT,), handoff.handoff_reminder, (SAME,)),
    ((S.ADMIN_RESPONDING, S.HANDOFF_TO_ADMIN), (E.TIMEOUT_EXPIRE,), outcome.expire, (S.IDLE,)),
    ((S.ADMIN_RESPONDING,), (E.ADMIN_REPLY,), handoff.admin_reply, (SAME,)),
]


def _expand() -> dict[tuple[State, Event], Row]:
    table: dict[tuple[State, Event], Row] = {}
    for states, events, action, targets in _GROUP_ROWS:  # later rows are more specific and win
        for state in states:
            allowed = frozenset(state if isinstance(t, _Same) else t for t in targets)
            for event in events:
                table[(state, event)] = Row(action, allowed)
    return table


TABLE: dict[tuple[State, Event], Row] = _expand()


def lookup(state: State, event: Event) -> Row | None:
    """The row for (state, event), or None: the event means nothing in that state and is ignored."""
    return TABLE.get((state, event))
