"""A question whose only booking cue is "прийти" is the studio's FAQ when an entry answers it — at the start
("Здравствуйте! можно ли прийти новичку?") and in the middle of a booking, where the pending question is
asked again after the answer. Before, the first started a booking ("На какое направление?") and the second
was ignored (the pending question re-asked, nothing answered). Both studios; a real booking wish still books."""

from __future__ import annotations

import pytest

from dancebot.conversation.states import State
from tests.engine.test_review_gaps_holidays_outage import Chat, text

BEGINNERS = "Можно прийти совсем без опыта"  # the demo KB's FAQ question; its answer starts with "Конечно"


@pytest.mark.parametrize(
    "question",
    [
        "Здравствуйте! можно ли прийти новичку?",
        "можно ли прийти новичку?",
        "а можно прийти новичку",
        "добрый день, можно прийти новичку совсем?",
        "я новичок, можно?",
        "можно начинающим?",
    ],
)
async def test_a_beginners_question_is_answered_not_booked(question: str) -> None:
    chat = Chat("demo")
    step = await chat.say(question)
    answer = chat.engine.deps.kb.faq[_beginners(chat)].a
    assert answer.split(".")[0] in text(step), text(step)
    assert "На какое направление" not in text(step)
    assert chat.session.state in (State.IDLE, State.BROWSING_SCHEDULE)


@pytest.mark.parametrize("question", ["а можно ли прийти новичку?", "можно прийти новичку?", "можно начинающим?"])
async def test_the_same_question_mid_booking_is_answered_and_the_booking_goes_on(question: str) -> None:
    chat = Chat("demo")
    await chat.say("хочу на хилс")
    assert chat.session.state is State.COLLECTING_DATETIME
    step = await chat.say(question)
    answer = chat.engine.deps.kb.faq[_beginners(chat)].a
    assert answer.split(".")[0] in text(step), text(step)
    assert "High Heels" in text(step)  # the pending question, asked again
    assert chat.session.state is State.COLLECTING_DATETIME
    assert "администратор" not in text(step)


@pytest.mark.parametrize("question", ["а можно прийти без пары?", "можно ли прийти без партнёра?"])
async def test_second_studio_its_own_faq_answers_may_i_come(question: str) -> None:
    chat = Chat("second")
    step = await chat.say(question)
    assert "пара не нужна" in text(step), text(step)
    assert "На какое направление" not in text(step)


@pytest.mark.parametrize(
    ("wish", "state"),
    [
        ("можно записаться на хилс?", State.COLLECTING_DATETIME),
        ("можно прийти в четверг на хилс?", State.COLLECTING_DATETIME),
        ("я новичок, хочу на хилс", State.COLLECTING_DATETIME),
    ],
)
async def test_a_real_booking_wish_still_books(wish: str, state: State) -> None:
    chat = Chat("demo")
    await chat.say(wish)
    assert chat.session.state in (state, State.COLLECTING_CONTACT), chat.session.state


def _beginners(chat: Chat) -> int:
    return next(i for i, e in enumerate(chat.engine.deps.kb.faq) if e.q.startswith(BEGINNERS))
