"""The engine on its own (PRODUCT.md §5): no Redis, no PostgreSQL, no HTTP. It answers and says what to
do — book, remind, record a request for the admin — as effects; the outcome of a booking comes back
as an event through the table."""

from __future__ import annotations

import time

import pytest

from dancebot.conversation.effects import (
    AlertAdmin,
    Book,
    BookingOutcome,
    Cancel,
    CancelOutcome,
    DropReminders,
    RecordFallback,
    SaveProfile,
    ScheduleReminders,
)
from dancebot.conversation.engine import Engine, IllegalTransition, Step
from dancebot.conversation.fsm import TABLE, Row
from dancebot.conversation.session import Profile, Session, Slots
from dancebot.conversation.states import Event, State
from dancebot.crm.models import BookedClass
from tests.engine.pure import NOW, StaticCRM, make_engine, message, say


@pytest.fixture
def engine() -> tuple[Engine, StaticCRM]:
    return make_engine()


def _session(chat_id: int) -> Session:
    return Session(channel="telegram", chat_id=chat_id)


async def test_a_booking_in_one_message_is_summarised_and_a_yes_asks_for_the_booking(
    engine: tuple[Engine, StaticCRM],
) -> None:
    eng, _ = engine
    s = _session(1)
    step = await say(eng, s, "запишите на хилс в чт в 20, Анна 89141234567")
    assert s.state == State.CONFIRM_BOOKING and step.effects == []
    assert "Анна" in step.jobs[0].text and "+7 914 123-45-67" in step.jobs[0].text
    step = await say(eng, s, "да")
    assert s.state == State.BOOKING_IN_PROGRESS and step.jobs == []  # nothing said before the CRM answers
    [book] = step.effects
    assert isinstance(book, Book) and (book.name, book.phone) == ("Анна", "+79141234567")
    assert book.occurrence.start.strftime("%a %H:%M") == "Thu 20:00"

    done = await eng.system_event(s, Profile(), Event.CRM_OK, now=NOW, trace_id="t1", outcome=BookingOutcome("booked"))
    assert s.state == State.IDLE and s.slots == Slots()
    assert "записаны" in done.jobs[0].text
    kinds = [type(e) for e in done.effects]
    assert kinds == [ScheduleReminders, SaveProfile]
    assert done.profile == Profile(name="Анна", phone="+79141234567", own_phone="+79141234567")  # booked: proven


@pytest.mark.parametrize(
    ("event", "outcome", "state", "said"),
    [
        (Event.CRM_DUPLICATE, BookingOutcome("duplicate", "recent"), State.IDLE, "уже"),
        (Event.CRM_REJECTED, BookingOutcome("rejected", "full"), State.COLLECTING_DATETIME, "мест"),
        (Event.CRM_UNAVAILABLE, BookingOutcome("unknown", "timeout"), State.IDLE, "администратор"),
    ],
)
async def test_every_crm_answer_goes_through_the_table(
    engine: tuple[Engine, StaticCRM], event: Event, outcome: BookingOutcome, state: State, said: str
) -> None:
    eng, _ = engine
    s = _session(2)
    await say(eng, s, "запишите на хилс в чт в 20, Анна 89141234567")
    await say(eng, s, "да")
    step = await eng.system_event(s, Profile(), event, now=NOW, trace_id="t2", outcome=outcome)
    assert s.state == state
    assert said in step.jobs[0].text.lower()
    if event is Event.CRM_UNAVAILABLE:
        [request] = [e for e in step.effects if isinstance(e, RecordFallback)]
        assert request.kind == "verify" and request.details["phone"] == "+79141234567"


async def test_crm_down_while_collecting_asks_for_a_phone_then_records_one_request(
    engine: tuple[Engine, StaticCRM],
) -> None:
    eng, crm = engine
    crm.down = True
    s = _session(3)
    first = await say(eng, s, "хочу на хилс в пятницу")
    assert first.jobs[0].request_contact and first.effects == []
    second = await say(eng, s, "Анна 89141234567")
    [request] = [e for e in second.effects if isinstance(e, RecordFallback)]
    assert request.kind == "booking" and request.details["phone"] == "+79141234567"
    assert s.state == State.IDLE


async def test_a_cancel_is_an_effect_and_its_outcome_drops_the_reminders(engine: tuple[Engine, StaticCRM]) -> None:
    eng, crm = engine
    occ = next(o for o in await crm.occurrences(NOW) if o.is_bookable)
    booked = BookedClass(
        reservation_id=5001,
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
    crm.bookings["+79141234567"] = [booked]
    s = _session(4)
    profile = Profile(phone="+79141234567", own_phone="+79141234567")
    await say(eng, s, "хочу отменить запись", profile)
    assert s.state == State.CANCEL_FLOW
    step = await say(eng, s, "да", profile)
    [cancel] = step.effects
    assert isinstance(cancel, Cancel) and cancel.reservation_id == 5001
    done = await eng.system_event(s, profile, Event.CANCEL_DONE, now=NOW, trace_id="t4", outcome=CancelOutcome(cancel))
    assert s.state == State.IDLE and done.effects == [DropReminders(occurrence_id=occ.occurrence_id)]
    assert "отмен" in done.jobs[0].text.lower()


async def test_a_question_nobody_can_answer_goes_to_the_admin_as_an_effect(engine: tuple[Engine, StaticCRM]) -> None:
    eng, _ = engine
    step = await say(eng, _session(5), "можно у вас арендовать зал на вечер для дня рождения?")
    assert any(isinstance(e, AlertAdmin) for e in step.effects)


async def test_dispatch_refuses_a_state_the_row_does_not_name(
    engine: tuple[Engine, StaticCRM], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, _ = engine

    async def wanders(_turn: object) -> State:
        return State.CANCEL_FLOW

    monkeypatch.setitem(TABLE, (State.IDLE, Event.GREETING), Row(wanders, frozenset({State.IDLE})))
    s = _session(6)
    with pytest.raises(IllegalTransition, match="CANCEL_FLOW"):
        await eng.handle(message(6, "привет"), s, Profile(), now=NOW, epoch=time.time())


async def _tap(eng: Engine, s: Session, data: str, message_id: int = 900) -> Step:
    msg = message(s.chat_id, callback=data).model_copy(update={"callback_message_id": message_id})
    return await eng.handle(msg, s, Profile(), now=NOW, epoch=time.time())


async def test_a_tap_on_a_finished_step_books_nothing_twice(engine: tuple[Engine, StaticCRM]) -> None:
    eng, _ = engine
    s = _session(7)
    summary = await say(eng, s, "запишите на хилс в чт в 20, Анна 89141234567")
    yes = summary.jobs[-1].buttons[0][0].data
    step = await _tap(eng, s, yes)
    assert [type(e) for e in step.effects] == [Book]
    assert step.jobs[0].kind == "clear_keyboard" and step.jobs[0].target_message_id == 900  # the yes/no goes
    await eng.system_event(s, Profile(), Event.CRM_OK, now=NOW, trace_id="t7", outcome=BookingOutcome("booked"))
    again = await _tap(eng, s, yes, message_id=900)  # the same old button, tapped once more
    assert again.effects == [] and s.state == State.IDLE
    assert "неактуальна" in again.jobs[-1].text


async def test_the_yes_of_an_older_summary_books_nothing(engine: tuple[Engine, StaticCRM]) -> None:
    eng, _ = engine
    s = _session(13)
    old = await say(eng, s, "запишите на хилс в ср 09.12, Анна 89141234567")
    old_yes = old.jobs[-1].buttons[0][0].data
    await say(eng, s, "нет, давай в пятницу на сальсу")  # a new summary, a new yes
    step = await _tap(eng, s, old_yes)
    assert step.effects == [] and s.state == State.CONFIRM_BOOKING and "неактуальна" in step.jobs[-1].text


async def test_menu_buttons_work_whenever_they_are_tapped(engine: tuple[Engine, StaticCRM]) -> None:
    eng, _ = engine
    s = _session(8)
    await say(eng, s, "спасибо")
    step = await _tap(eng, s, "menu:prices")
    assert "₽" in step.jobs[-1].text


async def test_a_typed_phone_reveals_no_bookings(engine: tuple[Engine, StaticCRM]) -> None:
    eng, crm = engine
    occ = next(o for o in await crm.occurrences(NOW) if o.is_bookable)
    crm.bookings["+79141234567"] = [
        BookedClass(
            reservation_id=1,
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
    ]
    s = _session(9)
    first = await say(eng, s, "мои записи на 89141234567")
    assert first.jobs[-1].request_contact and occ.start.strftime("%d.%m") not in first.jobs[-1].text
    second = await say(eng, s, "+7 914 123-45-67")
    assert second.jobs[-1].request_contact and occ.start.strftime("%d.%m") not in second.jobs[-1].text
    shared = message(9).model_copy(
        update={"contact_phone": "+79141234567", "contact_is_own": True, "message_type": "contact"}
    )
    third = await eng.handle(shared, s, Profile(), now=NOW, epoch=time.time())
    assert occ.start.strftime("%d.%m") in third.jobs[-1].text
    someone_else = shared.model_copy(update={"contact_is_own": False})
    s2 = _session(10)
    await say(eng, s2, "мои записи")
    fourth = await eng.handle(
        someone_else.model_copy(update={"chat_id": 10}), s2, Profile(), now=NOW, epoch=time.time()
    )
    assert occ.start.strftime("%d.%m") not in fourth.jobs[-1].text


async def test_teachers_without_crm_ids_are_found_by_name(engine: tuple[Engine, StaticCRM]) -> None:
    eng, _ = engine
    kb = eng.deps.kb
    bare = kb.model_copy(update={"teachers": [t.model_copy(update={"crm_teacher_id": None}) for t in kb.teachers]})
    eng2, _ = make_engine(bare)
    s = _session(11)
    step = await say(eng2, s, "когда занимается Настя?")
    assert "Настя" in step.jobs[0].text and "High Heels" in step.jobs[0].text
    s = _session(12)
    step = await say(eng2, s, "запишите к Диме в чт, Олег 89141112233")
    assert s.state == State.CONFIRM_BOOKING and "Hip-Hop" in step.jobs[-1].text


async def test_a_whatsapp_client_is_never_asked_for_a_phone(engine: tuple[Engine, StaticCRM]) -> None:
    eng, _ = engine
    s = Session(channel="whatsapp", chat_id=79141234567)
    msg = message(79141234567, "хочу на хилс в чт в 20, меня зовут Анна").model_copy(
        update={"channel": "whatsapp", "sender_phone": "79141234567"}
    )
    step = await eng.handle(msg, s, Profile(), now=NOW, epoch=time.time())
    assert s.state == State.CONFIRM_BOOKING and "+7 914 123-45-67" in step.jobs[-1].text
