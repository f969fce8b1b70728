"""The pure parts of the LLM layer's understanding, FAQ answers, rewording and degradation (PRODUCT.md §6.2,
§9.1, §9.3): the model's JSON read leniently, only the client's own words kept, answers held to the KB
passages, the degradation table."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dancebot.kb import KnowledgeBase
from dancebot.llm.extract import _grounded_slots, grounded_answer, read_reply
from dancebot.llm.health import degradation_level
from dancebot.llm.passages import kb_names, passages, retrieve
from dancebot.llm.policy import Rule, enforce
from dancebot.llm.rewrite import keeps_meaning
from dancebot.understanding.intents import Intent
from dancebot.understanding.raw import RawSlots

NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Vladivostok"))
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["intent", "slots", "confidence", "answer", "phone", "x"]), JSONISH))
def test_any_object_the_model_returns_is_read_without_raising(data: dict[str, Any]) -> None:
    reading = read_reply(data)
    assert 0.0 <= reading.confidence <= 1.0
    assert all(v is None or isinstance(v, str) for v in vars(reading.slots).values())


@pytest.mark.parametrize(
    ("data", "intent", "confidence"),
    [
        ({"intent": "book", "confidence": "0.8"}, Intent.BOOKING, 0.8),
        ({"intent": "FAQ", "confidence": 90}, Intent.INFO, 0.9),
        ({"intent": "serial-booking", "confidence": 1.7}, Intent.SERIAL_BOOKING, 0.017),
        ({"intent": "teleport", "confidence": float("nan")}, None, 0.0),
        ({"intent": ["booking"], "confidence": None}, None, 0.0),
    ],
)
def test_intent_and_confidence_are_read_leniently(
    data: dict[str, Any], intent: Intent | None, confidence: float
) -> None:
    reading = read_reply(data)
    assert reading.intent == intent and reading.confidence == pytest.approx(confidence)


def test_slots_may_sit_at_the_top_level_and_a_numeric_phone_is_text() -> None:
    reading = read_reply({"intent": "booking", "style_raw": "хилс", "phone": 89141234567, "name": "null"})
    assert reading.slots == RawSlots(style_raw="хилс", phone="89141234567")


def test_only_the_clients_own_words_are_kept() -> None:
    text = "Короче, подружка ходит к Насте по четвергам, я Лена, тел 8 914 123-45-67"
    raw = RawSlots(
        style_raw="High Heels", teacher_raw="к насте", date_text="по четвергам", name="Лена", phone="89141234567"
    )
    kept, dropped = _grounded_slots(raw, text)
    assert kept == RawSlots(teacher_raw="к насте", date_text="по четвергам", name="Лена", phone="89141234567")
    assert dropped == ["style_raw"]  # the model's translation of nothing the client said
    typo, _ = _grounded_slots(RawSlots(style_raw="хилс"), "хочу на хилз")
    assert typo.style_raw == "хилс"  # a typo fixed is still the client's word
    invented, dropped = _grounded_slots(RawSlots(phone="89990001122", time_text="в 19:00"), text)
    assert invented == RawSlots() and dropped == ["time_text", "phone"]


def test_the_data_block_names_are_the_kbs_and_no_schedule(kb: KnowledgeBase) -> None:
    names = kb_names(kb)
    assert names["styles"][0].startswith("High Heels (хилс") and len(names["teachers"]) == len(kb.teachers)
    assert len(passages(kb)) > len(kb.faq) and not any("Ср 02.12" in p.text for p in passages(kb))
    assert next(p.title for p in retrieve("где припарковаться на машине?", kb)) == "FAQ «Есть ли парковка?»"
    assert retrieve("ну и ну", kb) == []


def test_an_answer_must_be_made_of_the_passages(kb: KnowledgeBase) -> None:
    found = retrieve("а где у вас можно машину оставить?", kb)
    assert grounded_answer("На Гоголя — бесплатная парковка ТЦ «Гоголь», в Центре своей парковки нет.", found)
    assert not grounded_answer("Все занятия бесплатные!", found)  # the words are there, the claim is not
    assert not grounded_answer("На Гоголя парковка на 200 мест.", found)  # a number of its own
    assert not grounded_answer("У нас есть бассейн и сауна для учеников.", found)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("На Гоголя — бесплатная парковка ТЦ «Гоголь».", True),
        ("Первое занятие бесплатно!", False),
        ("The trial class is free of charge", False),
        ("Пробное занятие — 700 ₽.", True),
        ("Пробное занятие — 990 ₽.", False),
    ],
)
def test_free_is_a_price_that_must_be_the_kbs(kb: KnowledgeBase, text: str, ok: bool) -> None:
    verdict = enforce(text, kb=kb, channel="telegram")
    assert verdict.ok is ok
    if not ok:
        assert verdict.rule is Rule.PRICE_NOT_IN_KB


def test_a_rewording_keeps_the_facts_and_the_question() -> None:
    original = "Подскажите, что вас интересует: запись на занятие, расписание или цены?"
    assert keeps_meaning(original, "Что вам интересно: записаться на занятие, узнать расписание или цены?")
    assert not keeps_meaning(original, "Рада вас видеть!")  # the question is gone
    assert not keeps_meaning(original, "Что интересует? Занятие сегодня в 19:00")  # a time of its own
    assert not keeps_meaning(original, "Как настроение? Погода отличная?")  # other words


@pytest.mark.parametrize(
    ("crm", "llm", "level"),
    [
        ("ok", "ok", "L0"),
        ("ok", "not_configured", "L0"),
        ("down", "ok", "L1"),
        ("auth_error", "not_configured", "L1"),
        ("ok", "down", "L2"),
        ("ok", "over_budget", "L2"),
        ("down", "down", "L3"),
        ("down", "over_budget", "L3"),
    ],
)
def test_degradation_levels(crm: str, llm: str, level: str) -> None:
    assert degradation_level(crm, llm) == level
