"""The cancel confirmation answered by restating the booking it asks about (PRODUCT.md §5.3): to "Отменить
запись: Вт 08.12 20:00 High Heels?" a yes that names that very booking — its weekday, date, time or style,
"да, отмените запись на вторник" — cancels it (it used to start the cancel over and ask the same question
again). A yes that names a DIFFERENT booking of the client's ("да, отмените запись на пятницу") never cancels
the one asked about: that booking is asked about instead; one that names none of them asks which.
Server-free: the pure engine, the demo schedule, Wed 2026-12-02 15:00."""

from __future__ import annotations

import itertools

import pytest

from dancebot.conversation.effects import Cancel
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.session import Profile, Session
from dancebot.conversation.states import State
from dancebot.crm.models import Occurrence
from tests.engine.pure import NOW, StaticCRM, make_engine, say
from tests.engine.test_degradation_l3 import booked_class

PHONE = "+79141234567"
KEPT = ("остаётся в силе", "booking stays")
TUESDAY, FRIDAY = 5001, 5002
_chats = itertools.count(7100)

# The booking asked about: High Heels, Tue 08.12 at 20:00.
RESTATING_YES = [
    "да, отмените запись на вторник",
    "да отмените запись на вторник",
    "да, отмените вторник",
    "да отмените запись во вторник пожалуйста",
    "отмените во вторник",
    "отменяйте вторник",
    "да, отмените запись на вт",
    "да, вторник",
    "ага, вторник",
    "да, отмените запись на 8 декабря",
    "да, отмените 08.12",
    "да, отмените на вторник в 20",
    "да, в 20:00",
    "да, отмените хилс",
    "да, отмените хай хилс во вторник",
    "да, отмените запись на вторник 8.12 в 20:00",
    "yes, cancel tuesday",
]
# Another booking of the client's (Стретчинг, Fri 04.12 09:00): never the Tuesday one.
OTHER_BOOKING = [
    "да, отмените запись на пятницу",
    "да отмените пятницу",
    "отмените лучше пятницу",
    "да, отмените стретчинг",
    "да, отмените запись на 4 декабря",
    "да, отмените в 9 утра",
]
# Names a day the client has no booking on, or is not a yes: the Tuesday booking is not cancelled.
NOT_A_YES = ["да, отмените запись на четверг", "вторник", "нет, не вторник", "да, на вторник в 19"]


@pytest.fixture
def engine() -> tuple[Engine, StaticCRM]:
    return make_engine()


def text(step: Step) -> str:
    return "\n".join(j.text for j in step.jobs)


def cancelled(step: Step) -> list[int]:
    return [e.reservation_id for e in step.effects if isinstance(e, Cancel)]


async def _classes(crm: StaticCRM) -> tuple[Occurrence, Occurrence]:
    occs = [o for o in await crm.occurrences(NOW) if o.is_bookable]
    tue = next(o for o in occs if o.date.isoformat() == "2026-12-08" and o.style_name == "High Heels")
    fri = next(o for o in occs if o.date.isoformat() == "2026-12-04" and o.style_name == "Стретчинг")
    assert f"{tue.start:%H:%M}" == "20:00" and f"{fri.start:%H:%M}" == "09:00"
    return tue, fri


async def asked_to_cancel_tuesday(engine: tuple[Engine, StaticCRM], *, with_friday: bool) -> tuple[Session, Profile]:
    eng, crm = engine
    tue, fri = await _classes(crm)
    crm.bookings[PHONE] = [booked_class(tue, TUESDAY)] + ([booked_class(fri, FRIDAY)] if with_friday else [])
    s = Session(channel="telegram", chat_id=next(_chats), language="ru")
    profile = Profile(phone=PHONE, own_phone=PHONE, name="Анна")
    step = await say(eng, s, "отмените запись на вторник", profile)
    assert s.state == State.CANCEL_FLOW and "Отменить запись: Вт 08.12 20:00 High Heels" in text(step), text(step)
    return s, profile


@pytest.mark.parametrize("with_friday", [False, True], ids=["one-booking", "two-bookings"])
@pytest.mark.parametrize("reply", RESTATING_YES)
async def test_a_yes_restating_the_booking_cancels_it(
    engine: tuple[Engine, StaticCRM], reply: str, with_friday: bool
) -> None:
    s, profile = await asked_to_cancel_tuesday(engine, with_friday=with_friday)
    step = await say(engine[0], s, reply, profile)
    assert cancelled(step) == [TUESDAY], f"{reply!r} did not cancel: {text(step)!r}"
    assert "Отменить запись" not in text(step) and not any(k in text(step) for k in KEPT)


@pytest.mark.parametrize("reply", OTHER_BOOKING)
async def test_a_yes_naming_another_booking_asks_about_that_one(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    s, profile = await asked_to_cancel_tuesday(engine, with_friday=True)
    step = await say(engine[0], s, reply, profile)
    assert not cancelled(step), f"{reply!r} cancelled: {text(step)!r}"
    assert s.state == State.CANCEL_FLOW and "Отменить запись: Пт 04.12 09:00 Стретчинг" in text(step), text(step)
    step = await say(engine[0], s, "да", profile)  # the yes now answers the Friday question
    assert cancelled(step) == [FRIDAY]


@pytest.mark.parametrize("reply", NOT_A_YES)
async def test_a_reply_naming_no_booking_of_the_client_never_cancels(
    engine: tuple[Engine, StaticCRM], reply: str
) -> None:
    s, profile = await asked_to_cancel_tuesday(engine, with_friday=False)
    step = await say(engine[0], s, reply, profile)
    assert not cancelled(step), f"{reply!r} cancelled: {text(step)!r}"
    assert s.state == State.CANCEL_FLOW and "Отменить запись: Вт 08.12 20:00" in text(step), text(step)


async def test_with_two_bookings_a_day_of_neither_asks_which(engine: tuple[Engine, StaticCRM]) -> None:
    s, profile = await asked_to_cancel_tuesday(engine, with_friday=True)
    step = await say(engine[0], s, "да, отмените запись на четверг", profile)
    assert not cancelled(step) and "Какую запись отменить?" in text(step), text(step)


async def test_the_other_booking_named_without_a_yes_is_asked_about(engine: tuple[Engine, StaticCRM]) -> None:
    """ "отмените другую" (no day) with two bookings: which one — never the Tuesday one cancelled."""
    s, profile = await asked_to_cancel_tuesday(engine, with_friday=True)
    step = await say(engine[0], s, "отмените другую", profile)
    assert not cancelled(step) and s.state == State.CANCEL_FLOW, text(step)
