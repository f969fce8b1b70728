"""A yes/no question answered with the verb of the action it asks about (PRODUCT.md §5.1, §5.3): "Отменить
запись …?" — "да, отмените", "отменяйте", "отмена", "угу отменяй", "yes, cancel" — cancels; "нет, не
отменяйте", "не надо отменять", "оставьте", "передумала отменять", "no, keep it" keeps the booking. The same
for "Всё верно?" ("да, записывайте", "верно, запишите"), the series' "Записать на все?" and the reschedule's
"Переносим запись?" / "Всё равно отменить?". A cancel request read inside the confirmation never turns the
yes into "запись остаётся в силе", and a reply pointing elsewhere ("отмените другую") never cancels.
Server-free: the pure engine, the demo schedule, Wed 2026-12-02 15:00."""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pytest

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.effects import AlertAdmin, Book, BookSeries, Cancel
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.session import Profile, Session
from dancebot.conversation.states import State
from tests.engine.pure import NOW, StaticCRM, make_engine, say
from tests.engine.test_degradation_l3 import booked_class, to_summary

PHONE = "+79141234567"
KEPT = ("остаётся в силе", "booking stays")
_chats = itertools.count(3000)

CANCEL_YES = [
    "да, отмените",
    "да, отменяйте",
    "отмените",
    "отменяйте",
    "отменить",
    "отмена",
    "да отмена",
    "давайте отменим",
    "угу отменяй",
    "да отмените пожалуйста",
    "ага, отменяйте",
    "да, отмените эту запись",
    "отминяйте",  # a typo
    "атмените пжл",
    "да давайте отменим запись",
    "не смогу прийти, отменяйте",
    "да, не смогу",
    "к сожалению не получится, отмените",
    "заболела, отмените пожалуйста",
    "отмените, если можно",
    "а давайте отменим",
    "yes cancel it",
    "yes, cancel",
    "cancel it please",
]
CANCEL_NO = [
    "нет, не отменяйте",
    "не надо отменять",
    "не отменяйте",
    "оставьте",
    "оставьте пожалуйста",
    "пусть остаётся",
    "передумала, оставьте запись",
    "передумала отменять",
    "я передумал отменять запись",
    "пока не отменяйте",
    "не нужно отменять",
    "нет",
    "no, keep it",
    "keep it",
    "don't cancel",
]
# About the cancel but not a plain yes: the question again, nothing cancelled, nothing "kept".
CANCEL_UNSURE = ["отмените другую", "отменить?", "отмените, но не эту", "а отменить можно потом?"]


@pytest.fixture
def engine() -> tuple[Engine, StaticCRM]:
    return make_engine()


def fresh(lang: str = "ru") -> Session:
    return Session(channel="telegram", chat_id=next(_chats), language=lang)


def text(step: Step) -> str:
    return "\n".join(j.text for j in step.jobs)


def cancels(step: Step) -> list[Cancel]:
    return [e for e in step.effects if isinstance(e, Cancel)]


async def to_cancel_confirmation(
    engine: tuple[Engine, StaticCRM], *, late: bool = False, wish: str = "отмените мою запись"
) -> tuple[Session, Profile, Step]:
    """A client with one booking (far ahead, or in two hours: a late cancel) asks to cancel it."""
    eng, crm = engine
    occ = [o for o in await crm.occurrences(NOW) if o.is_bookable][-1]
    booked = booked_class(occ)
    if late:  # the admin put the client into a class at 17:00 today: under the KB's 4 h
        start = NOW + dt.timedelta(hours=2)
        booked = booked.model_copy(update={"date": start.date(), "start": start, "end": start + dt.timedelta(hours=1)})
    crm.bookings[PHONE] = [booked]
    s, profile = fresh(), Profile(phone=PHONE, own_phone=PHONE, name="Анна")
    step = await say(eng, s, wish, profile)
    assert s.state == State.CANCEL_FLOW, text(step)
    return s, profile, step


@pytest.mark.parametrize("late", [False, True], ids=["confirm", "late-warning"])
@pytest.mark.parametrize("reply", CANCEL_YES)
async def test_the_verb_of_the_cancel_agrees_to_it(engine: tuple[Engine, StaticCRM], reply: str, late: bool) -> None:
    s, profile, asked = await to_cancel_confirmation(engine, late=late)
    assert ("Отменить запись" if not late else "Всё равно отменить") in text(asked)
    step = await say(engine[0], s, reply, profile)
    assert [c.reservation_id for c in cancels(step)] == [5001], f"{reply!r} did not cancel: {text(step)!r}"
    assert not any(k in text(step) for k in KEPT)


@pytest.mark.parametrize("reply", CANCEL_NO)
async def test_refusing_the_cancel_keeps_the_booking(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    s, profile, _ = await to_cancel_confirmation(engine)
    step = await say(engine[0], s, reply, profile)
    assert not cancels(step), f"{reply!r} cancelled"
    assert s.state == State.IDLE and any(k in text(step) for k in KEPT), text(step)


@pytest.mark.parametrize("reply", CANCEL_UNSURE)
async def test_a_reply_about_the_cancel_that_is_not_a_yes_never_cancels_nor_says_it_stays(
    engine: tuple[Engine, StaticCRM], reply: str
) -> None:
    s, profile, _ = await to_cancel_confirmation(engine)
    step = await say(engine[0], s, reply, profile)
    assert not cancels(step) and not any(k in text(step) for k in KEPT), text(step)
    assert s.state == State.CANCEL_FLOW and "Отменить запись" in text(step)
    step = await say(engine[0], s, "да", profile)  # the question still stands
    assert len(cancels(step)) == 1


async def test_a_cancel_request_inside_the_confirmation_is_its_yes(engine: tuple[Engine, StaticCRM]) -> None:
    """ "отмените запись" read as a new cancel request used to start the flow over and ask again."""
    s, profile, _ = await to_cancel_confirmation(engine)
    step = await say(engine[0], s, "да, отмените запись", profile)
    assert len(cancels(step)) == 1


async def test_after_sharing_the_contact_the_verb_still_agrees(engine: tuple[Engine, StaticCRM]) -> None:
    """The phone asked first (no phone known): the confirmation that follows reads "да, отменяйте" as a
    yes to itself, not as an answer to the phone question before it."""
    eng, crm = engine
    occ = [o for o in await crm.occurrences(NOW) if o.is_bookable][-1]
    crm.bookings[PHONE] = [booked_class(occ)]
    s = fresh()
    first = await say(eng, s, "хочу отменить запись")
    assert s.state == State.CANCEL_FLOW and "номер" in text(first)
    shared = UnifiedMessage(
        channel="telegram",
        chat_id=s.chat_id,
        message_id="c1",
        timestamp=NOW,
        text=None,
        contact_phone=PHONE.lstrip("+"),
        contact_is_own=True,
        message_type="contact",
    )
    step = await eng.handle(shared, s, Profile(), now=NOW, epoch=time.time())
    assert "Отменить запись" in text(step)
    step = await say(eng, s, "да, отменяйте", step.profile)
    assert len(cancels(step)) == 1


async def test_a_cancel_started_mid_booking_reads_its_own_confirmation(engine: tuple[Engine, StaticCRM]) -> None:
    """A booking was asking for a day; "отмените мою запись" switches to the cancel, whose confirmation is
    then answered "отменяйте" — not read as an answer to the booking's question."""
    eng, crm = engine
    occ = [o for o in await crm.occurrences(NOW) if o.is_bookable][-1]
    crm.bookings[PHONE] = [booked_class(occ)]
    s, profile = fresh(), Profile(phone=PHONE, own_phone=PHONE, name="Анна")
    await say(eng, s, "хочу на хилс", profile)
    assert s.state == State.COLLECTING_DATETIME
    await say(eng, s, "ой нет, лучше отмените мою запись", profile)
    assert s.state == State.CANCEL_FLOW
    step = await say(eng, s, "отменяйте", profile)
    assert len(cancels(step)) == 1


async def test_leaving_while_the_phone_is_asked_is_still_leaving(engine: tuple[Engine, StaticCRM]) -> None:
    """ "отмена" agrees only to "Отменить …?": asked for the contact, it leaves the flow as before."""
    eng, _ = engine
    s = fresh()
    await say(eng, s, "отмените мою запись")
    assert s.state == State.CANCEL_FLOW
    step = await say(eng, s, "отмена")
    assert s.state == State.IDLE and not cancels(step)


# ---- reschedule ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", ["да, переносите", "переносите", "да перенесите пожалуйста", "да"])
async def test_the_verb_of_the_reschedule_agrees_to_it(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    s, profile, asked = await to_cancel_confirmation(engine, wish="перенесите мою запись")
    assert "Переносим запись" in text(asked)
    step = await say(engine[0], s, reply, profile)
    assert s.state in (State.COLLECTING_DATETIME, State.CONFIRM_BOOKING), text(step)  # the new class first
    assert not cancels(step)  # the old one goes only with the new receipt


@pytest.mark.parametrize("reply", ["да, отменяйте", "отмена", "да, переносите"])
async def test_the_late_warning_of_a_reschedule_agrees_with_either_verb(
    engine: tuple[Engine, StaticCRM], reply: str
) -> None:
    s, profile, asked = await to_cancel_confirmation(engine, late=True, wish="перенесите мою запись")
    assert "Всё равно отменить" in text(asked)
    step = await say(engine[0], s, reply, profile)
    assert s.state in (State.COLLECTING_DATETIME, State.CONFIRM_BOOKING) and not cancels(step), text(step)


@pytest.mark.parametrize("reply", ["да, перенесите", "лучше перенесите"])
async def test_asked_to_cancel_a_move_is_never_a_plain_cancel(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    s, profile, _ = await to_cancel_confirmation(engine)
    step = await say(engine[0], s, reply, profile)
    assert not cancels(step) and "Переносим запись" in text(step), text(step)


# ---- the booking summary and the series ----------------------------------------------------------------

BOOK_YES = [
    "да, записывайте",
    "да записывай",
    "верно, запишите",
    "запишите",
    "да запиши",
    "ок бронируй",
    "всё верно, бронируйте",
    "подтверждаю запись",
    "да, оформляйте",
    "верно записывайте меня",
    "да, записывайте, спасибо большое",
    "yes book it",
    "yes, book me",
]
BOOK_NO = ["нет, не записывайте", "не надо записывать", "пока не записывайте", "да, отмените"]


@pytest.mark.parametrize("reply", BOOK_YES)
async def test_the_verb_of_the_booking_confirms_the_summary(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    eng, _ = engine
    s = fresh()
    await to_summary(eng, s)
    step = await say(eng, s, reply)
    assert [type(e) for e in step.effects if isinstance(e, Book)] == [Book], f"{reply!r}: {text(step)!r}"


@pytest.mark.parametrize("reply", BOOK_NO)
async def test_refusing_the_booking_books_nothing(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    eng, _ = engine
    s = fresh()
    await to_summary(eng, s)
    step = await say(eng, s, reply)
    assert not any(isinstance(e, Book) for e in step.effects) and s.state == State.IDLE, text(step)


@pytest.mark.parametrize("reply", ["записывайте, но в 19", "да, запишите на пятницу", "запишите и подругу"])
async def test_a_booking_verb_with_a_change_is_a_correction(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    eng, _ = engine
    s = fresh()
    await to_summary(eng, s)
    step = await say(eng, s, reply)
    assert not any(isinstance(e, Book) for e in step.effects), text(step)


@pytest.mark.parametrize("reply", ["да, записывайте", "записывайте на все", "да, на все", "записывай", "да"])
async def test_the_verb_of_the_series_confirms_it(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    eng, _ = engine
    s = fresh()
    profile = Profile(phone=PHONE, own_phone=PHONE, name="Анна")
    asked = await say(eng, s, "запишите на все среды на хилс", profile)
    assert s.state == State.SERIAL_BOOKING and "Записать на все?" in text(asked), text(asked)
    step = await say(eng, s, reply, profile)
    assert any(isinstance(e, BookSeries) for e in step.effects), f"{reply!r}: {text(step)!r}"


@pytest.mark.parametrize("reply", ["не надо записывать", "нет, не записывайте", "нет"])
async def test_refusing_the_series_books_nothing(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    eng, _ = engine
    s = fresh()
    profile = Profile(phone=PHONE, own_phone=PHONE, name="Анна")
    await say(eng, s, "запишите на все среды на хилс", profile)
    step = await say(eng, s, reply, profile)
    assert not any(isinstance(e, BookSeries) for e in step.effects) and s.state == State.IDLE


# ---- "Позвать администратора?" is never asked over a yes/no question --------------------------------------


async def test_the_reprompt_limit_at_the_summary_keeps_the_summary_as_the_question(
    engine: tuple[Engine, StaticCRM],
) -> None:
    """Three replies the bot cannot read at the summary: it offers the admin as a button under the summary
    itself — never a second yes/no ("Позвать администратора?") that the next "да" would answer by booking."""
    eng, _ = engine
    s = fresh()
    await to_summary(eng, s)
    for noise in ("ывапр", "ололо", "кукареку"):
        step = await say(eng, s, noise)
    said = text(step)
    assert "Позвать администратора?" not in said and "Всё верно?" in said and said.count("?") == 1, said
    assert step.jobs[-1].buttons and any(b.data == "admin" for row in step.jobs[-1].buttons for b in row)
    step = await say(eng, s, "да")
    assert any(isinstance(e, Book) for e in step.effects)  # the yes answers the summary it was shown


async def test_the_admin_button_under_the_summary_hands_over(engine: tuple[Engine, StaticCRM]) -> None:
    eng, _ = engine
    s = fresh()
    await to_summary(eng, s)
    for noise in ("ывапр", "ололо", "кукареку"):
        await say(eng, s, noise)
    tap = UnifiedMessage(
        channel="telegram",
        chat_id=s.chat_id,
        message_id="t1",
        timestamp=NOW,
        text=None,
        callback_data="admin",
        message_type="callback",
    )
    step = await eng.handle(tap, s, Profile(), now=NOW, epoch=time.time())
    assert s.state == State.HANDOFF_TO_ADMIN
    assert any(isinstance(e, AlertAdmin) and e.purpose == "handoff" for e in step.effects)
