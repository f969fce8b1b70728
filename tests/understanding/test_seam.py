"""The understanding seam (PRODUCT.md §6): one `Understanding` per message, every text check the engine
acts on read here; a fallback understander only for what the rules could not settle, its raw words
resolved by the same resolvers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dancebot.channels.message import UnifiedMessage
from dancebot.kb import KnowledgeBase
from dancebot.understanding.intents import Intent
from dancebot.understanding.raw import RawSlots, from_raw
from dancebot.understanding.rules import Understanding
from dancebot.understanding.seam import Chain, Hints, RulesUnderstander, class_count

NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Vladivostok"))


def _msg(text: str | None = None, callback: str | None = None, locale: str | None = None) -> UnifiedMessage:
    return UnifiedMessage(
        channel="telegram",
        chat_id=1,
        message_id="1",
        timestamp=NOW,
        text=text,
        callback_data=callback,
        message_type="callback" if callback else "text",
        language_code=locale,
    )


def _read(kb: KnowledgeBase, text: str | None, **hints: object) -> Understanding:
    return RulesUnderstander(kb).read(_msg(text), Hints(now=NOW, **hints))  # type: ignore[arg-type]


def test_a_typed_number_is_the_button_with_that_number(kb: KnowledgeBase) -> None:
    buttons = ("pick:a", "pick:b", "pick:c")
    assert _read(kb, "2", buttons=buttons).callback == "pick:b"
    assert _read(kb, " 3 ", buttons=buttons).callback == "pick:c"
    assert _read(kb, "4", buttons=buttons).callback is None  # no fourth button: just a number
    assert _read(kb, "2").callback is None


def test_a_menu_button_reads_as_what_a_client_would_type(kb: KnowledgeBase) -> None:
    u = RulesUnderstander(kb).read(_msg(callback="menu:prices"), Hints(now=NOW))
    assert u.callback is None and u.intent is Intent.PRICE
    u = RulesUnderstander(kb).read(_msg(callback="book:"), Hints(now=NOW, language="en"))
    assert u.intent is Intent.BOOKING and u.text == "I want to book a class"


@pytest.mark.parametrize("command", ["/start", "/help", "/start@DanceBot", "/menu"])
def test_telegram_commands_greet_and_switch_no_language(kb: KnowledgeBase, command: str) -> None:
    u = _read(kb, command, language="ru")
    assert u.intent is Intent.GREETING and u.reply_lang == "ru"
    english = RulesUnderstander(kb).read(_msg(command, locale="en-GB"), Hints(now=NOW))
    assert english.reply_lang == "en"  # a first message from an English Telegram


@pytest.mark.parametrize(
    ("text", "previous", "lang"),
    [
        ("hi, can I book a salsa class on Friday?", None, "en"),
        ("High Heels", "ru", "ru"),  # our own Latin names switch nothing
        ("ok", "en", "en"),
        ("хочу на Hip-Hop", None, "ru"),
        ("what time does it start", "ru", "en"),
    ],
)
def test_the_reply_language_follows_the_client_not_our_names(
    kb: KnowledgeBase, text: str, previous: str | None, lang: str
) -> None:
    assert _read(kb, text, language=previous).reply_lang == lang


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("на ближайшее", "nearest"),
        ("запиши на самое ближайшее занятие", "nearest"),
        ("the earliest one please", "nearest"),
        ("сколько стоит абонемент?", "wants_passes"),
        ("а безлимит есть?", "wants_passes"),
        ("что есть на выходных?", "asks_schedule"),
        ("какое расписание у хип-хопа", "asks_schedule"),
        ("хочу на сальсу", "wants"),
        ("запишите меня", "wants"),
        ("можно арендовать зал?", "question_like"),
        ("а когда у вас стретчинг", "asks"),
    ],
)
def test_every_text_check_is_a_field_of_the_understanding(kb: KnowledgeBase, text: str, flag: str) -> None:
    assert getattr(_read(kb, text), flag) is True


@pytest.mark.parametrize(
    ("text", "count"),
    [("на 3 занятия", 3), ("три занятия подряд", 3), ("5 тренировок", 5), ("two classes", 2), ("в 3 часа", None)],
)
def test_class_counts(text: str, count: int | None) -> None:
    assert class_count(text) == count


class _Counting:
    def __init__(self, answer: Understanding) -> None:
        self.calls = 0
        self.answer = answer

    async def understand(self, msg: UnifiedMessage, hints: Hints) -> Understanding:
        self.calls += 1
        return self.answer


async def test_the_fallback_is_asked_only_when_the_rules_are_not_sure(kb: KnowledgeBase) -> None:
    rules = RulesUnderstander(kb)
    fallback = _Counting(Understanding.empty())
    chain = Chain(rules, fallback)
    for settled in ("запишите на хилс в четверг", "сколько стоит занятие?", "привет", "да"):
        u = await chain.understand(_msg(settled), Hints(now=NOW, state_hint="CONFIRM_BOOKING"))
        assert u.confident, settled
    assert fallback.calls == 0
    rambling = "короче я хз, подружка ходит к вам по четвергам, можно мне туда же?"
    if not rules.read(_msg(rambling), Hints(now=NOW)).confident:
        await chain.understand(_msg(rambling), Hints(now=NOW))
        assert fallback.calls == 1


def test_raw_words_are_resolved_like_a_message(kb: KnowledgeBase) -> None:
    base = _read(kb, "короче я хз, подружка ходит к вам на каблуки по четвергам, можно мне туда же? Лена 89141234567")
    raw = RawSlots(
        style_raw="каблуки", date_text="по четвергам", time_text="в 8 вечера", name="Лена", phone="89141234567"
    )
    u = from_raw(base, Intent.BOOKING, raw, kb=kb, now=NOW, confidence=0.8)
    assert u.intent is Intent.BOOKING and u.confident
    assert [m.id for m in u.styles] == ["high_heels"]
    assert u.time is not None and u.time.weekdays == frozenset({3}) and u.time.times == frozenset({dt.time(20)})
    assert u.name is not None and u.name.name == "Лена"
    assert u.phone is not None and u.phone.e164 == "+79141234567"
    assert u.text == base.text and u.reply_lang == base.reply_lang


def test_raw_words_that_name_nothing_are_dropped_never_guessed(kb: KnowledgeBase) -> None:
    base = _read(kb, "хочу на что-нибудь")
    raw = RawSlots(style_raw="бачата", teacher_raw="Мистер Икс", branch_raw="на Луне", date_text="когда-нибудь")
    u = from_raw(base, Intent.BOOKING, raw, kb=kb, now=NOW, confidence=0.4)
    assert u.styles == () and u.teachers == () and u.branches == ()
    assert u.unknown_style == "бачата"  # said so to the client, with the styles we have
    assert u.time is None
