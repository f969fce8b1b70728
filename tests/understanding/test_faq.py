"""FAQ questions find their KB answer; price answers quote only KB numbers."""

from __future__ import annotations

import re

import pytest

from dancebot.kb import KnowledgeBase
from dancebot.understanding.faq import match_faq, price_answer


def faq_question(text: str, kb: KnowledgeBase) -> str | None:
    hit = match_faq(text, kb)
    return hit.question if hit else None


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("что взять на первое занятие?", "Я иду в первый раз. Что взять с собой?"),
        ("в чем заниматься?", "Я иду в первый раз. Что взять с собой?"),
        ("а форма какая нужна", "Я иду в первый раз. Что взять с собой?"),
        ("где вы находитесь", "Где вы находитесь и как добраться?"),
        ("как до вас доехать?", "Где вы находитесь и как добраться?"),
        ("есть парковка?", "Есть ли парковка?"),
        ("можно без пары на сальсу?", "Нужна ли пара для сальсы?"),
        ("а душ есть?", "Есть душ и раздевалки?"),
        ("я никогда не танцевала, можно?", "Можно прийти совсем без опыта?"),
        ("во сколько вы работаете", "Когда вы работаете?"),
        ("как оплатить картой?", "Как можно оплатить?"),
        ("какие туфли нужны для хилс", "Какая обувь нужна для High Heels?"),
        ("с какого возраста берете детей", "С какого возраста можно привести ребёнка?"),
        ("можно ли подарить сертификат", "Можно купить подарочный сертификат?"),
        ("что будет если я опоздаю", "Что будет, если я опоздаю?"),
        ("сколько стоит пробное занятие", "Сколько стоит пробное занятие?"),
    ],
)
def test_questions_find_their_faq_entry(text: str, question: str, kb: KnowledgeBase) -> None:
    assert faq_question(text, kb) == question


@pytest.mark.parametrize("text", ["привет", "хочу в пятницу", "ывапролд", "89141234567", ""])
def test_messages_that_ask_nothing_of_the_faq_get_no_hit(text: str, kb: KnowledgeBase) -> None:
    assert match_faq(text, kb) is None


def test_more_matching_keywords_give_a_more_confident_hit(kb: KnowledgeBase) -> None:
    one = match_faq("а форма какая нужна", kb)
    several = match_faq("иду в первый раз, что взять с собой?", kb)
    assert one is not None and several is not None
    assert several.score > one.score


def _amounts(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"(\d+) ₽", text)}


def test_price_of_one_style_with_subscriptions(kb: KnowledgeBase) -> None:
    answer = price_answer(["high_heels"], kb)
    assert answer.startswith("High Heels — 700 ₽ за разовое занятие.")
    assert _amounts(answer) == {700, 2400, 4400, 6900, 3600}
    assert "30 дн." in answer


def test_every_amount_in_a_price_answer_is_a_kb_price(kb: KnowledgeBase) -> None:
    for answer in (price_answer([], kb), price_answer(["salsa", "kids"], kb, "en")):
        assert _amounts(answer) <= kb.prices()


def test_all_styles_are_listed_when_none_was_named_and_fit_a_telegram_message(kb: KnowledgeBase) -> None:
    answer = price_answer([], kb)
    assert all(s.name in answer for s in kb.services)
    assert len(answer) <= 300


def test_english_price_answer_without_subscriptions(kb: KnowledgeBase) -> None:
    assert price_answer(["salsa"], kb, "en", subscriptions=False) == "Сальса: 650 ₽ per class."


def test_unknown_style_ids_fall_back_to_the_whole_price_list(kb: KnowledgeBase) -> None:
    assert price_answer(["bachata"], kb, subscriptions=False) == price_answer([], kb, subscriptions=False)
