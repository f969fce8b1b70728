"""The verb of the action a yes/no question asks about is its yes, its negation its no
(understanding/yesno.py `confirming`); without the question the same words stay what they were."""

from __future__ import annotations

import pytest

from dancebot.understanding.yesno import Confirming, read_yes_no

CASES: list[tuple[Confirming, str, str | None]] = [
    # "Отменить запись …?"
    ("cancel", "да, отмените", "yes"),
    ("cancel", "да отменяйте", "yes"),
    ("cancel", "отменить", "yes"),
    ("cancel", "отмена", "yes"),
    ("cancel", "ок отмена", "yes"),
    ("cancel", "давайте отменим", "yes"),
    ("cancel", "угу отменяй", "yes"),
    ("cancel", "отменяйтеее", "yes"),
    ("cancel", "атмените", "yes"),
    ("cancel", "подтверждаю отмену", "yes"),
    ("cancel", "да, отмените её пожалуйста", "yes"),
    ("cancel", "да, не смогу", "yes"),
    ("cancel", "не смогу прийти, отменяйте", "yes"),
    ("cancel", "заболела отмените", "yes"),
    ("cancel", "отмените, если не сложно", "yes"),
    ("cancel", "yes, cancel", "yes"),
    ("cancel", "yes cancel it please", "yes"),
    ("cancel", "нет, не отменяйте", "no"),
    ("cancel", "не надо отменять", "no"),
    ("cancel", "пока не отменяйте", "no"),
    ("cancel", "передумала отменять", "no"),
    ("cancel", "оставьте", "no"),
    ("cancel", "пусть остаётся", "no"),
    ("cancel", "хотя нет, оставьте", "no"),
    ("cancel", "no, keep it", "no"),
    ("cancel", "don't cancel", "no"),
    ("cancel", "отмените другую", None),
    ("cancel", "отмените, но не эту", None),
    ("cancel", "отменить?", None),
    ("cancel", "передумала, отменяйте", "no"),  # ambiguous: never a cancel
    ("cancel", "да, не надо", None),
    # "Всё верно?" / "Записать на все?"
    ("book", "да, записывайте", "yes"),
    ("book", "верно, запишите", "yes"),
    ("book", "запишите", "yes"),
    ("book", "ок бронируй", "yes"),
    ("book", "да, на все", "yes"),
    ("book", "yes, book me in", "yes"),
    ("book", "нет, не записывайте", "no"),
    ("book", "не надо записывать", "no"),
    ("book", "записывайте, но в 19", None),
    ("book", "да, отмените", None),
    ("book", "запишите и подругу", None),
    # "Передать вопрос администратору?"
    ("admin", "да, передайте", "yes"),
    ("admin", "передайте пожалуйста", "yes"),
    ("admin", "угу, узнайте", "yes"),
    ("admin", "не надо передавать", "no"),
]


@pytest.mark.parametrize(("action", "text", "answer"), CASES)
def test_a_verb_restating_the_action_answers_the_question(action: Confirming, text: str, answer: str | None) -> None:
    assert read_yes_no(text, action).answer == answer


@pytest.mark.parametrize("text", ["отмена", "да, отмените", "отменяйте", "оставьте", "запишите"])
def test_without_a_question_the_verbs_are_no_answer(text: str) -> None:
    assert read_yes_no(text).answer is None
