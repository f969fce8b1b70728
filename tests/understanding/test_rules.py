"""Whole messages as clients send them, read in the context of what the bot just asked."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dancebot.kb import KnowledgeBase
from dancebot.understanding.intents import Intent
from dancebot.understanding.rules import Understanding, understand
from dancebot.understanding.text import morph

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Vladivostok"))  # Wednesday
FRIDAY, SATURDAY = date(2026, 12, 4), date(2026, 12, 5)


def read(text: str, kb: KnowledgeBase, state: str | None = None) -> Understanding:
    return understand(text, kb=kb, state_hint=state, now=NOW)


def test_one_message_with_every_booking_fact(kb: KnowledgeBase) -> None:
    u = read("Привет! Меня зовут Аня, хочу на хилс в пятницу в 19, мой номер 8 914 123-45-67", kb)
    assert u.intent == Intent.BOOKING and u.has(Intent.GREETING)
    assert [s.id for s in u.styles] == ["high_heels"]
    assert u.name is not None and u.name.name == "Аня"
    assert u.phone is not None and u.phone.e164 == "+79141234567"
    assert u.time is not None and u.time.dates == frozenset({FRIDAY}) and u.time.times == frozenset({time(19)})
    assert u.faq is None  # the shoes FAQ mentions "хилс", but this is a booking
    assert u.confident


def test_booking_a_child_fills_the_attendee_name_and_the_kids_style(kb: KnowledgeBase) -> None:
    u = read("запишите дочь Машу на детские в субботу", kb)
    assert u.intent == Intent.BOOKING
    assert u.name is not None and (u.name.name, u.name.relation) == ("Маша", "дочь")
    assert [s.id for s in u.styles] == ["kids"]
    assert u.time is not None and u.time.dates == frozenset({SATURDAY})


def test_teacher_and_branch_narrow_the_group(kb: KnowledgeBase) -> None:
    u = read("хочу к Насте на растяжку на Светланской вечером", kb)
    assert [t.id for t in u.teachers] == ["anastasia"]
    assert [s.id for s in u.styles] == ["stretching"]
    assert [b.id for b in u.branches] == ["center"]
    assert u.time is not None and u.time.time_range is not None


def test_a_bare_name_is_a_name_only_when_the_bot_asked_for_it(kb: KnowledgeBase) -> None:
    asked = read("Катя", kb, "COLLECTING_CONTACT")
    assert asked.name is not None and asked.name.name == "Катя"
    assert asked.teachers == ()  # the client's own name, not the teacher Катя
    assert asked.confident
    idle = read("Катя", kb)
    assert idle.name is None and [t.id for t in idle.teachers] == ["ekaterina"]


def test_client_named_like_a_teacher_still_books_with_that_teacher(kb: KnowledgeBase) -> None:
    u = read("меня зовут Ольга, хочу к Оле на стретчинг", kb)
    assert u.name is not None and u.name.name == "Ольга"
    assert [t.id for t in u.teachers] == ["olga"]


def test_explicit_yes_in_confirmation_is_confident(kb: KnowledgeBase) -> None:
    u = read("да, всё верно", kb, "CONFIRM_BOOKING")
    assert u.yes_no == "yes" and not u.has_correction and u.confident


def test_a_new_day_in_confirmation_is_a_correction_not_a_yes(kb: KnowledgeBase) -> None:
    u = read("хочу в пятницу", kb, "CONFIRM_BOOKING")
    assert u.yes_no is None and u.has_correction
    assert u.time is not None and u.time.dates == frozenset({FRIDAY})
    assert u.confident


def test_no_with_a_new_time_carries_the_time(kb: KnowledgeBase) -> None:
    u = read("нет, на 19", kb, "CONFIRM_BOOKING")
    assert u.yes_no == "no" and u.has_correction
    assert u.time is not None and time(19) in (u.time.times or ())


def test_unknown_style_is_reported_and_answered_as_info(kb: KnowledgeBase) -> None:
    u = read("а бачата у вас есть?", kb)
    assert u.unknown_style == "бачата" and u.styles == ()
    assert u.intent == Intent.INFO and u.confident


def test_a_one_word_answer_to_which_style_names_an_unknown_style(kb: KnowledgeBase) -> None:
    assert read("кизомба", kb, "COLLECTING_GROUP").unknown_style == "кизомба"
    known = read("хилс", kb, "COLLECTING_GROUP")
    assert known.unknown_style is None and [s.id for s in known.styles] == ["high_heels"] and known.confident


def test_price_of_a_named_style_is_computed_not_taken_from_an_faq(kb: KnowledgeBase) -> None:
    u = read("сколько стоит хилс?", kb)
    assert u.intent == Intent.PRICE and [s.id for s in u.styles] == ["high_heels"]
    assert u.faq is None


def test_faq_questions_are_info_with_their_answer(kb: KnowledgeBase) -> None:
    u = read("что взять на первое занятие?", kb)
    assert u.intent == Intent.INFO
    assert u.faq is not None and u.faq.question == "Я иду в первый раз. Что взять с собой?"
    assert u.confident


def test_cancelling_a_booking_acts_instead_of_quoting_the_cancel_faq(kb: KnowledgeBase) -> None:
    u = read("отмените мою запись на пятницу", kb)
    assert u.intent == Intent.CANCEL and u.faq is None
    assert u.time is not None and u.time.dates == frozenset({FRIDAY})


def test_a_complaint_goes_to_the_admin_without_an_faq_answer(kb: KnowledgeBase) -> None:
    u = read("у меня претензия по поводу оплаты", kb)
    assert u.intent == Intent.ADMIN and u.faq is None


def test_who_teaches_a_style_is_a_question_not_a_schedule_request(kb: KnowledgeBase) -> None:
    u = read("кто ведет контемп?", kb)
    assert u.intent == Intent.INFO and not u.has(Intent.SCHEDULE)
    assert [s.id for s in u.styles] == ["contemporary"]


def test_phone_digits_are_not_read_as_a_date_or_time(kb: KnowledgeBase) -> None:
    u = read("89141234567", kb, "COLLECTING_CONTACT")
    assert u.phone is not None and u.phone.valid
    assert u.time is None and u.confident


def test_an_invalid_phone_is_flagged_for_the_engine(kb: KnowledgeBase) -> None:
    u = read("мой номер 8914123", kb, "COLLECTING_CONTACT")
    assert u.phone is not None and not u.phone.valid and u.confident


def test_an_impossible_time_is_understood_as_rejected(kb: KnowledgeBase) -> None:
    u = read("давайте в 25:00", kb, "COLLECTING_DATETIME")
    assert u.time is not None and u.time.rejected == ("bad_time",)
    assert u.confident


def test_gibberish_is_recognised_without_an_llm(kb: KnowledgeBase) -> None:
    u = read("ывапролд", kb)
    assert u.gibberish and u.confident
    assert not read("хилз", kb).gibberish


@pytest.mark.parametrize("text", ["ну такое", "а если подумать", "хм"])
def test_vague_messages_are_left_to_the_llm(text: str, kb: KnowledgeBase) -> None:
    u = read(text, kb)
    assert u.intent == Intent.UNKNOWN and not u.gibberish and not u.confident


@pytest.mark.parametrize(
    ("text", "intent", "style"),
    [("I'd like to book hip hop on Friday", Intent.BOOKING, "hip_hop"),
     ("how much is salsa?", Intent.PRICE, "salsa"),
     ("when is stretching?", Intent.SCHEDULE, "stretching")],
)  # fmt: skip
def test_english_messages(text: str, intent: Intent, style: str, kb: KnowledgeBase) -> None:
    u = read(text, kb)
    assert (u.intent, [s.id for s in u.styles], u.lang) == (intent, [style], "en")


@pytest.mark.parametrize(
    ("text", "intent"),
    [("хочу на хай хилс", Intent.BOOKING), ("есть хилс в пятницу?", Intent.SCHEDULE),
     ("позовите живого человека", Intent.ADMIN), ("хочу вернуть деньги за абонемент", Intent.ADMIN),
     ("хочу записаться на все среды в декабре на сальсу", Intent.SERIAL_BOOKING),
     ("опаздываю на 10 минут", Intent.LATENESS), ("передумала", Intent.ABORT)],
)  # fmt: skip
def test_intent_in_context_of_the_whole_message(text: str, intent: Intent, kb: KnowledgeBase) -> None:
    u = read(text, kb)
    assert u.intent == intent and u.confident


def test_the_morphology_analyser_is_built_once() -> None:
    assert morph() is morph()


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80), state=st.sampled_from([None, "IDLE", "COLLECTING_CONTACT", "CONFIRM_BOOKING"]))
def test_any_text_is_read_without_raising(text: str, state: str | None, kb: KnowledgeBase) -> None:
    u = read(text, kb, state)
    assert u.intents and 0.0 <= u.intents[0].confidence <= 1.0
