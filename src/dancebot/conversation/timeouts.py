"""Timeouts (PRODUCT.md §5, §20), pure: which timeout a session has reached at a given moment.

CONFIRM_BOOKING 1 h → one "Ещё актуально?", 3 h → IDLE with a notice; BOOKING_IN_PROGRESS stuck (a
crashed turn) → an unknown outcome, verified later; HANDOFF_TO_ADMIN 2 h → a second alert to the admin
(once per handoff, through the de-duplicated `outbound.alerts`, cause `handoff_waiting:{client}`);
ADMIN_RESPONDING 4 h → the client is told the admin will answer later → IDLE. The worker sweeps them
(`sweeps.py`) and the engine checks them on the next message too.
"""

from __future__ import annotations

from dancebot.conversation.session import Session
from dancebot.conversation.states import Event, State

__all__ = ["ADMIN_EXPIRE", "BOOKING_STUCK", "CONFIRM_EXPIRE", "CONFIRM_REPROMPT", "HANDOFF_REMIND", "timeout_event"]

CONFIRM_REPROMPT = 3600
CONFIRM_EXPIRE = 3 * 3600
BOOKING_STUCK = 45  # the booking turn itself gives up after 30 s
HANDOFF_REMIND = 2 * 3600
ADMIN_EXPIRE = 4 * 3600


def timeout_event(session: Session, now: float) -> Event | None:
    """Which timeout, if any, this session has reached (pure)."""
    age = now - session.state_since
    state = session.state
    if state == State.CONFIRM_BOOKING:
        if age > CONFIRM_EXPIRE:
            return Event.TIMEOUT_EXPIRE
        if age > CONFIRM_REPROMPT and not session.reprompted_confirm:
            return Event.TIMEOUT_REPROMPT
    elif state == State.BOOKING_IN_PROGRESS and age > BOOKING_STUCK:
        return Event.CRM_UNVERIFIED  # the turn died mid-booking: the create may have been sent
    elif state == State.HANDOFF_TO_ADMIN:
        if age > ADMIN_EXPIRE:
            return Event.TIMEOUT_EXPIRE
        if age > HANDOFF_REMIND and not session.reprompted_confirm:
            return Event.TIMEOUT_REPROMPT
    elif state == State.ADMIN_RESPONDING and age > ADMIN_EXPIRE:
        return Event.TIMEOUT_EXPIRE
    return None
