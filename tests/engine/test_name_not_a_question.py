"""A question or a remark in reply to "Как вас зовут?" is never stored as the client's name (PRODUCT.md §5.1
`client_name`): "is there wifi?" used to become the name "Is". A question the KB answers (price, address, end
time, what to bring) is answered on the side and the name asked again; "а зачем вам имя?", "а это
обязательно?" get the honest reason (the studio books the class in its system) and the question again;
anything else gets the question again. Real names — lower case, short, rare, with "меня зовут" — still pass.
Server-free: the pure engine, the demo schedule, Wed 2026-12-02 15:00."""

from __future__ import annotations

import itertools

import pytest

from dancebot.conversation.catalogue import TEXTS
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.session import Session
from dancebot.conversation.states import State
from dancebot.understanding.entities import kb_words
from dancebot.understanding.names import extract_name
from tests.engine.pure import StaticCRM, demo_kb, make_engine, say

_chats = itertools.count(7500)
ASK_NAME = ("как вас зовут", "what's your name")

# (reply, a piece of the KB's answer that must be said)
ANSWERED = [
    ("а сколько стоит?", "₽"),
    ("сколько стоит", "₽"),
    ("скока стоит", "₽"),
    ("how much is it", "₽"),
    ("где это находится", "Гоголя"),
    ("а адрес какой", "Гоголя"),
    ("where is it", "Гоголя"),
    ("а во сколько заканчивается?", "до 15:00"),
    ("во сколько закончится", "до 15:00"),
    ("во сколько конец", "до 15:00"),
    ("до скольки занятие", "до 15:00"),
    ("что взять с собой?", "одежд"),
    ("что надо взять", "одежд"),
    ("а туфли нужны", "туфли"),
]
WHY = [
    "а зачем вам имя?",
    "зачем вам имя",
    "зачем",
    "а вам зачем",
    "для чего",
    "а для чего вам имя",
    "зачем вам мое имя?",
    "а это обязательно?",
    "это обязательно",
    "обязательно?",
    "можно без имени?",
    "а можно без имени",
    "а без имени никак",
    "можно не говорить?",
    "можно анонимно",
    "не хочу говорить",
    "why do you need my name",
    "is it necessary?",
    "why",
]
# Neither a name nor a question the KB answers: the name is asked again, nothing stored.
NOT_NAMES = [
    "is there wifi?",
    "is there parking",
    "есть вайфай?",
    "вайфай",
    "what",
    "wait",
    "hmm",
    "sorry",
    "okay",
    "idk",
    "хз",
    "чё",
    "нафига",
    "лол",
    "сорян",
    "упс",
    "подожди",
    "секунду",
    "ой",
    "не знаю",
    "а вы кто",
    "ты робот",
    "кто вы",
    "хорошая погода",
]
REAL_NAMES = [
    ("Маша", "Маша"),
    ("мария", "Мария"),
    ("Анна Петрова", "Анна Петрова"),
    ("Кира", "Кира"),
    ("Лена", "Лена"),
    ("Ян", "Ян"),
    ("Ли", "Ли"),
    ("Emma", "Emma"),
    ("меня зовут Оля", "Оля"),
    ("я — Настя", "Настя"),
    ("Шамиль", "Шамиль"),
    ("Айгуль", "Айгуль"),
    ("анна", "Анна"),
    ("катя петрова", "Катя Петрова"),
    ("Ия", "Ия"),
    ("Вера", "Вера"),
    ("Лев", "Лев"),
    ("Алсу", "Алсу"),
    ("john", "John"),
    ("Kira", "Kira"),
    ("Анна-Мария", "Анна-Мария"),
]


@pytest.fixture
def engine() -> tuple[Engine, StaticCRM]:
    return make_engine()


def text(step: Step) -> str:
    return "\n".join(j.text for j in step.jobs)


async def asked_for_the_name(eng: Engine) -> Session:
    s = Session(channel="telegram", chat_id=next(_chats), language="ru")
    step = await say(eng, s, "хочу на хилс в субботу")
    assert s.state == State.COLLECTING_CONTACT and "Как вас зовут?" in text(step), text(step)
    return s


def asks_the_name_again(step: Step) -> bool:
    return any(q in text(step).lower() for q in ASK_NAME)


@pytest.mark.parametrize(("reply", "answer"), ANSWERED)
async def test_a_question_the_kb_answers_is_answered_and_the_name_asked_again(
    engine: tuple[Engine, StaticCRM], reply: str, answer: str
) -> None:
    s = await asked_for_the_name(engine[0])
    step = await say(engine[0], s, reply)
    assert s.slots.client_name is None, f"{reply!r} became the name {s.slots.client_name!r}"
    assert answer in text(step) and asks_the_name_again(step), text(step)
    assert s.state == State.COLLECTING_CONTACT


@pytest.mark.parametrize("reply", WHY)
async def test_why_the_name_gets_the_reason_and_the_question_again(
    engine: tuple[Engine, StaticCRM], reply: str
) -> None:
    s = await asked_for_the_name(engine[0])
    step = await say(engine[0], s, reply)
    said = text(step)
    assert s.slots.client_name is None, f"{reply!r} became the name {s.slots.client_name!r}"
    assert TEXTS["ru"]["why_contact"] in said or TEXTS["en"]["why_contact"] in said, said
    assert asks_the_name_again(step) and s.state == State.COLLECTING_CONTACT, said


async def test_why_the_phone_gets_the_reason_and_the_phone_question_again(engine: tuple[Engine, StaticCRM]) -> None:
    s = await asked_for_the_name(engine[0])
    await say(engine[0], s, "Маша")
    step = await say(engine[0], s, "а телефон зачем?")
    assert TEXTS["ru"]["why_contact"] in text(step) and "номер телефона" in text(step), text(step)
    step = await say(engine[0], s, "89141234567")
    assert s.state == State.CONFIRM_BOOKING and "Маша" in text(step)


@pytest.mark.parametrize("reply", NOT_NAMES)
async def test_a_remark_is_never_the_name(engine: tuple[Engine, StaticCRM], reply: str) -> None:
    s = await asked_for_the_name(engine[0])
    step = await say(engine[0], s, reply)
    assert s.slots.client_name is None, f"{reply!r} became the name {s.slots.client_name!r}"
    assert s.state == State.COLLECTING_CONTACT and asks_the_name_again(step), text(step)


@pytest.mark.parametrize(("reply", "name"), REAL_NAMES)
async def test_real_names_still_pass(engine: tuple[Engine, StaticCRM], reply: str, name: str) -> None:
    s = await asked_for_the_name(engine[0])
    step = await say(engine[0], s, reply)
    assert s.slots.client_name == name, text(step)
    assert "номер телефона" in text(step)


@pytest.mark.parametrize(
    "reply",
    [r for r, _ in ANSWERED] + WHY + NOT_NAMES + ["nope", "what for", "how much", "can i skip", "price?", "где"],
)
def test_extract_name_refuses_questions_and_remarks(reply: str) -> None:
    assert extract_name(reply, asked=True, stop_words=kb_words(demo_kb())) is None


@pytest.mark.parametrize(
    ("reply", "name"), [*REAL_NAMES, ("Маша. а сколько стоит?", "Маша"), ("Кира, а где это?", "Кира")]
)
def test_extract_name_keeps_real_names(reply: str, name: str) -> None:
    found = extract_name(reply, asked=True, stop_words=kb_words(demo_kb()))
    assert found is not None and found.name == name
