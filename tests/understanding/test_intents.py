"""Intents as clients phrase them: typos, several wishes at once, the look-alike pairs kept apart."""

from __future__ import annotations

import pytest

from dancebot.kb import KnowledgeBase
from dancebot.understanding.entities import kb_words
from dancebot.understanding.intents import Intent, detect_intents, is_gibberish


def top(text: str, triggers: tuple[str, ...] = ()) -> Intent:
    return detect_intents(text, escalation_triggers=triggers)[0].intent


def found(text: str) -> set[Intent]:
    return {score.intent for score in detect_intents(text)}


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("хочу записаться на хилс в пятницу", Intent.BOOKING),
        ("Запишите меня пожалуйста на растяжку", Intent.BOOKING),
        ("записатся на стретчинг", Intent.BOOKING),
        ("можно попробовать хип-хоп?", Intent.BOOKING),
        ("I'd like to book hip hop on Friday", Intent.BOOKING),
        ("хочу записаться на все среды в декабре", Intent.SERIAL_BOOKING),
        ("на 3 занятия по пн и ср", Intent.SERIAL_BOOKING),
        ("запишите на сальсу по вторникам и четвергам", Intent.SERIAL_BOOKING),
        ("отмените мою запись на пятницу", Intent.CANCEL),
        ("не смогу прийти в пятницу, отмените", Intent.CANCEL),
        ("cancel my booking please", Intent.CANCEL),
        ("мои записи", Intent.MY_BOOKINGS),
        ("куда я записана?", Intent.MY_BOOKINGS),
        ("когда у меня занятие?", Intent.MY_BOOKINGS),
        ("перенести запись на субботу", Intent.RESCHEDULE),
        ("можно поменять время записи?", Intent.RESCHEDULE),
        ("когда можно прийти?", Intent.SCHEDULE),
        ("расписание на завтра", Intent.SCHEDULE),
        ("во сколько начинается сальса", Intent.SCHEDULE),
        ("в какие дни контемп?", Intent.SCHEDULE),
        ("what time is salsa on saturday", Intent.SCHEDULE),
        ("сколько стоит абонемент", Intent.PRICE),
        ("почём разовое?", Intent.PRICE),
        ("скока стоит разовое", Intent.PRICE),
        ("how much is a class?", Intent.PRICE),
        ("где вы находитесь", Intent.INFO),
        ("что будет если я опоздаю", Intent.INFO),
        ("когда вы работаете", Intent.INFO),
        ("кто ведет контемп?", Intent.INFO),
        ("опаздываю на 10 минут", Intent.LATENESS),
        ("задерживаюсь минут на 5, пробки", Intent.LATENESS),
        ("I'm running late", Intent.LATENESS),
        ("Привет", Intent.GREETING),
        ("добрый вечер", Intent.GREETING),
        ("спасибо!", Intent.THANKS),
        ("позовите человека", Intent.ADMIN),
        ("можно с администратором поговорить", Intent.ADMIN),
        ("передумала", Intent.ABORT),
        ("отмена", Intent.ABORT),
        ("не надо", Intent.ABORT),
        ("стоп", Intent.ABORT),
        ("не хочу уже", Intent.ABORT),
    ],
)
def test_top_intent(text: str, intent: Intent) -> None:
    assert top(text) == intent


@pytest.mark.parametrize(
    ("text", "intents"),
    [
        ("запишите на хилс и сколько стоит", {Intent.BOOKING, Intent.PRICE}),
        ("Здравствуйте, хочу записать дочку на детские танцы", {Intent.GREETING, Intent.BOOKING}),
        ("спасибо, а сколько стоит абонемент?", {Intent.THANKS, Intent.PRICE}),
    ],
)
def test_several_wishes_in_one_message_are_all_found(text: str, intents: set[Intent]) -> None:
    assert found(text) == intents


def test_bookings_come_before_other_questions_of_equal_confidence() -> None:
    ranked = detect_intents("сколько стоит и запишите на хилс")
    assert [s.intent for s in ranked] == [Intent.BOOKING, Intent.PRICE]


def test_bare_cancel_word_leaves_the_booking_but_may_mean_cancelling_one() -> None:
    ranked = detect_intents("отмените")
    assert [s.intent for s in ranked] == [Intent.ABORT, Intent.CANCEL]
    assert ranked[0].confidence > ranked[1].confidence


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("я не хочу в пятницу, хочу в субботу", Intent.ABORT),
        ("запишите на пн или ср", Intent.SERIAL_BOOKING),
        ("хочу на хай хилс", Intent.GREETING),
        ("сколько человек в группе?", Intent.ADMIN),
        ("можно заморозить абонемент?", Intent.PRICE),
        ("опаздываю на 10 минут, можно зайти?", Intent.CANCEL),
        ("отмените мою запись", Intent.MY_BOOKINGS),
        ("стоит ли брать туфли?", Intent.PRICE),
    ],
)
def test_look_alike_phrases_do_not_trigger_the_wrong_intent(text: str, absent: Intent) -> None:
    assert absent not in found(text)


@pytest.mark.parametrize("text", ["хочу вернуть деньги", "у меня жалоба", "можно заморозить абонемент?"])
def test_kb_escalation_triggers_go_to_the_admin(text: str, kb: KnowledgeBase) -> None:
    assert top(text, tuple(kb.escalation.triggers)) == Intent.ADMIN


@pytest.mark.parametrize("text", ["хочу в пятницу", "ну такое", "🙂"])
def test_messages_without_a_wish_are_unknown(text: str) -> None:
    assert detect_intents(text)[0].intent == Intent.UNKNOWN
    assert detect_intents(text)[0].confidence == 0.0


@pytest.mark.parametrize("text", ["ывапролд", "ааааа", "йцукен фыва", "ghbdtn", "лоыврало щзшгне"])
def test_keyboard_mashing_is_gibberish(text: str, kb: KnowledgeBase) -> None:
    assert is_gibberish(text, vocabulary=kb_words(kb, teachers=True))


@pytest.mark.parametrize("text", ["хилз", "привет", "Настя", "контемпорари", "89141234567", "👍", "ok", "стрейчинг"])
def test_studio_words_typos_and_short_replies_are_not_gibberish(text: str, kb: KnowledgeBase) -> None:
    assert not is_gibberish(text, vocabulary=kb_words(kb, teachers=True))
