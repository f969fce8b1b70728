"""Showing the schedule (PRODUCT.md §5.2): filtered by teacher, branch, day; nearest first; at most 5 lines
within 300 characters; concrete options instead of "когда удобно?"; picking one continues to booking."""

from __future__ import annotations

import re

import pytest

from tests.conversations.harness import GOGOLYA, Booked, Client, assert_summary, text_of

pytestmark = pytest.mark.e2e

_LINE = re.compile(r"^(Пн|Вт|Ср|Чт|Пт|Сб|Вс) (\d\d\.\d\d) (\d\d:\d\d) (.+) — (\S+), (\S+)$", re.M)


def class_lines(reply: str) -> list[tuple[str, ...]]:
    """`Ср 02.12 19:00 High Heels — Настя, Центр` → (weekday, date, time, style, teacher, branch)."""
    lines = [m.groups() for m in _LINE.finditer(reply)]
    assert 1 <= len(lines) <= 5, reply
    starts = [(d[3:], d[:2], t) for _, d, t, *_ in lines]
    assert starts == sorted(starts), f"not nearest first: {reply!r}"
    return lines


async def test_schedule_by_teacher(client: Client) -> None:
    c = client
    lines = class_lines(text_of(await c.say("покажите расписание у Насти")))
    assert {teacher for *_, teacher, _ in lines} == {"Настя"}
    assert {style for *_, style, _, _ in lines} <= {"High Heels", "Стретчинг"}
    assert lines[0][:3] == ("Ср", "02.12", "19:00")  # today's 19:00 is still ahead
    assert c.reservations() == []


async def test_schedule_by_branch(client: Client) -> None:
    c = client
    lines = class_lines(text_of(await c.say("что у вас есть на Гоголя?")))
    assert {branch for *_, branch in lines} == {"Гоголя"}
    assert lines[0][:4] == ("Ср", "02.12", "20:15", "Сальса")
    assert c.reservations() == []


async def test_schedule_by_day_then_pick_one_and_book(client: Client) -> None:
    c = client
    lines = class_lines(text_of(await c.say("какое расписание в субботу?")))
    assert {day for _, day, *_ in lines} == {"05.12"}
    assert ("18:00", "Сальса") not in {(t, s) for _, _, t, s, _, _ in lines}  # the closed group
    await c.tap_label("11:00")
    summary = text_of(await c.say(f"меня зовут Лиза, {c.phone}"))
    assert_summary(summary, name="Лиза", phone=c.e164, klass="Hip-Hop", day="05.12", time="11:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(324, "2026-12-05", "11:00")]


async def test_schedule_by_style_and_branch_and_time_of_day(client: Client) -> None:
    c = client
    lines = class_lines(text_of(await c.say("есть стретчинг на гоголя утром?")))
    assert all(style == "Стретчинг" and branch == "Гоголя" and time < "12:00" for _, _, time, style, _, branch in lines)
    assert c.reservations() == []


async def test_when_can_i_come_gets_concrete_options(client: Client) -> None:
    c = client
    reply = text_of(await c.say("когда можно прийти на контемп?"))
    assert "удобно" not in reply  # not "когда вам удобно?"
    lines = class_lines(reply)
    assert {style for *_, style, _, _ in lines} == {"Contemporary"}
    assert lines[0][:3] == ("Пт", "04.12", "19:30")
    assert len(c.last_buttons) <= 3 and c.last_buttons
    await c.tap_label("Пт 04.12")
    await c.say(f"Полина {c.phone}")
    await c.say("да")
    assert c.reservations() == [Booked(309, "2026-12-04", "19:30")]


async def test_empty_filter_says_so_and_shows_the_nearest(client: Client) -> None:
    c = client
    reply = text_of(await c.say("а хип-хоп в воскресенье есть?"))
    assert "нет" in reply.lower()
    lines = class_lines(reply)
    assert {style for *_, style, _, _ in lines} == {"Hip-Hop"}
    assert c.reservations() == []
