"""Issue 8 point 6 (prices): numbers mean what the sentence says. "абонемент на 8 занятий", "8 занятий скок"
→ the subscription's price from the KB, never a series; "пробное", "первое занятие" → the KB's answer about the
trial class, not a single price."""

from __future__ import annotations

import pytest

from tests.conversations.harness import Client, text_of

pytestmark = pytest.mark.e2e


def price_only(reply: str) -> bool:
    """A price answer: no series summary, no booking question."""
    return "Записать на все" not in reply and "зовут" not in reply and "направлени" not in reply


def amount_in(amount: str, reply: str) -> bool:
    return amount in reply.replace(" ", "").replace("\u00a0", "")


@pytest.mark.parametrize(
    ("question", "amount"),
    [
        ("сколько стоит абонемент на 8 занятий?", "4400"),
        ("8 занятий скок", "4400"),
        ("а на 4 занятия абонемент почем?", "2400"),
        ("детский абонемент на 8 занятий сколько?", "3600"),
    ],
)
async def test_a_subscription_is_its_price_never_a_series(client: Client, question: str, amount: str) -> None:
    c = client
    reply = text_of(await c.say(question))
    assert amount_in(amount, reply), f"{question!r}: not the KB's subscription price {amount}: {reply!r}"
    assert price_only(reply), f"{question!r} started a booking: {reply!r}"
    assert c.reservations() == []


TRIAL_QUESTIONS = ["пробное сколько стоит?", "первое занятие платное?", "хочу попробовать, пробное есть?"]


@pytest.mark.parametrize("question", TRIAL_QUESTIONS)
async def test_a_trial_class_is_the_kbs_trial_answer(client: Client, question: str) -> None:
    c = client
    reply = text_of(await c.say(question))
    assert "пробн" in reply.lower() and "500" in reply and "700" in reply, f"not the KB's trial answer: {reply!r}"
    assert "Записать на все" not in reply
    assert c.reservations() == []
