"""Names: introduced, for a child or partner (in the nominative), or bare when the bot asked."""

from __future__ import annotations

import pytest

from dancebot.kb import KnowledgeBase
from dancebot.understanding.entities import kb_words
from dancebot.understanding.names import NameResult, extract_name, relation_in


@pytest.fixture(scope="module")
def stop(kb: KnowledgeBase) -> frozenset[str]:
    return kb_words(kb)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("меня зовут Аня", "Аня"),
        ("Ксения меня зовут, а как можно оплатить?", "Ксения"),
        ("Привет! Меня зовут Аня, хочу на хилс в пятницу", "Аня"),
        ("я Мария", "Мария"),
        ("я мария, запишите на растяжку", "Мария"),
        ("это Олег Петров", "Олег Петров"),
        ("меня зовут Ольга Сергеевна", "Ольга Сергеевна"),
        ("моё имя Ксения", "Ксения"),
        ("my name is Anna", "Anna"),
        ("Hi, I'm Anna", "Anna"),
    ],
)
def test_introduced_names_are_found_without_being_asked(text: str, name: str, stop: frozenset[str]) -> None:
    assert extract_name(text, asked=False, stop_words=stop) == NameResult(name)


@pytest.mark.parametrize(
    ("text", "name", "relation"),
    [
        ("запишите дочь Машу", "Маша", "дочь"),
        ("Запишите сына Артёма на хип-хоп", "Артём", "сын"),
        ("запишите сына Артема в субботу", "Артём", "сын"),
        ("хочу записать дочку Софию на детские", "София", "дочь"),
        ("дочку зовут Вика, ей 7", "Вика", "дочь"),
        ("Запишите дочку Машу Иванову", "Маша Иванова", "дочь"),
        ("запишите жену Ольгу на сальсу", "Ольга", "жена"),
    ],
)
def test_someone_else_is_named_in_the_nominative(text: str, name: str, relation: str, stop: frozenset[str]) -> None:
    result = extract_name(text, asked=False, stop_words=stop)
    assert result == NameResult(name, for_someone_else=True, relation=relation)


def test_booking_for_a_child_without_a_name_reports_the_relation_only(stop: frozenset[str]) -> None:
    text = "хочу записать дочку на детские танцы"
    assert extract_name(text, asked=False, stop_words=stop) is None
    assert relation_in(text) == "дочь"


def test_a_mother_introducing_herself_is_not_booking_someone_else() -> None:
    assert relation_in("я мама Вики, подскажите расписание") is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Катя", "Катя"),
        ("Анна Смирнова", "Анна Смирнова"),
        ("анна смирнова 89141234567", "Анна Смирнова"),
        ("Катя, +7 914 123-45-67", "Катя"),
        ("Милана", "Милана"),
        ("Дима", "Дима"),
        ("Anna", "Anna"),
        ("Анна-Мария", "Анна-Мария"),
    ],
)
def test_a_bare_name_counts_when_the_bot_asked(text: str, name: str, stop: frozenset[str]) -> None:
    assert extract_name(text, asked=True, stop_words=stop) == NameResult(name)


def test_a_bare_name_is_ignored_when_nobody_asked(stop: frozenset[str]) -> None:
    assert extract_name("Катя", asked=False, stop_words=stop) is None


@pytest.mark.parametrize(
    "text",
    ["привет", "да", "хилс", "пятница", "контемп", "бачата", "на гоголя", "сколько стоит?", "в пятницу в 19",
     "ааааа", "ывапролд", "хорошо", "I'm late"],
)  # fmt: skip
def test_studio_words_greetings_and_mashing_are_never_names(text: str, stop: frozenset[str]) -> None:
    assert extract_name(text, asked=True, stop_words=stop) is None


@pytest.mark.parametrize(
    "text",
    ["я к Насте", "я хочу на сальсу", "это Настя ведёт хилс?", "я не знаю", "Сегодня меня зовут на день рождения"],
)
def test_a_sentence_starting_with_ya_or_eto_is_not_an_introduction(text: str, stop: frozenset[str]) -> None:
    assert extract_name(text, asked=False, stop_words=stop) is None


def test_names_longer_than_fifty_letters_are_rejected(stop: frozenset[str]) -> None:
    assert extract_name("меня зовут " + "Лаверанидо" * 6, asked=False, stop_words=stop) is None
    assert extract_name("меня зовут Лаверанидо", asked=False, stop_words=stop) == NameResult("Лаверанидо")
