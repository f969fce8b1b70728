"""Only an explicit yes confirms a booking; a reply that changes something is a correction."""

from __future__ import annotations

import pytest

from dancebot.understanding.yesno import YesNoResult, classify_yes_no, read_yes_no


@pytest.mark.parametrize(
    "text",
    ["да", "Да!", "дааа", "ага", "верно", "подтверждаю", "ок", "окей", "да, всё верно", "Всё верно",
     "yes", "Yes please", "that's right", "+", "👍", "✅", "давайте", "ну да", "конечно", "спасибо, да",
     "да, записывайте 👍"],
)  # fmt: skip
def test_explicit_yes(text: str) -> None:
    assert read_yes_no(text) == YesNoResult("yes", has_correction=False)


@pytest.mark.parametrize("text", ["нет", "не", "неверно", "no", "не надо", "Нееет", "nope", "👎", "-"])
def test_explicit_no(text: str) -> None:
    assert read_yes_no(text) == YesNoResult("no", has_correction=False)


@pytest.mark.parametrize("text", ["нет, на 19", "не, давайте в субботу", "да нет, не туда", "no, friday please"])
def test_no_with_a_new_value_is_a_no_that_carries_a_correction(text: str) -> None:
    assert read_yes_no(text) == YesNoResult("no", has_correction=True)


@pytest.mark.parametrize(
    "text",
    ["хочу в пятницу", "да, но в 19", "давайте в 19:30", "да, только телефон другой 89140000000",
     "ок, но на Гоголя", "а сколько стоит?"],
)  # fmt: skip
def test_a_yes_with_changes_or_another_topic_is_never_a_confirmation(text: str) -> None:
    assert read_yes_no(text) == YesNoResult(None, has_correction=True)
    assert classify_yes_no(text) is None


@pytest.mark.parametrize("text", ["не знаю", "не уверена", "", "🤔"])
def test_doubt_and_empty_replies_are_neither_yes_nor_a_correction(text: str) -> None:
    assert read_yes_no(text) == YesNoResult(None, has_correction=False)
