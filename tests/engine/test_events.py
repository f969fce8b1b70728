"""Real client messages, read by the rules, become the FSM event PRODUCT.md §5 names for that state (slots: §5.1).

Each case runs the whole pure path the engine runs: `understand(text, state_hint=state)` then
`classify(understanding, state)`. No servers.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.events import classify
from dancebot.conversation.fsm import lookup
from dancebot.conversation.states import Event, State
from dancebot.kb import KnowledgeBase, load_kb
from dancebot.understanding.seam import Hints, RulesUnderstander

NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Vladivostok"))
S, E = State, Event


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_kb("knowledge/studio.yaml").kb


def event_for(kb: KnowledgeBase, text: str, state: State, callback: str | None = None) -> Event:
    msg = UnifiedMessage(
        channel="telegram",
        chat_id=1,
        message_id="1",
        timestamp=NOW,
        text=text or None,
        callback_data=callback,
        message_type="callback" if callback else "text",
    )
    u = RulesUnderstander(kb).read(msg, Hints(now=NOW, state_hint=state.value))
    return classify(u, state)


# (state, message, expected event)
CASES = [
    # the summary: only an explicit yes confirms; anything carrying a slot is a correction
    (S.CONFIRM_BOOKING, "да", E.YES),
    (S.CONFIRM_BOOKING, "Да, всё верно", E.YES),
    (S.CONFIRM_BOOKING, "подтверждаю", E.YES),
    (S.CONFIRM_BOOKING, "ок", E.YES),
    (S.CONFIRM_BOOKING, "верно", E.YES),
    (S.CONFIRM_BOOKING, "ага, записывайте", E.YES),
    (S.CONFIRM_BOOKING, "хочу в пятницу", E.NO),
    (S.CONFIRM_BOOKING, "нет, на 19", E.NO),
    (S.CONFIRM_BOOKING, "да, но лучше в 19", E.NO),
    (S.CONFIRM_BOOKING, "да давайте в четверг", E.NO),
    (S.CONFIRM_BOOKING, "давайте лучше к Диме на хип-хоп", E.NO),
    (S.CONFIRM_BOOKING, "неа", E.NO),
    # leaving a booking flow
    (S.COLLECTING_DATETIME, "передумал", E.ABORT),
    (S.COLLECTING_CONTACT, "не, передумала, потом", E.ABORT),
    (S.CONFIRM_BOOKING, "отмена", E.ABORT),
    (S.COLLECTING_DATETIME, "стоп", E.ABORT),
    (S.CANCEL_FLOW, "отмена", E.YES),  # to "Отменить запись?" it agrees (tests/engine/test_confirm_restating.py)
    # a human, from anywhere
    (S.IDLE, "позовите администратора", E.ADMIN),
    (S.CONFIRM_BOOKING, "позовите администратора", E.ADMIN),
    (S.CANCEL_FLOW, "позовите администратора", E.ADMIN),
    (S.COLLECTING_DATETIME, "можно с живым человеком поговорить?", E.ADMIN),
    (S.IDLE, "Позовите админа пожалуйста", E.ADMIN),
    # running late is not a class time
    (S.IDLE, "опаздываю минут на 10", E.LATENESS),
    (S.COLLECTING_DATETIME, "опаздываю минут на 10", E.LATENESS),
    (S.IDLE, "я опоздаю на 15 минут, пробки", E.LATENESS),
    (S.CONFIRM_BOOKING, "опаздываю минут на 10", E.LATENESS),  # a delay, not a correction to 10:00
    # asking what there is shows the schedule; wanting a class books
    (S.IDLE, "что есть на Светланской вечером?", E.SCHEDULE),
    (S.IDLE, "что есть на гоголя в субботу?", E.SCHEDULE),
    (S.IDLE, "какое расписание на завтра?", E.SCHEDULE),
    (S.IDLE, "когда у Насти хилс?", E.SCHEDULE),
    (S.IDLE, "хочу на хилс в пт", E.BOOKING),
    (S.IDLE, "хачу на хилз в пятницу", E.BOOKING),
    (S.IDLE, "запишите меня к насте на каблуки завтра в 7 вечера", E.BOOKING),
    (S.COLLECTING_INTENT, "хочу записаться на растяжку к Оле", E.BOOKING),
    (S.IDLE, "Привет! хочу на растяжку", E.BOOKING),
    (S.IDLE, "хочу на хилс, и сколько стоит разовое?", E.BOOKING),  # booking first, the price with it
    # a bare answer to the pending question
    (S.COLLECTING_DATETIME, "в пятницу", E.SLOTS),
    (S.COLLECTING_DATETIME, "хочу в пятницу", E.SLOTS),
    (S.COLLECTING_DATETIME, "в пт в 19", E.SLOTS),
    (S.COLLECTING_DATETIME, "на пятницу к Диме", E.SLOTS),
    (S.COLLECTING_GROUP, "хип хоп", E.SLOTS),
    (S.COLLECTING_CONTACT, "Марина", E.SLOTS),
    (S.COLLECTING_CONTACT, "меня зовут Аня, 8 914 123-45-67", E.SLOTS),
    (S.CANCEL_FLOW, "8 914 123 45 67", E.SLOTS),
    # side questions in the middle of a booking
    (S.COLLECTING_DATETIME, "сколько стоит?", E.PRICE),
    (S.COLLECTING_DATETIME, "сколько стоит хилс?", E.PRICE),  # answered, not read as a new style
    (S.CONFIRM_BOOKING, "сколько стоит растяжка?", E.PRICE),
    (S.COLLECTING_DATETIME, "а где вы находитесь?", E.INFO),
    (S.IDLE, "сколько стоит абонемент?", E.PRICE),
    # a style the studio does not have: answered with what it has, never invented
    (S.IDLE, "есть бачата?", E.BOOKING),
    (S.IDLE, "а кизомба у вас есть?", E.BOOKING),
    # the client's own bookings
    (S.IDLE, "мои записи", E.MY_BOOKINGS),
    (S.COLLECTING_DATETIME, "мои записи", E.MY_BOOKINGS),
    (S.IDLE, "на когда я записана?", E.MY_BOOKINGS),
    (S.IDLE, "отмените запись", E.CANCEL),
    (S.IDLE, "хочу отменить запись на пятницу", E.CANCEL),
    (S.COLLECTING_DATETIME, "отмените мою запись на пятницу", E.CANCEL),
    (S.IDLE, "перенесите мою запись", E.CANCEL),
    (S.IDLE, "запишите на все среды", E.SERIAL_BOOKING),
    (S.COLLECTING_DATETIME, "запишите на все среды в декабре", E.SERIAL_BOOKING),
    (S.IDLE, "на 3 занятия по пн и ср", E.SERIAL_BOOKING),
    # yes/no where a yes/no was asked
    (S.CANCEL_FLOW, "да", E.YES),
    (S.CANCEL_FLOW, "нет", E.NO),
    (S.SERIAL_BOOKING, "да", E.YES),
    (S.COLLECTING_DATETIME, "нет", E.NO),
    # small talk and noise
    (S.IDLE, "привет", E.GREETING),
    (S.IDLE, "спасибо!", E.THANKS),
    (S.IDLE, "ыфвапр", E.UNKNOWN),
]


def _ids(cases: list[tuple[State, str, Event]]) -> list[str]:
    return [f"{i:02d}-{state.value}-{event.value}" for i, (state, _, event) in enumerate(cases)]


@pytest.mark.parametrize(("state", "text", "expected"), CASES, ids=_ids(CASES))
def test_message_in_state_gives_event(kb: KnowledgeBase, state: State, text: str, expected: Event) -> None:
    assert event_for(kb, text, state) == expected, text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("pick:302:2026-12-09", E.PICK),
        ("style:high_heels", E.PICK),
        ("yes", E.YES),
        ("no", E.NO),
        ("admin", E.ADMIN),
        ("abort", E.ABORT),
    ],
)
def test_button_press_gives_event_whatever_the_text(kb: KnowledgeBase, data: str, expected: Event) -> None:
    # A button's data decides, even where the text alone would mean something else.
    assert event_for(kb, "", S.CONFIRM_BOOKING, callback=data) == expected
    assert event_for(kb, "хочу в пятницу", S.COLLECTING_DATETIME, callback=data) == expected


def test_a_booking_button_picks_inside_the_cancel_flow_and_starts_it_elsewhere(kb: KnowledgeBase) -> None:
    assert event_for(kb, "", S.CANCEL_FLOW, callback="bk:5001") == E.PICK
    assert event_for(kb, "", S.IDLE, callback="bk:5001") == E.CANCEL


def test_yes_where_nothing_was_summarised_never_books(kb: KnowledgeBase) -> None:
    for state in (S.IDLE, S.COLLECTING_DATETIME, S.COLLECTING_CONTACT):
        event = event_for(kb, "да", state)
        row = lookup(state, event)
        assert event == E.YES
        assert row is not None and S.BOOKING_IN_PROGRESS not in row.next
