"""After "Не нашла будущих записей на этот номер. Передать вопрос администратору?" (мои записи, a cancel) or
after the CRM could not show the bookings, a client who insists the booking exists — "я точно
записывалась", "я же записана!", "я настаиваю, я записывалась", "проверьте ещё раз, я записывалась на
вторник" — goes to the administrator (PRODUCT.md §11.2), never into a new booking; "да", "да, передайте"
answer the bot's offer of the admin. A new wish with its facts ("хочу на хилс в пятницу") still books, and
the same words with no miss before them change nothing. Server-free: the pure engine."""

from __future__ import annotations

import itertools

import pytest

from dancebot.conversation.effects import AlertAdmin
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.session import Profile, Session
from dancebot.conversation.states import State
from tests.engine.pure import StaticCRM, make_engine, say

PHONE = "+79141234567"
HANDED = ("Передаю администратору", "Passing you to the administrator")
_chats = itertools.count(4000)

CLAIMS = [
    "я настаиваю, я записывалась",
    "я точно записывалась",
    "я же записана!",
    "проверьте ещё раз, я записывалась на вторник",
    "ну как же, я ведь записывалась",
    "я записана на сальсу в пятницу",
    "у меня есть запись на пятницу",
    "я точно записан был",
    "да я же записывалась на хилс в чт!!",
    "записывалась я, посмотрите нормально",
    "я настаиваю",
    "проверьте ещё раз пожалуйста",
    "but i did book",
]
ACCEPTS_ADMIN = ["да", "да, передайте", "передайте", "ок", "да пожалуйста", "давайте", "угу, узнайте", "yes please"]
NEW_WISHES = [
    ("хочу записаться на хилс в пятницу", State.COLLECTING_DATETIME),
    ("тогда запишите меня на сальсу", State.COLLECTING_DATETIME),
    ("я настаиваю, запишите на хилс в субботу", State.COLLECTING_CONTACT),
    ("ладно, спасибо", State.IDLE),
]


@pytest.fixture
def engine() -> tuple[Engine, StaticCRM]:
    return make_engine()


def text(step: Step) -> str:
    return "\n".join(j.text for j in step.jobs)


def handoff_alert(step: Step) -> str:
    [alert] = [e for e in step.effects if isinstance(e, AlertAdmin) and e.purpose == "handoff"]
    return alert.text


async def nothing_found(eng: Engine, wish: str) -> tuple[Session, Profile]:
    s, profile = Session(channel="telegram", chat_id=next(_chats), language="ru"), Profile(phone=PHONE, own_phone=PHONE)
    step = await say(eng, s, wish, profile)
    assert "не нашла" in text(step).lower() and s.state == State.IDLE, text(step)
    return s, profile


@pytest.mark.parametrize("wish", ["мои записи", "отмените мою запись", "куда я записана?"])
@pytest.mark.parametrize("claim", CLAIMS)
async def test_insisting_on_a_booking_the_bot_did_not_find_goes_to_the_admin(
    engine: tuple[Engine, StaticCRM], wish: str, claim: str
) -> None:
    eng, _ = engine
    s, profile = await nothing_found(eng, wish)
    step = await say(eng, s, claim, profile)
    assert s.state == State.HANDOFF_TO_ADMIN and text(step).startswith(HANDED), text(step)
    alert = handoff_alert(step)
    assert "настаивает" in alert and wish in alert and claim in alert and f"/reply {s.chat_id}" in alert
    assert not s.slots.style and s.slots.occurrence is None  # no booking was started


@pytest.mark.parametrize("claim", ["я же записана!", "я точно записывалась на вторник", "я настаиваю, я записывалась"])
async def test_insisting_after_the_crm_could_not_show_the_bookings_goes_to_the_admin(
    engine: tuple[Engine, StaticCRM], claim: str
) -> None:
    eng, crm = engine
    crm.down = True
    s, profile = Session(channel="telegram", chat_id=next(_chats), language="ru"), Profile(phone=PHONE, own_phone=PHONE)
    first = await say(eng, s, "покажите мои записи", profile)
    assert "Сейчас не могу проверить" in text(first)
    step = await say(eng, s, claim, profile)
    assert s.state == State.HANDOFF_TO_ADMIN and "настаивает" in handoff_alert(step)


@pytest.mark.parametrize("reply", ACCEPTS_ADMIN)
async def test_a_yes_to_passing_the_question_on_is_the_admin(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    """ "Передать вопрос администратору?" answered "да" got "Пожалуйста!" and nothing was passed on."""
    eng, _ = engine
    s, profile = await nothing_found(eng, "мои записи")
    step = await say(eng, s, reply, profile)
    assert s.state == State.HANDOFF_TO_ADMIN and text(step).startswith(HANDED), text(step)
    assert "мои записи" in handoff_alert(step)


@pytest.mark.parametrize("reply", ["нет", "нет, не надо", "не нужно"])
async def test_a_no_to_passing_the_question_on_is_not_the_admin(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    eng, _ = engine
    s, profile = await nothing_found(eng, "мои записи")
    step = await say(eng, s, reply, profile)
    assert s.state != State.HANDOFF_TO_ADMIN and not any(isinstance(e, AlertAdmin) for e in step.effects)


@pytest.mark.parametrize(("wish", "state"), NEW_WISHES)
async def test_a_new_wish_after_nothing_was_found_is_served(
    engine: tuple[Engine, StaticCRM], wish: str, state: State
) -> None:
    eng, _ = engine
    s, profile = await nothing_found(eng, "мои записи")
    step = await say(eng, s, wish, profile)
    assert s.state == state and not text(step).startswith(HANDED), text(step)


@pytest.mark.parametrize("claim", ["я точно записывалась", "я настаиваю, я записывалась", "я записывалась на хилс"])
async def test_the_same_words_with_no_miss_before_them_are_not_a_handoff(
    engine: tuple[Engine, StaticCRM], claim: str
) -> None:
    eng, _ = engine
    s = Session(channel="telegram", chat_id=next(_chats), language="ru")
    step = await say(eng, s, claim)
    assert s.state != State.HANDOFF_TO_ADMIN and not text(step).startswith(HANDED), text(step)


async def test_a_claim_after_an_unrelated_miss_is_not_about_bookings(engine: tuple[Engine, StaticCRM]) -> None:
    """The bot missed a KB question ("можно с собакой?"); "я записывалась на хилс" then is not insisting on
    bookings the bot never looked for."""
    eng, _ = engine
    s = Session(channel="telegram", chat_id=next(_chats), language="ru")
    await say(eng, s, "можно с собакой?")
    step = await say(eng, s, "я записывалась на хилс")
    assert s.state != State.HANDOFF_TO_ADMIN, text(step)


@pytest.mark.parametrize("reply", ["да", "да, передайте", "передайте пожалуйста"])
async def test_a_yes_to_no_classes_and_passing_it_on_is_the_admin(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    """ "Ближайших занятий «…» нет. Передать вопрос администратору?" — the same offer inside a booking."""
    eng, crm = engine
    crm._templates = [tpl for tpl in crm._templates if "Сальс" not in str(tpl.model_dump())]
    s = Session(channel="telegram", chat_id=next(_chats), language="ru")
    asked = await say(eng, s, "хочу на сальсу")
    assert "Передать вопрос администратору?" in text(asked), text(asked)
    step = await say(eng, s, reply)
    assert s.state == State.HANDOFF_TO_ADMIN and text(step).startswith(HANDED), text(step)
