"""Walks every row of the FSM table through the engine, without a server, and prints the table's coverage
(PRODUCT.md §5).

For each (state, event) row: a session is put in that state with the slots the state implies, the event
is dispatched with a representative client message (or the outcome a system event carries), and the
resulting state must be one the row names — read from the table itself — and the client, the admin or
the outside world must hear of it (a reply or an effect).
"""

from __future__ import annotations

import ast
import inspect
from collections import Counter
from pathlib import Path

import pytest

from dancebot.conversation.effects import (
    AdminText,
    BookingOutcome,
    Cancel,
    CancelOutcome,
    Outcome,
    SeriesOutcome,
)
from dancebot.conversation.engine import Engine
from dancebot.conversation.fsm import TABLE
from dancebot.conversation.session import CancelFlow, Profile, Session, Slots
from dancebot.conversation.states import SYSTEM_EVENTS, Event, State
from dancebot.crm.booking import BookingResult
from dancebot.crm.models import Occurrence
from dancebot.understanding.seam import Hints, RulesUnderstander
from tests.engine.pure import NOW, StaticCRM, make_engine, message

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
    Event.FREEZE: "хочу заморозить абонемент",
    Event.COMPLAINT: "хочу пожаловаться на тренера",
}


@pytest.fixture(scope="module")
def engine() -> tuple[Engine, StaticCRM]:
    return make_engine()


async def _occurrence(crm: StaticCRM) -> Occurrence:
    return next(o for o in await crm.occurrences(NOW) if o.is_bookable and o.style_id == 11)


def _session(state: State, chat_id: int, occ: Occurrence) -> Session:
    s = Session(channel="telegram", chat_id=chat_id, state=state.value, language="ru")
    slots = Slots()
    if state in (
        State.COLLECTING_DATETIME,
        State.COLLECTING_CONTACT,
        State.CONFIRM_BOOKING,
        State.BOOKING_IN_PROGRESS,
        State.SERIAL_BOOKING,
    ):
        slots.style = "high_heels"
    if state in (State.COLLECTING_CONTACT, State.CONFIRM_BOOKING, State.BOOKING_IN_PROGRESS):
        slots.occurrence = occ
    if state in (State.CONFIRM_BOOKING, State.BOOKING_IN_PROGRESS, State.SERIAL_BOOKING):
        slots.client_name, slots.client_phone = "Анна", "+79141234567"
    if state is State.SERIAL_BOOKING:
        slots.series = [occ]
    s.slots = slots
    if state is State.CANCEL_FLOW:
        s.pending.cancel = CancelFlow(mode="cancel", step="phone")
    s.pending.question = "На какое время?"
    return s


def _outcome(event: Event, occ: Occurrence) -> Outcome | None:
    cancel = Cancel(reservation_id=5001, occurrence_id=occ.occurrence_id, phone="+79141234567", line="Ср 09.12")
    booked = BookingResult(status="booked", reason=None, client_id=1, occurrence=occ)
    return {
        Event.CRM_OK: BookingOutcome("booked"),
        Event.CRM_DUPLICATE: BookingOutcome("duplicate", "recent"),
        Event.CRM_REJECTED: BookingOutcome("rejected", "full"),
        Event.CRM_UNAVAILABLE: BookingOutcome("unknown", "timeout"),
        Event.SERIES_DONE: SeriesOutcome((booked,)),
        Event.CANCEL_DONE: CancelOutcome(cancel),
        Event.CANCEL_FAILED: CancelOutcome(cancel, reason="CRMUnavailable"),
        Event.ADMIN_REPLY: AdminText("Да, можно"),
    }.get(event)


async def _walk(engine: Engine, crm: StaticCRM, state: State, event: Event) -> str | None:
    """Dispatch one row; None when it behaved as the table says, else what went wrong."""
    row = TABLE[(state, event)]
    chat_id = 7_000_000 + list(TABLE).index((state, event))  # one chat per row, stable across runs
    occ = await _occurrence(crm)
    session = _session(state, chat_id, occ)
    text = "" if event in SYSTEM_EVENTS else SAMPLE_TEXT.get(event, "")
    callback = f"pick:{occ.occurrence_id}" if event is Event.PICK else None
    msg = message(chat_id, text or None, callback=callback)
    u = RulesUnderstander(engine.deps.kb).read(msg, Hints(now=NOW, state_hint=state.value, language="ru"))
    turn = engine.turn(msg, session, Profile(), u, now=NOW, outcome=_outcome(event, occ))
    await engine.dispatch(turn, event)  # raises IllegalTransition for a state the row does not name
    result = State(session.state)
    if result not in row.next:
        return f"{state.value}+{event.value} ({row.name}) → {result.value}, the table names {sorted(row.next)}"
    if not (turn.parts or turn.effects):
        return f"{state.value}+{event.value} ({row.name}) produced nothing at all"
    return None


async def test_walk_every_row_and_print_coverage(engine: tuple[Engine, StaticCRM]) -> None:
    eng, crm = engine
    walked: Counter[str] = Counter()
    failures: list[str] = []
    for state, event in sorted(TABLE, key=lambda k: (k[0].value, k[1].value)):
        problem = await _walk(eng, crm, state, event)
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


def test_every_state_of_the_contract_has_rows() -> None:
    assert {state for state, _ in TABLE} == set(State)


def test_every_state_a_row_names_can_be_left() -> None:
    # No dead ends: any state the table can lead to has rows of its own.
    targets = {s for row in TABLE.values() for s in row.next}
    assert targets <= {state for state, _ in TABLE}


def test_actions_never_call_other_actions() -> None:
    # An action says what happens through its state and effects; shared steps are helpers, not actions.
    actions = {row.action for row in TABLE.values()}
    names = {a.__name__ for a in actions}
    for action in actions:
        tree = ast.parse(inspect.getsource(action))
        called = {
            n.func.id if isinstance(n.func, ast.Name) else n.func.attr
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name | ast.Attribute)
        }
        assert not (called & names) - {action.__name__}, f"{action.__name__} calls {called & names}"
        assert "dispatch" not in called


def test_the_conversation_room_has_no_import_cycle() -> None:
    root = Path(__file__).resolve().parents[2] / "src" / "dancebot" / "conversation"
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        module = "dancebot.conversation." + ".".join(path.relative_to(root).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dancebot.conversation"):
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
        graph[module] = deps
    graph = {m: {d for d in deps if d in graph} for m, deps in graph.items()}

    def visit(m: str, path: tuple[str, ...]) -> None:
        assert m not in path, " → ".join((*path, m))
        for d in graph[m]:
            visit(d, (*path, m))

    for m in graph:
        visit(m, ())
