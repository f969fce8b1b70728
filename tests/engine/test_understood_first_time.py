"""Conversation II on the bare engine (PRODUCT.md §5): each class of message is understood the first time,
whatever the sentence form — several phrasings per class, typos and run-ons included. Server-free: the
demo schedule in memory, Wed 2026-12-02 15:00. The same classes run end to end in tests/conversations."""

from __future__ import annotations

import pytest

from dancebot.conversation.effects import Book, BookSeries
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.session import Profile, Session
from dancebot.conversation.states import Event, State
from tests.engine.pure import StaticCRM, make_engine, say

PHONE = "89141234567"


@pytest.fixture
def engine() -> tuple[Engine, StaticCRM]:
    return make_engine()


async def _talk(eng: Engine, *lines: str) -> tuple[Session, list[Step]]:
    s = Session(channel="telegram", chat_id=1)
    profile = Profile()
    steps = []
    for line in lines:
        step = await say(eng, s, line, profile)
        profile = step.profile
        steps.append(step)
    return s, steps


def _said(step: Step) -> str:
    return "\n".join(j.text for j in step.jobs if j.kind == "message")


@pytest.mark.parametrize(
    ("text", "day", "time"),
    [
        (f"а можно к Насте на хилс в чт к восьми? Лена {PHONE}", "03.12", "20:00"),
        (f"хотела бы на растяжку в субботу утром, Оля {PHONE}", "05.12", "09:00"),
        (f"запишешь меня на сальсу в пятницу? Маша {PHONE}", "04.12", "20:15"),
        (f"можно записаться на хип хоп в чт в 18, меня зовут Лена, {PHONE}", "03.12", "18:00"),
        (f"а можно на контемп в пт в полвосьмого вечера, Ира {PHONE}", "04.12", "19:30"),
        (f"хочу к Диме в субботу в 11 я Оля {PHONE}", "05.12", "11:00"),
        (f"could i join salsa on friday at 8:15 pm? Kate {PHONE}", "04.12", "20:15"),
    ],
)
async def test_a_booking_asked_as_a_question_or_a_wish_goes_straight_to_the_summary(
    engine: tuple[Engine, StaticCRM], text: str, day: str, time: str
) -> None:
    eng, _ = engine
    s, [step] = await _talk(eng, text)
    if s.state == State.COLLECTING_DATETIME:  # "к семи" when the class is at 19:30: the nearest is offered
        pytest.fail(f"asked again instead of the summary: {_said(step)!r}")
    assert s.state == State.CONFIRM_BOOKING, _said(step)
    assert day in _said(step) and time in _said(step)


@pytest.mark.parametrize(
    "question",
    ["на какое направление?", "хочу записаться", "хочу на занятие", "запишите меня пожалуйста"],
)
async def test_a_complete_booking_sent_while_a_question_is_pending_keeps_every_slot(
    engine: tuple[Engine, StaticCRM], question: str
) -> None:
    eng, _ = engine
    s, steps = await _talk(eng, question, f"хилс в чт в 20, Анна {PHONE}")
    assert s.state == State.CONFIRM_BOOKING and "Анна" in _said(steps[-1])


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("запишите на хилс в чт в 20, Анна тел 12345", "12345"),
        ("на хилс в чт в 20 Анна номер 914-12", "914-12"),
        ("хилс чт 25:00 Анна 89141234567", "25:00"),
        ("на сальсу в пт в 26:30 Вика 89141234567", "26:30"),
    ],
)
async def test_a_value_that_cannot_be_right_is_named_and_the_rest_is_kept(
    engine: tuple[Engine, StaticCRM], text: str, named: str
) -> None:
    eng, _ = engine
    s, [step] = await _talk(eng, text)
    said = _said(step)
    assert f"«{named}»" in said and ("+7" in said or "19:00" in said)
    assert s.slots.client_name in ("Анна", "Вика") and s.slots.style is not None


@pytest.mark.parametrize(
    ("first", "correction", "expect"),
    [
        ("запишите на хилс в чт в 20", "а давай в субботу", "14:00"),  # one class that day → taken, time changed
        ("хочу на хип-хоп в чт в 18", "а можно в субботу?", "11:00, 12:00"),  # several → that day's buttons
        ("хочу на хип-хоп в чт в 18", "лучше в субботу", "11:00, 12:00"),
        ("на стретчинг в пт в 9", "а на Гоголя?", "Ближайшие"),  # none there that day → the nearest days
    ],
)
async def test_a_correction_re_resolves_what_depends_on_it(
    engine: tuple[Engine, StaticCRM], first: str, correction: str, expect: str
) -> None:
    eng, _ = engine
    s, steps = await _talk(eng, f"{first}, Анна {PHONE}", correction)
    assert expect in _said(steps[-1])
    if expect == "14:00":
        assert s.state == State.CONFIRM_BOOKING and "сб 05.12 в 14:00" in _said(steps[-1])


async def test_a_bare_yes_to_several_options_is_not_a_choice(engine: tuple[Engine, StaticCRM]) -> None:
    eng, _ = engine
    s, steps = await _talk(eng, f"хочу на хилс, Анна {PHONE}", "да")
    assert s.state == State.COLLECTING_DATETIME and "Какой вариант" in _said(steps[-1])
    assert len(steps[-1].jobs[-1].buttons) == 3


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("а где это?", "Гоголя, 41"),
        ("где это находится", "Гоголя, 41"),
        ("кто ведёт?", "Анастасия"),
        ("а кто ведет занятие", "Анастасия"),
        ("во сколько заканчивается?", "до 21:00"),
        ("до скольки оно?", "до 21:00"),
        ("сколько стоит?", "700 ₽"),
        ("что взять с собой?", "туфли"),
    ],
)
async def test_a_question_about_the_pending_class_is_answered_and_the_booking_kept(
    engine: tuple[Engine, StaticCRM], question: str, answer: str
) -> None:
    eng, _ = engine
    s, steps = await _talk(eng, f"запишите на хилс в чт в 20, Анна {PHONE}", question)
    assert answer in _said(steps[-1]) and "Всё верно?" in _said(steps[-1])
    assert s.state == State.CONFIRM_BOOKING
    yes = await say(eng, s, "да")
    [book] = yes.effects
    assert isinstance(book, Book) and book.occurrence.start.strftime("%d.%m %H:%M") == "03.12 20:00"


@pytest.mark.parametrize(
    ("first", "follow_up", "expect", "not_expect"),
    [
        ("сколько стоит хилс?", "а на сальсу?", "Сальса — 650 ₽", "Ср 02.12"),
        ("почем хип-хоп", "а контемп?", "Contemporary — 650 ₽", "Пт 04.12"),
        ("какое расписание на пятницу?", "а в субботу?", "Сб 05.12", "Пт 04.12"),
        ("что есть в четверг вечером", "а в пятницу?", "Пт 04.12", "Чт 03.12"),
        ("когда занимается Настя?", "а Дима?", "Hip-Hop — Дима", "High Heels — Настя"),
    ],
)
async def test_an_elliptic_follow_up_inherits_the_last_question(
    engine: tuple[Engine, StaticCRM], first: str, follow_up: str, expect: str, not_expect: str
) -> None:
    eng, _ = engine
    _, steps = await _talk(eng, first, follow_up)
    assert expect in _said(steps[-1]) and not_expect not in _said(steps[-1])


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("абонемент на 8 занятий сколько стоит", "4400 ₽"),
        ("8 занятий скок", "4400 ₽"),
        ("сколько стоит абонемент на 4 занятия?", "2400 ₽"),
        ("пробное занятие сколько стоит?", "Пробное занятие стоит как разовое"),
        ("первое занятие платное?", "Пробное занятие"),
    ],
)
async def test_numbers_and_trials_mean_what_the_sentence_says(
    engine: tuple[Engine, StaticCRM], text: str, expect: str
) -> None:
    eng, _ = engine
    s, [step] = await _talk(eng, text)
    assert expect in _said(step) and s.state != State.SERIAL_BOOKING


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        (f"запишите на хилс на ближайшие три четверга, Анна {PHONE}", ["03.12", "10.12"]),
        (f"на сальсу каждую среду до конца месяца Анна {PHONE}", ["02.12", "09.12"]),
        (f"на хип-хоп на два следующих четверга, Анна {PHONE}", ["03.12", "10.12"]),
        (f"запишите 2 раза подряд по пн на контемп, Анна {PHONE}", ["07.12", "14.12"]),
        (f"хочу на все среды на хилс анна {PHONE}", ["02.12", "09.12"]),
    ],
)
async def test_a_series_of_that_many_dates_in_one_summary_and_one_yes(
    engine: tuple[Engine, StaticCRM], text: str, dates: list[str]
) -> None:
    eng, _ = engine
    s, [step] = await _talk(eng, text)
    assert s.state == State.SERIAL_BOOKING
    for day in dates:
        assert day in _said(step)
    yes = await say(eng, s, "да")
    [series] = yes.effects
    assert isinstance(series, BookSeries) and [o.start.strftime("%d.%m") for o in series.occurrences] == dates


async def test_a_schedule_question_during_the_summary_never_swaps_the_booking(
    engine: tuple[Engine, StaticCRM],
) -> None:
    eng, _ = engine
    s, steps = await _talk(eng, f"запишите на хилс в чт в 20, Анна {PHONE}", "а что есть в субботу?")
    assert "Сб 05.12" in _said(steps[-1]) and "Всё верно?" in _said(steps[-1]) and s.state == State.CONFIRM_BOOKING
    assert s.slots.occurrence is not None and s.slots.occurrence.start.strftime("%d.%m") == "03.12"
    _ = Event  # the table decides; nothing here dispatches by hand
