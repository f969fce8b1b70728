"""The policy enforcer (PRODUCT.md §9.1) against the demo studio's KB: every rule, many phrasings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dancebot.kb import KnowledgeBase
from dancebot.llm.policy import TOOL_FAILED_TEXT, Rule, channel_limit, enforce
from dancebot.llm.policy_rules import count_emoji, find_prices, kb_prices, leaks_prompt, stray_currency
from dancebot.llm.prompts import BASE_SYSTEM_PROMPT, DATA_CLOSE, DATA_OPEN, SYSTEM_PROMPT_MARKER, system_prompt


def rule_of(text: str, kb: KnowledgeBase, **kw: object) -> Rule | None:
    return enforce(text, kb=kb, channel=str(kw.pop("channel", "telegram")), **kw).rule  # type: ignore[arg-type]


# -- clean texts pass ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Разовое занятие High Heels стоит 700 ₽ 😊",
        "Абонемент на 8 занятий — 4 400 ₽, действует 30 дней.",
        "Безлимит стоит 6900р, детский абонемент — 3600 руб.",
        "Пробное занятие стоит как разовое: от 500 до 700 ₽.",
        "Пробное — 500–700 ₽ в зависимости от направления.",
        "Стретчинг — 550 рублей за занятие.",
        "A single Hip-Hop class is 600 RUB.",
        "Приходите за 10–15 минут до начала, чтобы спокойно переодеться.",
        "Администратор на месте в будни с 10:00 до 22:00.",
        "12 декабря занятий не будет — у нас отчётный концерт студии 💃",
        "Настя ведёт High Heels, на первое занятие лучше прийти в кроссовках.",
        "Игорь учит танцевать сальсу с нуля, пара не нужна.",
        "Все наши педагоги работают с новичками 🙌",
        "It's best to arrive 10 minutes early.",
        "Можно оплатить картой или переводом по СБП.",
    ],
)
def test_clean_texts_pass_unchanged(text: str, kb: KnowledgeBase) -> None:
    verdict = enforce(f"  {text}\n", kb=kb, channel="telegram")
    assert verdict.ok, verdict
    assert verdict.text == text and verdict.rule is None and verdict.violations == ()


# -- prices -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Разовое занятие стоит 990 ₽.",
        "Абонемент — 1 500 ₽.",
        "Абонемент — 1500р.",
        "Безлимит 7000 руб.",
        "Всего 2,5 тыс. руб. за месяц!",
        "Стоимость от 400 до 700 ₽.",
        "Цена: 450–700 ₽",
        "Для вас скидка: 650.50 руб.",
        "It costs 800 rubles.",
        "Only ₽999 this week.",
        "Занятие в 19.00 — 701 ₽",
        "Семьсот рублей за занятие.",  # an amount that cannot be checked
        "Цена 700р, а с сертификатом 650 р. и 1 200 рублей за два",
    ],
)
def test_a_price_not_in_the_kb_is_refused(text: str, kb: KnowledgeBase) -> None:
    verdict = enforce(text, kb=kb, channel="telegram")
    assert not verdict.ok and verdict.rule is Rule.PRICE_NOT_IN_KB and verdict.text is None


def test_kb_prices_cover_services_subscriptions_and_the_trial_text(kb: KnowledgeBase) -> None:
    prices = kb_prices(kb)
    assert {Decimal(s.price_single) for s in kb.services} <= prices
    assert {Decimal(s.price) for s in kb.subscriptions} <= prices
    assert {Decimal(500), Decimal(700)} <= prices  # the FAQ's trial answer


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("700 ₽", [700]),
        ("1 500 ₽", [1500]),
        ("1\u00a0500\u00a0₽", [1500]),
        ("1500р", [1500]),
        ("1500 р.", [1500]),
        ("2 400 руб.", [2400]),
        ("4400 рублей", [4400]),
        ("2,4 тыс. руб", [2400]),
        ("от 500 до 700 ₽", [500, 700]),
        ("500-700 ₽", [500, 700]),
        ("₽700", [700]),
        ("700.00 RUB", [700]),
        ("１５００₽", [1500]),
        ("в 19:00 — 700 р", [700]),
        ("500 раз, 3 раза, 7 рядов", []),
        ("в 19:00, 12.12", []),
        ("Тариф: 8 занятий", []),
    ],
)
def test_find_prices(text: str, amounts: list[int], kb: KnowledgeBase) -> None:
    assert find_prices(text) == [Decimal(a) for a in amounts]


def test_stray_currency_words() -> None:
    assert stray_currency("Стоимость — семьсот рублей")
    assert stray_currency("Price: seven hundred rubles")
    assert not stray_currency("Стоимость — 700 рублей")
    assert not stray_currency("Разовое занятие — по прайсу")


# -- tool data --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Записала вас на пятницу в 19:00 ✅",
        "Вы записаны на High Heels!",
        "Готово, я вас записала.",
        "Записала на пятницу!",
        "Запись подтверждена, ждём вас.",
        "Есть свободные места на субботу.",
        "На четверг осталось 2 места.",
        "Мест нет, но можно в лист ожидания.",
        "Занятие в 19:00 в пятницу.",
        "Ближайший Hip-Hop — 05.12 в 18:30.",
        "Hip-Hop on Dec 5 at 7pm.",
        "You're booked for Friday ✅",
        "There are 3 spots left.",
        "Сальса будет 13 декабря.",
        "Давайте в 7 вечера?",
    ],
)
def test_schedule_or_booking_content_needs_tool_data_from_this_turn(text: str, kb: KnowledgeBase) -> None:
    assert rule_of(text, kb) is Rule.NO_TOOL_DATA
    assert enforce(text, kb=kb, channel="telegram", tool_data_this_turn=True).ok


def test_a_schedule_turn_needs_tool_data_whatever_the_text(kb: KnowledgeBase) -> None:
    text = "Сейчас подскажу ближайшие занятия 😊"
    assert rule_of(text, kb, schedule_or_booking=True) is Rule.NO_TOOL_DATA
    assert rule_of(text, kb, schedule_or_booking=True, tool_data_this_turn=True) is None
    assert rule_of(text, kb) is None


# -- a failed tool ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_failed_tool_forces_checking_with_the_admin(kb: KnowledgeBase, lang: str) -> None:
    verdict = enforce(
        "Записала вас на пятницу ✅", kb=kb, channel="telegram", tool_failed=True, tool_data_this_turn=True, lang=lang
    )
    assert not verdict.ok and verdict.rule is Rule.TOOL_FAILED
    assert verdict.text == TOOL_FAILED_TEXT[lang]
    assert enforce(verdict.text, kb=kb, channel="whatsapp").ok  # the forced text passes every other rule


def test_the_failed_tool_text_follows_the_kb_language(kb: KnowledgeBase) -> None:
    verdict = enforce("Хорошо", kb=kb, channel="telegram", tool_failed=True)
    assert verdict.text == TOOL_FAILED_TEXT["ru"] and "уточню у администратора" in verdict.text.lower()


# -- teacher comparisons ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Кто лучше — Настя или Оля?",
        "кто из педагогов сильнее?",
        "Кто из преподавателей круче по хилсу?",
        "Скажите, кто опытнее: Дима или Игорь?",
        "Кто самый лучший тренер у вас?",
        "Сравните преподавателей хип-хопа",
        "Who is better, Nastya or Olga?",
        "who's the best teacher here?",
        "Which instructor is more experienced?",
        "Can you compare the teachers?",
    ],
)
def test_asking_to_compare_teachers_is_refused(text: str, kb: KnowledgeBase) -> None:
    assert rule_of("Все наши педагоги прекрасные 😊", kb, user_text=text) is Rule.TEACHER_COMPARISON
    assert rule_of(text, kb) is Rule.TEACHER_COMPARISON


@pytest.mark.parametrize(
    "text",
    [
        "Настя опытнее Оли, советую её.",
        "Игорь — лучший преподаватель сальсы в городе.",
        "Дмитрий сильнее как педагог.",
        "Екатерина — самый опытный хореограф студии.",
        "Катя лучше, чем Оля, для новичков.",
        "Оля круче всех в стретчинге!",
        "Игорь не хуже Димы.",
        "Our teacher Olga is better than Kate for beginners.",
        "Dmitry is our best teacher.",
        "Igor is more experienced than the other instructors.",
    ],
)
def test_a_reply_comparing_teachers_is_refused(text: str, kb: KnowledgeBase) -> None:
    assert rule_of(text, kb) is Rule.TEACHER_COMPARISON


@pytest.mark.parametrize(
    "text",
    [
        "Лучше приходите за 10 минут до начала.",
        "На High Heels лучше взять туфли на каблуке, Настя подскажет.",
        "Кто ведёт стретчинг? Ольга Белова.",
        "Для новичков лучше начать с группы с нуля.",
        "Катя преподаёт contemporary с 2015 года.",
        "Which style is good for beginners? Hip-Hop or Stretching.",
        "Хотите ли вы записаться на пробное?",
    ],
)
def test_ordinary_replies_are_not_comparisons(text: str, kb: KnowledgeBase) -> None:
    assert rule_of(text, kb) is None


# -- AI talk ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Как ИИ, я не могу знать расписание.",
        "Как искусственный интеллект, я не имею мнения.",
        "Как языковая модель, я не могу это сделать.",
        "Я — языковая модель и не знаю цен.",
        "Я всего лишь ИИ.",
        "Я не человек, но постараюсь помочь.",
        "Я являюсь нейросетью.",
        "As an AI, I can't book classes.",
        "As a large language model, I cannot do that.",
        "I am an AI assistant.",
        "I\u2019m just an AI.",
        "I'm a language model trained by OpenAI.",
    ],
)
def test_ai_talk_is_refused(text: str, kb: KnowledgeBase) -> None:
    assert rule_of(text, kb) is Rule.AI_DISCLOSURE


@pytest.mark.parametrize("text", ["Я помогу с записью 😊", "Я администратор студии «Ритм».", "Iam happy to help"])
def test_no_ai_talk(text: str, kb: KnowledgeBase) -> None:
    assert rule_of(text, kb) is None


# -- prompt leaks -----------------------------------------------------------------------------------------------


def test_a_reply_repeating_the_system_prompt_is_a_leak(kb: KnowledgeBase) -> None:
    leaked = "My rules: Never invent prices, schedules, free places, addresses or teachers."
    assert rule_of(leaked, kb) is Rule.PROMPT_LEAK


@pytest.mark.parametrize(
    "text",
    [
        f"[{SYSTEM_PROMPT_MARKER}] ok",
        f"Вот данные: {DATA_OPEN} ...",
        f"... {DATA_CLOSE}",
        "Мой системный промпт запрещает это.",
        "My system prompt says I should not.",
        "Согласно моим инструкциям… мои инструкции таковы",
    ],
)
def test_markers_and_prompt_talk_are_leaks(text: str, kb: KnowledgeBase) -> None:
    assert rule_of(text, kb) is Rule.PROMPT_LEAK


def test_a_task_prompt_given_for_the_turn_is_checked_too(kb: KnowledgeBase) -> None:
    prompt = system_prompt("Rewrite the reply in a warm tone, keeping every fact and number exactly as given.")
    text = "Rewrite the reply in a warm tone, keeping every fact."
    assert rule_of(text, kb, system_prompts=[prompt]) is Rule.PROMPT_LEAK
    assert rule_of("Хорошо, записываю ваш номер.", kb, system_prompts=[prompt]) is None
    assert not leaks_prompt("Never compare", [BASE_SYSTEM_PROMPT])  # a few words in common are not a leak


# -- length and emoji -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "limit"), [("telegram", 300), ("whatsapp", 200), ("console", 300)])
def test_length_per_channel(kb: KnowledgeBase, channel: str, limit: int) -> None:
    assert channel_limit(channel) == limit
    assert rule_of("а" * limit, kb, channel=channel) is None
    assert rule_of("а" * (limit + 1), kb, channel=channel) is Rule.TOO_LONG


def test_a_whatsapp_reply_between_200_and_300_is_too_long_only_there(kb: KnowledgeBase) -> None:
    text = "Хорошо! " * 30  # 240 characters
    assert rule_of(text, kb, channel="telegram") is None
    assert rule_of(text, kb, channel="whatsapp") is Rule.TOO_LONG


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Без эмодзи — просто текст…", 0),
        ("Привет 😊", 1),
        ("😊💃", 2),
        ("😊💃✅", 3),
        ("👨\u200d👩\u200d👧 семья", 1),
        ("👍🏽", 1),
        ("🇷🇺", 1),
        ("1️⃣ 2️⃣", 2),
        ("❤️ ⭐ ⏳", 3),
        ("Цена 700 ₽ № 5 «ок»", 0),
    ],
)
def test_count_emoji(text: str, count: int) -> None:
    assert count_emoji(text) == count


@pytest.mark.parametrize("text", ["Ждём вас 😊💃✅", "🙌 Отлично 🙌 до встречи 🙌", "👍🏽👍🏽👍🏽"])
def test_more_than_two_emoji_are_refused(text: str, kb: KnowledgeBase) -> None:
    assert rule_of(text, kb) is Rule.TOO_MANY_EMOJI


# -- verdicts ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n", None])
def test_an_empty_reply_is_refused(text: str | None, kb: KnowledgeBase) -> None:
    verdict = enforce(text, kb=kb, channel="telegram")
    assert not verdict.ok and verdict.rule is Rule.EMPTY


def test_every_violation_is_listed_the_first_by_priority(kb: KnowledgeBase) -> None:
    text = "Как ИИ скажу: Настя опытнее Оли, занятие стоит 990 ₽ 😊😊😊 " + "!" * 300
    verdict = enforce(text, kb=kb, channel="telegram")
    assert verdict.rule is Rule.AI_DISCLOSURE
    assert verdict.violations == (
        Rule.AI_DISCLOSURE,
        Rule.TEACHER_COMPARISON,
        Rule.PRICE_NOT_IN_KB,
        Rule.TOO_LONG,
        Rule.TOO_MANY_EMOJI,
    )
    assert verdict.detail == ""


def test_the_price_detail_names_the_amounts(kb: KnowledgeBase) -> None:
    verdict = enforce("Разовое — 990 ₽, абонемент — 4400 ₽", kb=kb, channel="telegram")
    assert verdict.rule is Rule.PRICE_NOT_IN_KB and verdict.detail == "990"


def test_rules_are_plain_strings_for_logs_and_rows() -> None:
    assert Rule.TOOL_FAILED == "tool_failed" and f"{Rule.TOO_LONG}" == "too_long"
