"""Degradation L3 in every branch that finds the CRM down (PRODUCT.md §9.3, contract §13): with the LLM
down too, the client reads "Технические неполадки, администратор свяжется с вами" and exactly one `l3`
request is recorded with what the client wanted; with only one of the two down (L1, L2) each branch keeps
its own words.

Server-free: the pure engine over the demo schedule. The LLM being down is what the LLM layer's
`WithLLMHealth` does to every understanding (`llm_down`); booking and cancel outcomes come back as system
events, as the runner feeds them (their round trip through the real runner is in
tests/engine/test_degradation_l3_runner.py).
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.effects import (
    AlertAdmin,
    Book,
    BookingOutcome,
    BookSeries,
    Cancel,
    CancelOutcome,
    RecordFallback,
    SeriesOutcome,
)
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.session import Profile, Session
from dancebot.conversation.states import Event, State
from dancebot.crm.booking import BookingResult
from dancebot.crm.models import BookedClass, Occurrence
from dancebot.understanding.rules import Understanding
from dancebot.understanding.seam import Hints, Understander
from tests.engine.pure import NOW, StaticCRM, make_engine, say

TECHNICAL = "Технические неполадки, администратор свяжется с вами"
PHONE = "+79141234567"
_chats = itertools.count(1)


class LLMDown:
    """The LLM layer while the model is down or over budget: every understanding is marked (L2)."""

    def __init__(self, inner: Understander) -> None:
        self._inner = inner

    async def understand(self, msg: UnifiedMessage, hints: Hints) -> Understanding:
        return dataclasses.replace(await self._inner.understand(msg, hints), llm_down=True)


def engine_at(level: str) -> tuple[Engine, StaticCRM]:
    """L1: the CRM down; L2: the LLM down; L3: both."""
    eng, crm = make_engine()
    if level in ("L2", "L3"):
        eng.understander = LLMDown(eng.understander)
    return eng, crm


def fresh() -> Session:
    return Session(channel="telegram", chat_id=next(_chats), language="ru")


def text(step: Step) -> str:
    return "\n".join(j.text for j in step.jobs)


def requests(*steps: Step) -> list[RecordFallback]:
    return [e for step in steps for e in step.effects if isinstance(e, RecordFallback)]


def booked_class(occ: Occurrence, reservation_id: int = 5001) -> BookedClass:
    return BookedClass(
        reservation_id=reservation_id,
        occurrence_id=occ.occurrence_id,
        schedule_id=occ.schedule_id,
        date=occ.date,
        start=occ.start,
        end=occ.end,
        group_name=occ.group_name,
        style_name=occ.style_name,
        teacher_name=occ.teacher_name,
        branch_crm_id=occ.branch_crm_id,
        hall_name=occ.hall_name,
    )


async def to_summary(eng: Engine, s: Session, wish: str = "хочу на хилс в субботу") -> Step:
    """A booking up to its summary, the CRM up."""
    await say(eng, s, wish)
    step = await say(eng, s, "Анна 89141234567")
    assert s.state == State.CONFIRM_BOOKING, text(step)
    return step


# ---- the schedule ----------------------------------------------------------------------------------------

SCHEDULE_QUESTIONS = [
    "какое расписание на завтра?",
    "что есть на хилс в четверг?",
    "когда занятия по сальсе?",
    "покажите расписание на субботу",
    "а в пятницу вечером что есть?",
]


@pytest.mark.parametrize("question", SCHEDULE_QUESTIONS)
async def test_l3_a_schedule_question_gets_technical_issues_and_one_request(question: str) -> None:
    eng, crm = engine_at("L3")
    crm.down = True
    s = fresh()
    step = await say(eng, s, question)
    assert TECHNICAL in text(step) and "расписание" not in text(step).lower()
    [request] = requests(step)
    assert request.kind == "l3" and question in request.details["request"]
    assert s.state == State.IDLE


@pytest.mark.parametrize("question", SCHEDULE_QUESTIONS[:3])
async def test_l1_a_schedule_question_keeps_its_own_words(question: str) -> None:
    eng, crm = engine_at("L1")
    crm.down = True
    step = await say(eng, fresh(), question)
    assert "Сейчас не могу проверить расписание" in text(step) and TECHNICAL not in text(step)
    assert any(isinstance(e, AlertAdmin) for e in step.effects)
    [request] = requests(step)  # on the admin's /requests too, with the client's words (SPEC §7.2)
    assert request.kind == "question" and question in request.details["request"]


ASIDES = ["а что есть в субботу?", "какое расписание на пятницу?", "а что у вас по четвергам?"]


@pytest.mark.parametrize("aside", ASIDES)
async def test_l3_a_schedule_question_aside_records_the_waiting_booking_once(aside: str) -> None:
    eng, crm = engine_at("L3")
    s = fresh()
    await to_summary(eng, s)
    crm.down = True
    step = await say(eng, s, aside)
    assert TECHNICAL in text(step) and "Проверьте" not in text(step)  # no summary asked again
    [request] = requests(step)
    assert request.kind == "l3" and request.details["phone"] == PHONE and request.details["name"] == "Анна"
    assert "High Heels" in request.details["class"] and aside in request.details["request"]
    assert s.state == State.IDLE and s.slots.occurrence is None


@pytest.mark.parametrize("level", ["L1", "L2"])
@pytest.mark.parametrize("aside", ASIDES[:2])
async def test_l1_l2_a_schedule_question_aside_keeps_the_booking_waiting(level: str, aside: str) -> None:
    eng, crm = engine_at(level)
    s = fresh()
    await to_summary(eng, s)
    crm.down = level == "L1"
    step = await say(eng, s, aside)
    assert TECHNICAL not in text(step)
    assert "Проверьте" in text(step) and s.state == State.CONFIRM_BOOKING  # the summary is asked again
    if level == "L1":
        assert "Сейчас не могу проверить расписание" in text(step)
        assert [(r.kind, aside in r.details["request"]) for r in requests(step)] == [("question", True)]
    else:
        assert requests(step) == []
        assert "Сейчас не могу" not in text(step)  # L2: the CRM answers, the list is shown


# ---- "мои записи", cancel, reschedule ----------------------------------------------------------------------

CANCEL_WISHES = [
    ("отмените мою запись", "отменить запись"),
    ("хочу отменить занятие", "отменить запись"),
    ("мои записи", "посмотреть свои записи"),
    ("на что я записана?", "посмотреть свои записи"),
    ("куда я записана", "посмотреть свои записи"),
    ("перенесите мою запись на субботу", "перенести запись"),
]


@pytest.mark.parametrize(("wish", "what"), CANCEL_WISHES)
async def test_l3_my_bookings_and_cancels_get_technical_issues_and_one_request(wish: str, what: str) -> None:
    eng, crm = engine_at("L3")
    crm.down = True
    s = fresh()
    step = await say(eng, s, wish, Profile(name="Анна", phone=PHONE, own_phone=PHONE))
    assert TECHNICAL in text(step), text(step)
    [request] = requests(step)
    assert request.kind == "l3" and request.details["phone"] == PHONE and request.details["name"] == "Анна"
    assert request.details["request"].startswith(what) and wish in request.details["request"]
    assert s.state == State.IDLE and s.pending.cancel is None


@pytest.mark.parametrize("level", ["L1", "L2"])
@pytest.mark.parametrize(("wish", "what"), CANCEL_WISHES[:3])
async def test_l1_l2_my_bookings_and_cancels_keep_their_words(level: str, wish: str, what: str) -> None:
    eng, crm = engine_at(level)
    occ = next(o for o in await crm.occurrences(NOW) if o.is_bookable)
    crm.bookings[PHONE] = [booked_class(occ)]
    crm.down = level == "L1"
    step = await say(eng, fresh(), wish, Profile(phone=PHONE, own_phone=PHONE))
    assert TECHNICAL not in text(step)
    if level == "L1":
        assert "Сейчас не могу проверить" in text(step)
        kind = "cancel" if what == "отменить запись" else "question"
        assert [(r.kind, r.details["phone"], wish in r.details["request"]) for r in requests(step)] == [
            (kind, PHONE, True)
        ]
    else:
        assert requests(step) == []
        assert "High Heels" in text(step)  # L2: the CRM answers with the booking


async def test_l3_a_cancel_the_crm_fails_is_one_l3_request_and_the_words() -> None:
    eng, crm = engine_at("L3")
    occ = next(o for o in await crm.occurrences(NOW) if o.is_bookable)
    crm.bookings[PHONE] = [booked_class(occ)]
    s, profile = fresh(), Profile(phone=PHONE, own_phone=PHONE)
    await say(eng, s, "отмените запись", profile)
    step = await say(eng, s, "подтверждаю", profile)
    [cancel] = step.effects
    assert isinstance(cancel, Cancel) and cancel.llm_down  # the outcome will know the level
    failed = CancelOutcome(cancel, reason="CRMUnavailable")
    done = await eng.system_event(s, profile, Event.CANCEL_FAILED, now=NOW, trace_id="t", outcome=failed)
    assert TECHNICAL in text(done) and "Не получилось отменить" not in text(done)
    [request] = requests(done)
    assert request.kind == "l3" and request.details["reservation_id"] == 5001 and request.details["phone"] == PHONE
    assert request.details["request"] == "отменить запись"


async def test_l1_a_cancel_the_crm_fails_stays_a_cancel_request() -> None:
    eng, crm = engine_at("L1")
    occ = next(o for o in await crm.occurrences(NOW) if o.is_bookable)
    crm.bookings[PHONE] = [booked_class(occ)]
    s, profile = fresh(), Profile(phone=PHONE, own_phone=PHONE)
    await say(eng, s, "отмените запись", profile)
    [cancel] = (await say(eng, s, "да", profile)).effects
    assert isinstance(cancel, Cancel) and not cancel.llm_down
    failed = CancelOutcome(cancel, reason="CRMUnavailable")
    done = await eng.system_event(s, profile, Event.CANCEL_FAILED, now=NOW, trace_id="t", outcome=failed)
    assert "Не получилось отменить" in text(done) and [r.kind for r in requests(done)] == ["cancel"]


# ---- the booking's own outcome ----------------------------------------------------------------------------


@pytest.mark.parametrize("yes", ["да", "да, записывайте", "верно", "подтверждаю"])
async def test_l3_the_crm_down_at_the_yes_is_technical_issues_and_one_request(yes: str) -> None:
    eng, _ = engine_at("L3")
    s, profile = fresh(), Profile()
    await to_summary(eng, s)
    step = await say(eng, s, yes, profile)
    [book] = step.effects
    assert isinstance(book, Book) and book.llm_down and s.state == State.BOOKING_IN_PROGRESS
    outcome = BookingOutcome("unavailable", "unavailable", llm_down=book.llm_down)  # as the runner returns it
    done = await eng.system_event(s, step.profile, Event.CRM_UNAVAILABLE, now=NOW, trace_id="t", outcome=outcome)
    assert TECHNICAL in text(done) and "Заявку записала" not in text(done)
    [request] = requests(done)
    assert request.kind == "l3" and request.details["phone"] == PHONE and "High Heels" in request.details["class"]
    assert s.state == State.IDLE


async def test_l1_the_crm_down_at_the_yes_is_the_usual_booking_request() -> None:
    eng, _ = engine_at("L1")
    s = fresh()
    await to_summary(eng, s)
    [book] = (await say(eng, s, "да")).effects
    assert isinstance(book, Book) and not book.llm_down
    outcome = BookingOutcome("unavailable", "unavailable")
    done = await eng.system_event(s, Profile(), Event.CRM_UNAVAILABLE, now=NOW, trace_id="t", outcome=outcome)
    assert "Заявку записала" in text(done) and TECHNICAL not in text(done)
    assert [r.kind for r in requests(done)] == ["booking"]


async def test_l3_a_rejected_booking_whose_alternatives_cannot_be_read_is_technical_issues() -> None:
    eng, crm = engine_at("L3")
    s = fresh()
    await to_summary(eng, s)
    [book] = (await say(eng, s, "да")).effects
    assert isinstance(book, Book)
    crm.down = True  # the class was full, and the CRM went away before the alternatives were read
    outcome = BookingOutcome("rejected", "full", llm_down=book.llm_down)
    done = await eng.system_event(s, Profile(), Event.CRM_REJECTED, now=NOW, trace_id="t", outcome=outcome)
    assert TECHNICAL in text(done) and [r.kind for r in requests(done)] == ["l3"] and s.state == State.IDLE


async def test_l3_a_series_the_crm_took_none_of_is_technical_issues_and_one_request() -> None:
    eng, _ = engine_at("L3")
    s = fresh()
    await say(eng, s, "запишите на хилс на все субботы")
    await say(eng, s, "Анна 89141234567")
    assert s.state == State.SERIAL_BOOKING
    step = await say(eng, s, "да")
    [series] = step.effects
    assert isinstance(series, BookSeries) and series.llm_down
    results = tuple(
        BookingResult(status="unavailable", reason="unavailable", client_id=None, occurrence=o)
        for o in series.occurrences
    )
    outcome = SeriesOutcome(results, llm_down=True)
    done = await eng.system_event(s, Profile(), Event.SERIES_DONE, now=NOW, trace_id="t", outcome=outcome)
    assert TECHNICAL in text(done) and "Готово" not in text(done)
    [request] = requests(done)
    assert request.kind == "l3" and len(request.details["series"]) == len(results)
