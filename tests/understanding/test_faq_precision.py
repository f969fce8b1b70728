"""An FAQ hit must answer the question asked: a word shared by chance is not the same question.

Checked on both studios: the demo «Ритм» (knowledge/studio.yaml) and «Волна»
(tests/studios/second/studio.yaml). A question no entry answers gets no hit (it goes to the admin);
it must never get another entry's answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dancebot.kb import KnowledgeBase, load_kb
from dancebot.understanding.faq import match_faq

_ROOT = Path(__file__).resolve().parents[2]
_RITM = load_kb(_ROOT / "knowledge" / "studio.yaml").kb
_VOLNA = load_kb(_ROOT / "tests" / "studios" / "second" / "studio.yaml").kb
KBS = {"ritm": _RITM, "volna": _VOLNA}


def faq_question(text: str, kb: KnowledgeBase) -> str | None:
    hit = match_faq(text, kb)
    return hit.question if hit else None


@pytest.mark.parametrize(("studio", "question"), [(name, entry.q) for name, kb in KBS.items() for entry in kb.faq])
def test_every_faq_question_as_written_finds_its_own_entry(studio: str, question: str) -> None:
    assert faq_question(question, KBS[studio]) == question


RITM_PARAPHRASES = [
    ("что с собой взять на тренировку?", "Я иду в первый раз. Что взять с собой?"),
    ("что взять на первое занятие?", "Я иду в первый раз. Что взять с собой?"),
    ("а с собой воду можно?", "Я иду в первый раз. Что взять с собой?"),
    ("я новичок, у вас есть группы для начинающих?", "Можно прийти совсем без опыта?"),
    ("можно с нуля?", "Можно прийти совсем без опыта?"),
    ("мне 45, не поздно начинать?", "Есть ли ограничения по возрасту?"),
    ("а до какого возраста можно заниматься?", "Есть ли ограничения по возрасту?"),
    ("а дочке 6 лет, можно её привести?", "С какого возраста можно привести ребёнка?"),
    ("где можно припарковаться?", "Есть ли парковка?"),
    ("а парковка платная?", "Есть ли парковка?"),
    ("есть ли душ после занятия?", "Есть душ и раздевалки?"),
    ("есть где переодеться?", "Есть душ и раздевалки?"),
    ("а пробный урок сколько стоит?", "Сколько стоит пробное занятие?"),
    ("первое занятие платное?", "Сколько стоит пробное занятие?"),
    ("какой срок действия абонемента?", "Как работают абонементы?"),
    ("сколько стоит безлимит?", "Как работают абонементы?"),
    ("можно ли заморозить абонемент если заболела?", "Можно заморозить абонемент?"),
    ("я уезжаю в отпуск, можно поставить абонемент на паузу?", "Можно заморозить абонемент?"),
    ("не смогу прийти, как отменить?", "Как отменить запись?"),
    ("а если опаздываю минут на 5?", "Что будет, если я опоздаю?"),
    ("а наличными можно?", "Как можно оплатить?"),
    ("можно оплатить по сбп?", "Как можно оплатить?"),
    ("можно оплатить онлайн через сайт?", "Как можно оплатить?"),
    ("какой каблук нужен на хилс?", "Какая обувь нужна для High Heels?"),
    ("подскажите адрес", "Где вы находитесь и как добраться?"),
    ("как добраться до студии", "Где вы находитесь и как добраться?"),
    ("какие у вас часы работы?", "Когда вы работаете?"),
    ("у вас есть подарочные сертификаты?", "Можно купить подарочный сертификат?"),
    ("нужен ли партнер?", "Нужна ли пара для сальсы?"),
    ("можно прийти без пары?", "Нужна ли пара для сальсы?"),
]

VOLNA_PARAPHRASES = [
    ("а пробное сколько стоит?", "Сколько стоит пробное занятие?"),
    ("а пробный урок сколько стоит?", "Сколько стоит пробное занятие?"),
    ("хочу попробовать, сколько стоит?", "Сколько стоит пробное занятие?"),
    ("какие абонементы есть?", "Какие есть абонементы?"),
    ("сколько стоит безлимит?", "Какие есть абонементы?"),
    ("а абонемент на 8 занятий?", "Какие есть абонементы?"),
    ("что с собой взять на тренировку?", "Что взять с собой?"),
    ("в чем заниматься?", "Что взять с собой?"),
    ("а форма какая нужна", "Что взять с собой?"),
    ("какой у вас адрес?", "Где вы находитесь?"),
    ("где находятся ваши залы?", "Где вы находитесь?"),
    ("как до вас добраться?", "Где вы находитесь?"),
    ("где можно припарковаться?", "Есть парковка?"),
    ("можно машину оставить во дворе?", "Есть парковка?"),
    ("а наличными можно?", "Как оплатить?"),
    ("можно картой оплатить?", "Как оплатить?"),
    ("нужен партнер на бачату?", "Нужна пара на бачату?"),
    ("можно прийти без пары?", "Нужна пара на бачату?"),
]


@pytest.mark.parametrize(
    ("studio", "text", "question"),
    [("ritm", t, q) for t, q in RITM_PARAPHRASES] + [("volna", t, q) for t, q in VOLNA_PARAPHRASES],
)
def test_client_paraphrases_find_their_own_entry(studio: str, text: str, question: str) -> None:
    assert faq_question(text, KBS[studio]) == question


# Questions that share a word with some entry but ask something else. For each studio: the entry
# that would be the right answer (None: no entry answers it, the admin will).
OFF_TOPIC: list[tuple[str, str | None, str | None]] = [
    ("а кулер с водой в зале есть?", None, None),
    ("а вода в зале есть?", None, None),
    ("в зале есть зеркала?", None, None),
    ("а кондиционер в зале работает?", None, None),
    ("в зале тепло?", None, None),
    ("а в зале есть вентилятор?", None, None),
    ("есть ли wifi в зале?", None, None),
    ("а музыка какая в зале?", None, None),
    ("в какой зал идти?", None, None),
    ("можно оплатить за подругу?", None, None),
    ("можно ли оплатить частями?", None, None),
    ("а абонемент можно передать подруге?", None, None),
    ("есть парковка для велосипеда?", None, None),
    ("сколько длится занятие?", None, None),
    ("сколько человек в группе?", None, None),
    ("можно прийти с подругой посмотреть?", None, None),
    ("можно прийти с ребенком посмотреть?", None, None),
    ("а форма у преподавателя какая?", None, None),
    ("можно снимать видео на занятии?", None, None),
    ("есть ли лифт в здании?", None, None),
    ("а где можно оставить коляску?", None, None),
    # «Волна» has no shower entry: the shower question must not land on anything else.
    ("есть ли душ после занятия?", "Есть душ и раздевалки?", None),
    ("есть где переодеться?", "Есть душ и раздевалки?", None),
    # Freezing is not «which passes are there».
    ("можно заморозить абонемент?", "Можно заморозить абонемент?", None),
]


@pytest.mark.parametrize(("text", "ritm", "volna"), OFF_TOPIC)
def test_a_shared_word_does_not_make_it_the_same_question(text: str, ritm: str | None, volna: str | None) -> None:
    assert faq_question(text, _RITM) == ritm
    assert faq_question(text, _VOLNA) == volna


def test_an_incidental_hit_is_refused_but_the_same_word_on_topic_still_matches() -> None:
    """The keyword is the same; what the rest of the message is about decides."""
    assert faq_question("а кулер с водой в зале есть?", _VOLNA) is None
    assert faq_question("где находятся ваши залы?", _VOLNA) == "Где вы находитесь?"
    assert faq_question("можно оплатить за подругу?", _RITM) is None
    assert faq_question("можно оплатить картой?", _RITM) == "Как можно оплатить?"


# A client who introduces themselves and asks in the same message: the introduction is not the topic.
# (text, the client's name, Ритм's entry, Волна's entry)
INTRODUCED = [
    ("меня зовут Оля, а где вы находитесь?", "Оля", "Где вы находитесь и как добраться?", "Где вы находитесь?"),
    ("Здравствуйте, я Марина! Где вы находитесь?", "Марина", "Где вы находитесь и как добраться?",
     "Где вы находитесь?"),
    ("Это Света, есть ли у вас парковка?", "Света", "Есть ли парковка?", "Есть парковка?"),
    ("меня зовут Ксения. как можно оплатить?", "Ксения", "Как можно оплатить?", "Как оплатить?"),
    ("Добрый вечер, меня Дима зовут, как к вам добраться?", "Дима", "Где вы находитесь и как добраться?",
     "Где вы находитесь?"),
    ("Моё имя Аня, а парковка у вас есть?", "Аня", "Есть ли парковка?", "Есть парковка?"),
    ("Я Катя. Что взять с собой на первое занятие?", "Катя", "Я иду в первый раз. Что взять с собой?",
     "Что взять с собой?"),
]  # fmt: skip


@pytest.mark.parametrize(("studio", "column"), [("ritm", 2), ("volna", 3)])
@pytest.mark.parametrize("case", INTRODUCED, ids=[c[0] for c in INTRODUCED])
def test_a_question_after_an_introduction_finds_its_entry(studio: str, column: int, case: tuple[str, ...]) -> None:
    import datetime as dt

    from dancebot.understanding.rules import understand

    now = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=10)))
    u = understand(case[0], kb=KBS[studio], state_hint=None, now=now)
    assert u.name is not None and u.name.name == case[1]
    assert u.faq is not None and u.faq.question == case[column]


@pytest.mark.parametrize("studio", ["ritm", "volna"])
@pytest.mark.parametrize(
    "text",
    ["меня зовут Оля, а кулер с водой в зале есть?", "я Марина, у вас есть сауна?", "Это Света, а массаж делаете?"],
)
def test_an_introduction_does_not_make_an_unanswered_question_answered(studio: str, text: str) -> None:
    assert match_faq(text, KBS[studio], names=(text.split(",")[0].split()[-1],)) is None
