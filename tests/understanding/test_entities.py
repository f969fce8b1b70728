"""Styles, teachers and branches resolve to KB ids however clients spell them; nothing is invented."""

from __future__ import annotations

import pytest

from dancebot.kb import KnowledgeBase
from dancebot.understanding.entities import (
    nearest_styles,
    resolve_branches,
    resolve_styles,
    resolve_teachers,
    unknown_style_mention,
)


def style_ids(text: str, kb: KnowledgeBase) -> list[str]:
    return [m.id for m in resolve_styles(text, kb)]


@pytest.mark.parametrize(
    ("text", "style"),
    [
        ("хочу на сальсу", "salsa"),
        ("давно занимаюсь сальсой", "salsa"),
        ("хилсы есть в пятницу?", "high_heels"),
        ("хочу на хай хилс", "high_heels"),
        ("танцы на каблуках", "high_heels"),
        ("High Heels", "high_heels"),
        ("хип хопом хочу заниматься", "hip_hop"),
        ("хипхоп", "hip_hop"),
        ("I'd like to book hip hop on Friday", "hip_hop"),
        ("Hip-Hop для начинающих", "hip_hop"),
        ("контемпорари", "contemporary"),
        ("современный танец", "contemporary"),
        ("растяжка", "stretching"),
        ("хочу сесть на шпагат", "stretching"),
        ("есть что-то для детей?", "kids"),
        ("детские танцы", "kids"),
        ("латина", "salsa"),
        ("хочу на хилc", "high_heels"),  # a Latin "c" at the end
    ],
)
def test_aliases_and_their_inflections(text: str, style: str, kb: KnowledgeBase) -> None:
    assert style_ids(text, kb) == [style]


@pytest.mark.parametrize(
    ("text", "style"),
    [("хилз в пятницу", "high_heels"), ("стрейчинг", "stretching"), ("стречинг", "stretching"),
     ("контемпорали", "contemporary"), ("хипхап", "hip_hop"), ("сальза", "salsa")],
)  # fmt: skip
def test_typos_resolve_with_a_lower_score(text: str, style: str, kb: KnowledgeBase) -> None:
    (match,) = resolve_styles(text, kb)
    assert match.id == style
    assert 0.7 <= match.score < 0.9


def test_two_styles_are_both_reported_in_message_order_when_equally_certain(kb: KnowledgeBase) -> None:
    assert style_ids("хочу на сальсу и на растяжку", kb) == ["salsa", "stretching"]


@pytest.mark.parametrize("text", ["буду дома", "хочу на пробное", "привет", "настроение танцевать", "бачата"])
def test_ordinary_words_and_foreign_styles_resolve_to_no_kb_style(text: str, kb: KnowledgeBase) -> None:
    assert resolve_styles(text, kb) == []


@pytest.mark.parametrize(
    ("text", "teacher"),
    [
        ("к Насте", "anastasia"),
        ("хочу к Настеньке на растяжку", "anastasia"),
        ("у Анастасии Ковалёвой", "anastasia"),
        ("к Ковалевой", "anastasia"),
        ("у Димы в группе", "dmitry"),
        ("к Димону", "dmitry"),
        ("кто ведет, Дмитрий Ли?", "dmitry"),
        ("с Катюшей", "ekaterina"),
        ("к Кате на контемп", "ekaterina"),
        ("Игорёк сегодня ведёт?", "igor"),
        ("к Игорю на сальсу", "igor"),
        ("к Оле", "olga"),
        ("Анастосия ведёт хилс?", "anastasia"),
    ],
)
def test_teachers_by_diminutive_surname_and_case(text: str, teacher: str, kb: KnowledgeBase) -> None:
    assert [m.id for m in resolve_teachers(text, kb)] == [teacher]


@pytest.mark.parametrize("text", ["настроение отличное", "буду дома", "есть ли места", "поди разберись", "Ли"])
def test_words_that_contain_or_resemble_a_teacher_name_are_not_teachers(text: str, kb: KnowledgeBase) -> None:
    assert resolve_teachers(text, kb) == []


@pytest.mark.parametrize(
    ("text", "branch"),
    [("на Светланской", "center"), ("на гоголя", "gogolya"), ("в центре", "center"),
     ("ул. Гоголя 41", "gogolya"), ("в центре города удобнее", "center"), ("Светланская", "center")],
)  # fmt: skip
def test_branches(text: str, branch: str, kb: KnowledgeBase) -> None:
    assert [m.id for m in resolve_branches(text, kb)] == [branch]


def test_a_shopping_centre_is_not_the_centre_branch(kb: KnowledgeBase) -> None:
    assert resolve_branches("встретимся в торговом центре", kb) == []


@pytest.mark.parametrize(
    ("text", "style"),
    [("есть бачата?", "бачата"), ("хочу на бачату", "бачата"), ("а зумба у вас есть?", "зумба"),
     ("есть ли у вас кизомба", "кизомба"), ("хочу на джаз-фанк", "джаз-фанк"), ("do you have twerk?", "тверк"),
     ("есть ли танго", "танго"), ("хочу на лимбоданс", "лимбоданс"),
     ("есть ли у вас занятия по лимбодансу?", "лимбоданс")],
)  # fmt: skip
def test_a_style_the_studio_lacks_is_detected_not_invented(text: str, style: str, kb: KnowledgeBase) -> None:
    assert unknown_style_mention(text, kb) == style
    assert resolve_styles(text, kb) == []


@pytest.mark.parametrize(
    "text",
    ["хочу на сальсу", "есть парковка?", "хочу на пробное", "есть ли места на хилс", "хочу на светланскую",
     "есть вайфай?", "хочу на хилз"],
)  # fmt: skip
def test_known_styles_and_other_questions_are_not_unknown_styles(text: str, kb: KnowledgeBase) -> None:
    assert unknown_style_mention(text, kb) is None


@pytest.mark.parametrize(
    ("raw", "first"),
    [("бачата", "salsa"), ("кизомба", "salsa"), ("тверк", "hip_hop"), ("йога", "stretching"), ("вог", "high_heels")],
)
def test_nearest_styles_put_the_closest_direction_first(raw: str, first: str, kb: KnowledgeBase) -> None:
    nearest = nearest_styles(raw, kb)
    assert nearest[0] == first
    assert len(nearest) == 4 and len(set(nearest)) == 4
    assert set(nearest) <= {s.id for s in kb.services}


def test_nearest_styles_respect_k(kb: KnowledgeBase) -> None:
    assert len(nearest_styles("лимбоданс", kb, k=2)) == 2
