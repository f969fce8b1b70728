"""Walks every row of the FSM table through the real engine and prints the table's coverage (SPEC §5).

For each (state, event) row: a session is put in that state with the slots the state implies, the
event is dispatched with a representative client message, and the resulting state must be the row's
(or, for FIRST_MISSING, the state of the first missing slot).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.fsm import BOOKING_STATES, FIRST_MISSING, SAME, TABLE, Event, State
from dancebot.conversation.session import Profile, Session
from dancebot.conversation.turn import Turn
from dancebot.understanding.rules import understand
from dancebot.wiring import Conversation
from tests.engine.conftest import NOW

SAMPLE_TEXT = {
    Event.BOOKING: "хочу записаться на хилс",
    Event.SERIAL_BOOKING: "запишите на все среды",
    Event.CANCEL: "отмените мою запись",
    Event.MY_BOOKINGS: "мои записи",
    Event.SCHEDULE: "какое расписание на завтра?",
    Event.PRICE: "сколько стоит занятие?",
    Event.INFO: "что взять на первое занятие?",
    Event.LATENESS: "опаздываю минут на 10",
    Event.GREETING: "привет",
    Event.THANKS: "спасибо",
    Event.ADMIN: "позовите администратора",
    Event.YES: "да",
    Event.NO: "нет",
    Event.SLOTS: "в пятницу",
    Event.PICK: "",
    Event.ABORT: "передумал",
    Event.UNKNOWN: "ыфвапр",
}
FIRST_MISSING_STATES = {
    State.COLLECTING_GROUP,
    State.COLLECTING_DATETIME,
    State.COLLECTING_CONTACT,
    State.CONFIRM_BOOKING,
    State.IDLE,
}


async def _occurrence(conv: Conversation) -> dict[str, Any]:
    occs = [o for o in await conv.crm.occurrences(NOW) if o.is_bookable and o.style_id == 11]
    return occs[0].model_dump(mode="json")


async def _session(conv: Conversation, state: State, chat_id: int) -> Session:
    s = Session(channel="telegram", chat_id=chat_id, state=state.value, language="ru")
    occ = await _occurrence(conv)
    if state in (
        State.COLLECTING_DATETIME,
        State.COLLECTING_CONTACT,
        State.CONFIRM_BOOKING,
        State.BOOKING_IN_PROGRESS,
        State.SERIAL_BOOKING,
    ):
        s.slots["style"] = "high_heels"
    if state in (State.COLLECTING_CONTACT, State.CONFIRM_BOOKING, State.BOOKING_IN_PROGRESS):
        s.slots["occurrence"] = occ
    if state in (State.CONFIRM_BOOKING, State.BOOKING_IN_PROGRESS):
        s.slots.update(client_name="Анна", client_phone="+79141234567")
    if state is State.SERIAL_BOOKING:
        s.slots.update(series=[occ], client_name="Анна", client_phone="+79141234567")
    if state is State.CANCEL_FLOW:
        s.pending["cancel"] = {"mode": "cancel", "step": "phone"}
    s.pending["question"] = "На какое время?"
    return s


async def _walk(conv: Conversation, state: State, event: Event) -> str | None:
    """Dispatch one row; None when it behaved as the table says, else what went wrong."""
    row = TABLE[(state, event)]
    chat_id = 7_000_000 + list(TABLE).index((state, event))  # one chat per row, stable across runs
    session = await _session(conv, state, chat_id)
    occ_id = (await _occurrence(conv))["occurrence_id"]
    text = SAMPLE_TEXT.get(event, "")
    callback = f"pick:{occ_id}" if event is Event.PICK else None
    if event in (Event.CRM_OK, Event.CRM_DUPLICATE, Event.CRM_REJECTED, Event.CRM_UNAVAILABLE):
        session.pending["result"] = {"status": "rejected", "reason": "full"}
    msg = UnifiedMessage(
        channel="telegram",
        chat_id=chat_id,
        message_id="1",
        timestamp=NOW,
        text=text or None,
        callback_data=callback,
        message_type="callback" if callback else "text",
    )
    u = understand(text, kb=conv.engine.kb, state_hint=state.value, now=NOW)
    turn = Turn(msg=msg, session=session, profile=Profile(), u=u, lang="ru", now=NOW)
    if event is Event.ADMIN_REPLY:
        session.pending["admin_text"] = "Да, можно"
    await conv.engine.dispatch(turn, event)
    result = State(session.state)
    if row.next == SAME:
        allowed = {state}
    elif row.next == FIRST_MISSING:
        allowed = set(FIRST_MISSING_STATES)
    else:
        allowed = {State(row.next)}
    allowed |= _refinements(row.action)
    if result not in allowed:
        return f"{state.value}+{event.value} ({row.action}) → {result.value}, row says {row.next}"
    if not (turn.parts or turn.extra_jobs):
        return f"{state.value}+{event.value} ({row.action}) produced no message at all"
    return None


async def test_walk_every_row_and_print_coverage(conv: Conversation) -> None:
    walked: Counter[str] = Counter()
    failures: list[str] = []
    for state, event in sorted(TABLE, key=lambda k: (k[0].value, k[1].value)):
        problem = await _walk(conv, state, event)
        if problem:
            failures.append(problem)
        else:
            walked[state.value] += 1
    total = Counter(state.value for state, _ in TABLE)
    print("\nFSM table coverage (rows that behaved as the table says / rows):")
    for state in State:
        if total[state.value]:
            print(f"  {state.value:<22} {walked[state.value]:>3} / {total[state.value]}")
    print(f"  {'all':<22} {sum(walked.values()):>3} / {len(TABLE)}")
    assert not failures, "\n".join(failures)


def _refinements(action: str) -> set[State]:
    """Actions whose row leaves room for what the data says (documented in their modules)."""
    return {
        "book": {State.IDLE, State.COLLECTING_DATETIME},
        "unknown": {State.HANDOFF_TO_ADMIN},
        "start_cancel": {State.IDLE},
        "cancel_step": {State.IDLE, State.CANCEL_FLOW, *BOOKING_STATES},
        "collect_series": {State.IDLE},
        "show_schedule": {State.IDLE, *BOOKING_STATES},
        "acknowledge": set(BOOKING_STATES),
        "correct": {State.CONFIRM_BOOKING},
        "rejected": {State.IDLE},
        "book_series": {State.IDLE, State.SERIAL_BOOKING},
    }.get(action, set())


def test_every_state_of_the_contract_has_rows() -> None:
    states_with_rows = {state for state, _ in TABLE}
    # BOOKING_DONE is passed through within one turn (the receipt), never waited in.
    assert set(State) - states_with_rows == {State.BOOKING_DONE}
