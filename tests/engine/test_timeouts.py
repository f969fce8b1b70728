"""Which timeout a session has reached (PRODUCT.md §5): the pure part of the worker's sweep."""

from __future__ import annotations

import pytest

from dancebot.conversation.fsm import Event, State, lookup
from dancebot.conversation.session import Session
from dancebot.conversation.sweeps import timeout_event

T0 = 1_796_198_400.0  # any fixed moment; only the age of the state matters
MIN, HOUR = 60.0, 3600.0


def session(state: State, *, reprompted: bool = False) -> Session:
    return Session(channel="telegram", chat_id=42, state=state.value, state_since=T0, reprompted_confirm=reprompted)


def after(s: Session, seconds: float) -> Event | None:
    return timeout_event(s, T0 + seconds)


def test_unconfirmed_summary_is_reprompted_once_after_an_hour() -> None:
    s = session(State.CONFIRM_BOOKING)
    assert after(s, 59 * MIN) is None
    assert after(s, 61 * MIN) == Event.TIMEOUT_REPROMPT
    s.reprompted_confirm = True  # what the sweep records when it sends "Ещё актуально?"
    assert after(s, 61 * MIN) is None
    assert after(s, 2 * HOUR + 59 * MIN) is None
    assert after(s, 3 * HOUR + 1) == Event.TIMEOUT_EXPIRE


def test_summary_expires_after_three_hours_even_without_the_reprompt() -> None:
    # A worker that was down for the 1 h mark must not send "Ещё актуально?" at 5 h.
    assert after(session(State.CONFIRM_BOOKING), 5 * HOUR) == Event.TIMEOUT_EXPIRE


def test_a_new_summary_gets_its_own_reprompt() -> None:
    s = session(State.CONFIRM_BOOKING, reprompted=True)
    s.enter(State.COLLECTING_DATETIME)  # the client corrected the time…
    s.enter(State.CONFIRM_BOOKING)  # …and got a new summary
    assert not s.reprompted_confirm
    assert timeout_event(s, s.state_since + 59 * MIN) is None
    assert timeout_event(s, s.state_since + 61 * MIN) == Event.TIMEOUT_REPROMPT


def test_booking_stuck_in_progress_is_verified_never_rebooked() -> None:
    s = session(State.BOOKING_IN_PROGRESS)
    assert after(s, 20) is None  # the booking turn's own 30 s are still running
    assert after(s, 2 * MIN) == Event.CRM_UNVERIFIED  # the create may have been sent before the crash


def test_unanswered_handoff_reminds_the_admin_once_after_two_hours() -> None:
    s = session(State.HANDOFF_TO_ADMIN)
    assert after(s, HOUR + 59 * MIN) is None
    assert after(s, 2 * HOUR + 1) == Event.TIMEOUT_REPROMPT
    s.reprompted_confirm = True
    assert after(s, 3 * HOUR) is None
    assert after(s, 4 * HOUR + 1) == Event.TIMEOUT_EXPIRE


def test_admin_conversation_closes_after_four_hours() -> None:
    s = session(State.ADMIN_RESPONDING)
    assert after(s, 2 * HOUR + 1) is None  # no admin reminder once the admin has answered
    assert after(s, 3 * HOUR + 59 * MIN) is None
    assert after(s, 4 * HOUR + 1) == Event.TIMEOUT_EXPIRE


@pytest.mark.parametrize(
    "state",
    [
        State.IDLE,
        State.COLLECTING_INTENT,
        State.BROWSING_SCHEDULE,
        State.COLLECTING_GROUP,
        State.COLLECTING_DATETIME,
        State.COLLECTING_CONTACT,
        State.CANCEL_FLOW,
        State.SERIAL_BOOKING,
    ],
)
def test_other_states_wait_for_the_24_hour_session_expiry(state: State) -> None:
    # Those end with the session's Redis TTL, not with a message from the worker.
    assert after(session(state), 23 * HOUR) is None


def test_every_timeout_event_has_a_row_in_its_state() -> None:
    fired = {
        (State.CONFIRM_BOOKING, 61 * MIN),
        (State.CONFIRM_BOOKING, 3 * HOUR + 1),
        (State.BOOKING_IN_PROGRESS, 2 * MIN),
        (State.HANDOFF_TO_ADMIN, 2 * HOUR + 1),
        (State.HANDOFF_TO_ADMIN, 4 * HOUR + 1),
        (State.ADMIN_RESPONDING, 4 * HOUR + 1),
    }
    for state, age in fired:
        event = after(session(state), age)
        assert event is not None and lookup(state, event) is not None, (state, event)
