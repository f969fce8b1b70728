"""Asked for the name, the client gives it and asks something in the same message ("Маша. а сколько стоит
абонемент?"): the question is answered and the name is kept — the next question is the phone, not the name
again. Before, the name was dropped and "как вас зовут?" came back. Both studios."""

from __future__ import annotations

import pytest

from dancebot.conversation.states import State
from tests.engine.test_review_gaps_holidays_outage import Chat, text

WISHES = {"demo": "хочу на хилс в четверг в 20", "second": "хочу на бачату в четверг"}


async def at_the_name_question(studio: str) -> Chat:
    """A chat whose booking has its class and now asks the client's name."""
    chat = Chat(studio)
    first = await chat.say(WISHES[studio])
    if chat.session.state is State.COLLECTING_DATETIME:  # more than one class that day: take the first
        await chat.tap(next(b.data for j in first.jobs for row in j.buttons for b in row))
    assert chat.session.state is State.COLLECTING_CONTACT and chat.session.pending.slot == "client_name"
    return chat


@pytest.mark.parametrize("studio", ["demo", "second"])
@pytest.mark.parametrize(
    ("said", "name", "answer_has"),
    [
        ("Маша. а сколько стоит абонемент?", "Маша", "₽"),
        ("Маша, а сколько стоит?", "Маша", "₽"),
        ("Катя, а сколько стоит разовое?", "Катя", "₽"),
        ("меня зовут Оля. а абонементы какие есть?", "Оля", "₽"),
    ],
)
async def test_the_name_given_with_a_question_is_kept(studio: str, said: str, name: str, answer_has: str) -> None:
    chat = await at_the_name_question(studio)
    step = await chat.say(said)
    assert answer_has in text(step), text(step)
    assert chat.session.slots.client_name == name
    assert "как вас зовут" not in text(step).lower(), text(step)
    assert "телефон" in text(step).lower(), text(step)
    assert text(step).count("₽ за разовое") <= 1  # the price is said once


async def test_a_question_without_a_name_still_asks_the_name_again() -> None:
    chat = Chat("demo")
    await chat.say(WISHES["demo"])
    step = await chat.say("а сколько стоит абонемент?")
    assert "₽" in text(step) and "как вас зовут" in text(step).lower()
    assert chat.session.slots.client_name is None
