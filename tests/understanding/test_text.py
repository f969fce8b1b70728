"""Normalisation and lemmas: what every other rule compares, so spelling variants meet here."""

from __future__ import annotations

import pytest

from dancebot.understanding.text import analyse, is_gibberish_word, lemmas, normalize, tokenize


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("Ёлка", "елка"),
        ("Хилc", "хилс"),  # the last letter is a Latin "c"
        ("Hiр Hоp", "hip hop"),  # a Cyrillic "р" and "о" inside Latin words
        ("хип—хоп", "хип-хоп"),
        ("ＨＩＰ", "hip"),
    ],
)
def test_normalize_folds_case_yo_dashes_and_look_alike_letters(raw: str, norm: str) -> None:
    assert normalize(raw) == norm


def test_tokens_are_words_and_digit_runs_without_punctuation() -> None:
    assert tokenize("Хочу на хип-хоп, в 19:30!!! 👍") == ["хочу", "на", "хип", "хоп", "в", "19", "30"]


def test_lemmas_undo_russian_inflection_and_keep_latin_words() -> None:
    assert lemmas("Занимаюсь сальсой по средам") == ["заниматься", "сальса", "по", "среда"]
    assert lemmas("book hip hop") == ["book", "hip", "hop"]


def test_analysis_is_shared_between_rules() -> None:
    assert analyse("хочу на хилс") is analyse("хочу на хилс")


@pytest.mark.parametrize(
    ("word", "mashed"),
    [("ывапролд", True), ("qwerty", True), ("ааааа", True), ("привет", False), ("property", False),
     ("стретчинг", False)],
)  # fmt: skip
def test_keyboard_mashing_is_told_from_words(word: str, mashed: bool) -> None:
    assert is_gibberish_word(word) is mashed
