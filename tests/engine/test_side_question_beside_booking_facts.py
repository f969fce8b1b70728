"""A message that carries booking facts and a question ("меня зовут Оля, а где вы находитесь?" while the
classes are on the table): the facts are taken and the question is answered from the KB, in the same
reply; the flow goes on. Before, the question was dropped and only the choice was asked again. And a
trial wish without a style ("хочу на пробное занятие в пятницу") is a booking, not a question for the
administrator. Both studios."""

from __future__ import annotations

import pytest

from dancebot.conversation.states import State
from dancebot.kb import load_kb
from tests.engine.test_name_with_a_side_question import at_the_name_question
from tests.engine.test_review_gaps_holidays_outage import Chat, alerts, text

KB_PATHS = {"demo": "knowledge/studio.yaml", "second": "tests/studios/second/studio.yaml"}


def faq_answer(studio: str, about: str) -> str:
    kb = load_kb(KB_PATHS[studio]).kb
    return next(e.a for e in kb.faq if about in e.q.lower())


@pytest.mark.parametrize("studio", ["demo", "second"])
@pytest.mark.parametrize(
    ("said", "name", "entry"),
    [
        ("меня зовут Оля, а где вы находитесь?", "Оля", "находитесь"),
        ("Я Марина. Где вы находитесь?", "Марина", "находитесь"),
        ("это Света, есть ли у вас парковка?", "Света", "парковк"),
        ("Ксения меня зовут, а как можно оплатить?", "Ксения", "оплат"),
    ],
)
async def test_a_name_and_a_question_mid_booking_both_count(studio: str, said: str, name: str, entry: str) -> None:
    chat = await at_the_name_question(studio)
    step = await chat.say(said)
    reply = text(step)
    kb = load_kb(KB_PATHS[studio]).kb
    answers = [e.a for e in kb.faq if e.a in reply]
    assert len(answers) == 1 and faq_answer(studio, entry) in answers, reply
    assert chat.session.slots.client_name == name
    assert "как вас зовут" not in reply.lower(), reply
    assert not alerts(step)


@pytest.mark.parametrize("studio", ["demo", "second"])
async def test_the_address_asked_beside_the_name_while_classes_are_offered(studio: str) -> None:
    chat = Chat(studio)
    await chat.say({"demo": "хочу на сальсу в субботу вечером", "second": "хочу на бачату в субботу вечером"}[studio])
    state = chat.session.state
    step = await chat.say("меня зовут Оля, а где вы находитесь?")
    assert faq_answer(studio, "находитесь") in text(step)
    assert chat.session.state is state or chat.session.state in (State.COLLECTING_CONTACT, State.CONFIRM_BOOKING)
    assert not alerts(step)


@pytest.mark.parametrize("studio", ["demo", "second"])
@pytest.mark.parametrize(
    "said",
    [
        "хочу на пробное занятие в пятницу",
        "хочу на пробное",
        "можно на тренировку завтра?",
        "хочу на занятие в субботу",
    ],
)
async def test_a_trial_or_class_wish_without_a_style_starts_a_booking(studio: str, said: str) -> None:
    chat = Chat(studio)
    step = await chat.say(said)
    assert not alerts(step), text(step)
    assert chat.session.state in (State.COLLECTING_GROUP, State.COLLECTING_DATETIME, State.COLLECTING_CONTACT), (
        chat.session.state,
        text(step),
    )
