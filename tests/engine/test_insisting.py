"""A KB or CRM miss the client insists on goes to the administrator (PRODUCT.md §11.2, issue 12) — as one
class, wherever the miss happened: a schedule question asked aside while a booking waits, "мои записи" and
a cancel with the CRM down, "записей не нашла", a side question inside the cancel flow. Insisting is the
same question again, "я же спросила", or pressing for the missed answer in the next message in many
words; the same words with no miss before them change nothing. Server-free: the pure engine."""

from __future__ import annotations

import itertools

import pytest

from dancebot.conversation.effects import AlertAdmin
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.session import Profile, Session
from dancebot.conversation.states import State
from tests.engine.pure import NOW, StaticCRM, make_engine, say
from tests.engine.test_degradation_l3 import booked_class, to_summary

PHONE = "+79141234567"
HANDED = ("Передаю администратору", "Passing you to the administrator")
_chats = itertools.count(100)

PRESSING = [
    "ну пожалуйста, узнайте",
    "я настаиваю",
    "мне нужно именно это",
    "ну так что?",
    "проверьте ещё раз, пожалуйста",
    "я же спросила",
    "мне очень нужно знать",
    "узнайте всё равно",
    "ну что там?",
    "срочно нужно",
    "I insist",
]
NOT_PRESSING = ["понятно", "ладно, подожду", "спасибо"]


@pytest.fixture
def engine() -> tuple[Engine, StaticCRM]:
    return make_engine()


def fresh() -> Session:
    return Session(channel="telegram", chat_id=next(_chats), language="ru")


def text(step: Step) -> str:
    return "\n".join(j.text for j in step.jobs)


def handoff_alert(step: Step) -> str:
    [alert] = [e for e in step.effects if isinstance(e, AlertAdmin) and e.purpose == "handoff"]
    return alert.text


def assert_handed_over(s: Session, step: Step, missed: str) -> None:
    assert s.state == State.HANDOFF_TO_ADMIN and text(step).startswith(HANDED), text(step)
    alert = handoff_alert(step)
    assert "настаивает" in alert and missed in alert and f"/reply {s.chat_id}" in alert


# ---- a schedule question aside, the CRM down ------------------------------------------------------------


async def _aside_missed(engine: tuple[Engine, StaticCRM], s: Session) -> Step:
    eng, crm = engine
    await to_summary(eng, s)
    crm.down = True
    step = await say(eng, s, "а что есть в субботу?")
    assert "Сейчас не могу проверить расписание" in text(step) and s.state == State.CONFIRM_BOOKING
    return step


@pytest.mark.parametrize("press", [*PRESSING, "ну пожалуйста, а в субботу что есть?", "а что есть в субботу?"])
async def test_pressing_after_a_schedule_aside_the_crm_missed_hands_over(
    engine: tuple[Engine, StaticCRM], press: str
) -> None:
    s = fresh()
    await _aside_missed(engine, s)
    step = await say(engine[0], s, press)
    assert_handed_over(s, step, "а что есть в субботу?")
    assert "Запись не закончена" in handoff_alert(step) and "Анна" in handoff_alert(step)  # the booking it left


@pytest.mark.parametrize("reply", NOT_PRESSING)
async def test_a_calm_answer_after_the_aside_miss_keeps_the_booking(
    engine: tuple[Engine, StaticCRM], reply: str
) -> None:
    s = fresh()
    await _aside_missed(engine, s)
    await say(engine[0], s, reply)
    assert s.state == State.CONFIRM_BOOKING


@pytest.mark.parametrize("press", PRESSING[:6])
async def test_the_same_words_with_no_miss_before_them_change_nothing(
    engine: tuple[Engine, StaticCRM], press: str
) -> None:
    eng, _ = engine
    s = fresh()
    await to_summary(eng, s)
    await say(eng, s, "а что есть в субботу?")  # the CRM answered: no miss
    step = await say(eng, s, press)
    assert s.state == State.CONFIRM_BOOKING and not text(step).startswith(HANDED) and "Проверьте" in text(step)


async def test_an_explicit_request_after_the_aside_miss_is_a_handoff_as_always(
    engine: tuple[Engine, StaticCRM],
) -> None:
    s = fresh()
    await _aside_missed(engine, s)
    step = await say(engine[0], s, "позовите человека")
    assert s.state == State.HANDOFF_TO_ADMIN and text(step).startswith(HANDED)


# ---- "мои записи" and cancel, the CRM down -----------------------------------------------------------------


@pytest.mark.parametrize("wish", ["мои записи", "отмените мою запись", "перенесите мою запись"])
@pytest.mark.parametrize("press", [*PRESSING[:8], "покажите мои записи, я настаиваю"])
async def test_pressing_after_my_bookings_the_crm_missed_hands_over(
    engine: tuple[Engine, StaticCRM], wish: str, press: str
) -> None:
    eng, crm = engine
    crm.down = True
    s, profile = fresh(), Profile(phone=PHONE, own_phone=PHONE)
    first = await say(eng, s, wish, profile)
    assert "Сейчас не могу проверить" in text(first) and s.state == State.IDLE
    step = await say(eng, s, press, profile)
    assert_handed_over(s, step, wish)


async def test_my_bookings_asked_again_while_the_crm_is_down_is_handed_over(engine: tuple[Engine, StaticCRM]) -> None:
    eng, crm = engine
    crm.down = True
    s, profile = fresh(), Profile(phone=PHONE, own_phone=PHONE)
    await say(eng, s, "покажите мои записи", profile)
    step = await say(eng, s, "покажите мои записи", profile)
    assert_handed_over(s, step, "покажите мои записи")


@pytest.mark.parametrize("reply", NOT_PRESSING)
async def test_a_calm_answer_after_my_bookings_missed_is_not_a_handoff(
    engine: tuple[Engine, StaticCRM], reply: str
) -> None:
    eng, crm = engine
    crm.down = True
    s, profile = fresh(), Profile(phone=PHONE, own_phone=PHONE)
    await say(eng, s, "мои записи", profile)
    step = await say(eng, s, reply, profile)
    assert s.state != State.HANDOFF_TO_ADMIN and not text(step).startswith(HANDED)


@pytest.mark.parametrize(
    "press", ["ну пожалуйста, проверьте ещё раз", "я настаиваю, посмотрите ещё раз", "мне нужно именно это"]
)
async def test_pressing_after_no_bookings_were_found_hands_over(engine: tuple[Engine, StaticCRM], press: str) -> None:
    eng, _ = engine
    s, profile = fresh(), Profile(phone=PHONE, own_phone=PHONE)
    first = await say(eng, s, "мои записи", profile)
    assert "не нашла" in text(first).lower() or "нет" in text(first).lower(), text(first)
    step = await say(eng, s, press, profile)
    assert_handed_over(s, step, "мои записи")


# ---- a side question inside the cancel flow ----------------------------------------------------------------


async def _cancel_flow(engine: tuple[Engine, StaticCRM]) -> tuple[Session, Profile]:
    eng, crm = engine
    occ = next(o for o in await crm.occurrences(NOW) if o.is_bookable)
    crm.bookings[PHONE] = [booked_class(occ)]
    s, profile = fresh(), Profile(phone=PHONE, own_phone=PHONE)
    await say(eng, s, "отмените мою запись", profile)
    assert s.state == State.CANCEL_FLOW
    return s, profile


@pytest.mark.parametrize("press", [*PRESSING[:8], "а где посмотреть отзывы?"])
async def test_pressing_after_a_side_question_the_kb_missed_in_the_cancel_flow_hands_over(
    engine: tuple[Engine, StaticCRM], press: str
) -> None:
    s, profile = await _cancel_flow(engine)
    missed = await say(engine[0], s, "а где посмотреть отзывы?", profile)
    assert "Уточню у администратора" in text(missed) and s.state == State.CANCEL_FLOW
    step = await say(engine[0], s, press, profile)
    assert_handed_over(s, step, "а где посмотреть отзывы?")


@pytest.mark.parametrize("question", ["а есть ли у вас wi-fi?", "а у вас есть лицензия?", "какой у вас инстаграм?"])
@pytest.mark.parametrize("press", ["ну пожалуйста, узнайте", "я настаиваю", "ну так что?"])
async def test_pressing_after_a_question_the_cancel_flow_passed_over_hands_over(
    engine: tuple[Engine, StaticCRM], question: str, press: str
) -> None:
    s, profile = await _cancel_flow(engine)
    await say(engine[0], s, question, profile)  # not understood: the cancel's question is asked again
    assert s.state == State.CANCEL_FLOW
    step = await say(engine[0], s, press, profile)
    assert_handed_over(s, step, question)


@pytest.mark.parametrize("press", ["я настаиваю", "ну пожалуйста, узнайте", "мне нужно именно это"])
async def test_in_the_cancel_flow_the_same_words_with_no_miss_only_ask_again(
    engine: tuple[Engine, StaticCRM], press: str
) -> None:
    s, profile = await _cancel_flow(engine)
    step = await say(engine[0], s, press, profile)
    assert s.state == State.CANCEL_FLOW and "Отменить запись" in text(step)


async def test_the_confirmation_after_a_miss_still_cancels(engine: tuple[Engine, StaticCRM]) -> None:
    s, profile = await _cancel_flow(engine)
    await say(engine[0], s, "а где посмотреть отзывы?", profile)
    step = await say(engine[0], s, "да", profile)
    assert s.state == State.CANCEL_FLOW and [type(e).__name__ for e in step.effects] == ["Cancel"]
