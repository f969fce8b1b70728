"""The temporal parser against PRODUCT.md §6.3, with the reference now = Wed 2026-12-02 15:00 Vladivostok."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dancebot.understanding.temporal import (
    TimeConstraint,
    describe_datetime,
    format_constraint,
    parse_temporal,
)

VLAD = ZoneInfo("Asia/Vladivostok")
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=VLAD)  # a Wednesday


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


def at(*clock: tuple[int, int]) -> frozenset[time]:
    return frozenset(time(h, m) for h, m in clock)


def parse(text: str, now: datetime = NOW, *, lookahead_days: int = 14, lang: str = "ru") -> TimeConstraint:
    return parse_temporal(text, now, lookahead_days=lookahead_days, lang=lang)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("сегодня", d(12, 2)),
        ("завтра", d(12, 3)),
        ("послезавтра", d(12, 4)),
        ("в пятницу", d(12, 4)),
        ("пт", d(12, 4)),
        ("на пятницу", d(12, 4)),
        ("в следующую пятницу", d(12, 11)),
        ("на следующей неделе в пт", d(12, 11)),
        ("5-го", d(12, 5)),
        ("на 5-е", d(12, 5)),
        ("5 числа", d(12, 5)),
        ("1-го", d(1, 1, 2027)),
        ("12 декабря", d(12, 12)),
        ("12.12", d(12, 12)),
        ("12/12", d(12, 12)),
        ("через неделю", d(12, 9)),
        ("через 2 дня", d(12, 4)),
        ("через пару дней", d(12, 4)),
        ("Завтра!!!", d(12, 3)),
        ("в четверг", d(12, 3)),
        ("во вторник", d(12, 8)),
        ("в эту пятницу", d(12, 4)),
        ("в след. понедельник", d(12, 7)),
        ("30 ноября", d(11, 30, 2027)),
        ("tomorrow", d(12, 3)),
        ("on Friday", d(12, 4)),
        ("next Monday", d(12, 7)),
        ("Dec 12", d(12, 12)),
        ("12th of December", d(12, 12)),
        ("the day after tomorrow", d(12, 4)),
        ("in 2 days", d(12, 4)),
    ],
)
def test_spec_day_phrases(text: str, day: date) -> None:
    c = parse(text)
    assert c.dates == frozenset({day})
    assert c.times is None and c.time_range is None and c.rejected == ()


@pytest.mark.parametrize(
    ("text", "times"),
    [
        ("в 19:00", at((19, 0))),
        ("в 19.00", at((19, 0))),
        ("в 19", at((19, 0))),
        ("в 7 вечера", at((19, 0))),
        ("19ч", at((19, 0))),
        ("к 19", at((19, 0))),
        ("на 19", at((19, 0))),
        ("нет, на 19", at((19, 0))),
        ("19:30", at((19, 30))),
        ("в 8", at((8, 0), (20, 0))),
        ("в 8 утра", at((8, 0))),
        ("в полвосьмого", at((7, 30), (19, 30))),
        ("в пол-восьмого вечера", at((19, 30))),
        ("в 3 дня", at((15, 0))),
        ("в 19-30", at((19, 30))),
        ("в 19 часов", at((19, 0))),
        ("в семь вечера", at((19, 0))),
        ("в 08:00", at((8, 0))),
        ("в 19 или 20", at((19, 0), (20, 0))),
        ("at 7pm", at((19, 0))),
        ("at 19:30", at((19, 30))),
        ("half past 7", at((7, 30), (19, 30))),
        ("в полдень", at((12, 0))),
    ],
)
def test_spec_time_phrases(text: str, times: frozenset[time]) -> None:
    c = parse(text)
    assert c.times == times
    assert c.dates is None and c.rejected == ()


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("утром", (time(6), time(12))),
        ("днём", (time(12), time(17))),
        ("днем", (time(12), time(17))),
        ("вечером", (time(17), time(23))),
        ("после 6 вечера", (time(18), time(23, 59))),
        ("после 18", (time(18), time(23, 59))),
        ("после работы", (time(18), time(23, 59))),
        ("с 10 до 14", (time(10), time(14))),
        ("с 6 до 9", (time(18), time(21))),
        ("с 10 до 23", (time(10), time(23))),  # an end on the 24-hour clock: the start is on it too
        ("с 10:00 до 23:00", (time(10), time(23))),
        ("с 7 до 21", (time(7), time(21))),
        ("с 9:30 до 22", (time(9, 30), time(22))),
        ("до 12", (time(0), time(12))),
        ("in the evening", (time(17), time(23))),
        ("in the morning", (time(6), time(12))),
    ],
)
def test_spec_parts_of_day(text: str, span: tuple[time, time]) -> None:
    c = parse(text)
    assert c.time_range == span
    assert c.times is None and c.dates is None


def test_weekday_said_on_that_weekday_offers_today_then_next_week() -> None:
    c = parse("в среду")
    assert c.dates == frozenset({d(12, 2), d(12, 9)})
    assert c.earliest_only
    today_evening = datetime(2026, 12, 2, 19, 0, tzinfo=VLAD)
    next_week = datetime(2026, 12, 9, 19, 0, tzinfo=VLAD)
    assert c.matches(today_evening) and c.matches(next_week)
    assert c.select([next_week, today_evening]) == [today_evening]
    assert c.select([next_week]) == [next_week]  # today's class already gone: next week's


def test_this_weekday_said_on_that_weekday_is_today_only() -> None:
    assert parse("в эту среду").dates == frozenset({d(12, 2)})


def test_next_week_alone_is_the_whole_next_week() -> None:
    c = parse("на следующей неделе")
    assert c.date_range == (d(12, 7), d(12, 13))
    assert c.dates is None


def test_weekend_is_saturday_and_sunday() -> None:
    assert parse("на выходных").date_range == (d(12, 5), d(12, 6))
    assert parse("next weekend").date_range == (d(12, 12), d(12, 13))


def test_this_week_starts_today() -> None:
    assert parse("на этой неделе").date_range == (d(12, 2), d(12, 6))


def test_recurring_weekdays_with_time() -> None:
    c = parse("пн/ср/пт 19:30")
    assert c.weekdays == frozenset({0, 2, 4})
    assert c.times == at((19, 30))
    assert c.dates is None


def test_plural_weekdays_are_every_such_day() -> None:
    assert parse("по понедельникам и средам").weekdays == frozenset({0, 2})
    assert parse("с пн по пт").weekdays == frozenset(range(5))
    assert parse("по выходным").weekdays == frozenset({5, 6})


def test_every_wednesday_in_december() -> None:
    c = parse("запишите на все среды в декабре")
    assert c.weekdays == frozenset({2})
    assert c.date_range == (d(12, 2), d(12, 31))
    assert c.out_of_window  # December runs past the 14-day look-ahead


def test_weekdays_next_week_become_dates() -> None:
    assert parse("на следующей неделе по пн и ср").dates == frozenset({d(12, 7), d(12, 9)})


def test_several_facts_in_one_message() -> None:
    c = parse("хилс в пт в 19 у насти")
    assert c.dates == frozenset({d(12, 4)})
    assert c.times == at((19, 0))


def test_evening_narrows_an_ambiguous_hour() -> None:
    c = parse("Добрый вечер! Можно завтра вечером в 8?")
    assert c.dates == frozenset({d(12, 3)})
    assert c.times == at((20, 0))
    assert c.time_range is None


def test_english_tomorrow_at_7pm() -> None:
    c = parse("tomorrow at 7pm", lang="en")
    assert c.dates == frozenset({d(12, 3)})
    assert c.times == at((19, 0))


def test_weekday_next_to_its_date_is_a_label() -> None:
    assert parse("пт 11.12").dates == frozenset({d(12, 11)})
    assert parse("в пятницу, 11 декабря в 19:00").dates == frozenset({d(12, 11)})


def test_two_days_named_are_alternatives() -> None:
    assert parse("завтра или в пятницу").dates == frozenset({d(12, 3), d(12, 4)})


def test_day_number_falls_in_the_month_named_elsewhere() -> None:
    assert parse("в январе 10 числа").dates == frozenset({d(1, 10, 2027)})
    assert parse("в феврале 30-го").rejected == ("bad_date",)


def test_date_ranges() -> None:
    assert parse("с 7 по 13 декабря").date_range == (d(12, 7), d(12, 13))
    assert parse("с 28.12 по 03.01").date_range == (d(12, 28), d(1, 3, 2027))
    assert parse("в декабре").date_range == (d(12, 2), d(12, 31))  # never before today


def test_weekday_already_past_this_week_is_rejected() -> None:
    c = parse("на этой неделе в понедельник")
    assert c.rejected == ("past_date",)
    assert c.dates is None and c.date_range is None


def test_class_slot_with_end_time_is_its_start() -> None:
    assert parse("хочу на занятие 19:00-20:00 у насти").times == at((19, 0))


def test_night_and_afternoon_markers() -> None:
    assert parse("в 12 ночи").times == at((0, 0))
    assert parse("в час дня").times == at((13, 0))
    assert parse("в 11 вечера").times == at((23, 0))


def test_greeting_is_not_a_part_of_day_but_the_rest_is_read() -> None:
    assert parse("Добрый вечер, можно утром?").time_range == (time(6), time(12))
    assert parse("на вечер").time_range == (time(17), time(23))


def test_words_around_a_read_phrase_do_not_become_neighbours() -> None:
    c = TimeConstraint(dates=frozenset({d(12, 7)}), weekdays=frozenset({2}))  # a Monday, "по средам"
    assert format_constraint(c, today=NOW.date()) == "пн 7 декабря по средам"
    assert parse(format_constraint(c)) == c  # not "с пн по ср"


def test_full_date_is_never_a_time() -> None:
    c = parse("15.12.2026")
    assert c.dates == frozenset({d(12, 15)})
    assert c.times is None and c.time_range is None


def test_past_date_this_year_means_next_year() -> None:
    assert parse("1 марта").dates == frozenset({d(3, 1, 2027)})
    assert parse("01.12").dates == frozenset({d(12, 1, 2027)})


def test_explicit_past_year_is_rejected() -> None:
    c = parse("15.12.2025")
    assert c.dates is None
    assert c.rejected == ("past_date",)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("25:00", "bad_time"), ("в 19:75", "bad_time"), ("31 февраля", "bad_date"), ("31.02", "bad_date")],
)
def test_impossible_values_are_rejected_by_kind(text: str, reason: str) -> None:
    c = parse(text)
    assert c.rejected == (reason,)
    assert c.is_empty
    assert "25" not in " ".join(c.rejected) and "31" not in " ".join(c.rejected)


@pytest.mark.parametrize(
    "text",
    [
        "3 дня",
        "на 3 дня",
        "89991234567",
        "+7 999 123-45-67",
        "мой номер 8 (914) 700-12-34",
        "700 р",
        "сколько стоит, 700р?",
        "на 3 занятия",
        "нас будет 5 человек",
        "дочке 7 лет",
        "занятие длится 2 часа",
        "абонемент на 8 занятий за 4500",
        "работаете 24/7?",
        "добрый вечер",
        "доброе утро, хочу на хилс",
        "через день",
        "нас четверо",
        "среди недели как-нибудь",
    ],
)
def test_counts_phones_prices_and_greetings_are_not_dates_or_times(text: str) -> None:
    c = parse(text)
    assert c.is_empty
    assert c.rejected == ()


def test_phone_next_to_a_real_time_keeps_the_time() -> None:
    c = parse("запишите на завтра в 19, мой телефон +7 914 123-45-67")
    assert c.dates == frozenset({d(12, 3)})
    assert c.times == at((19, 0))


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("в пятнецу", d(12, 4)),
        ("ПЯТНИЦА", d(12, 4)),
        ("12 декобря", d(12, 12)),
        ("в субботу.", d(12, 5)),
        ("в воскресение", d(12, 6)),
        ("в пятницy", d(12, 4)),  # a Latin "y" typed inside a Cyrillic word
    ],
)
def test_typos_case_and_mixed_script(text: str, day: date) -> None:
    assert parse(text).dates == frozenset({day})


def test_beyond_lookahead_is_returned_and_flagged() -> None:
    c = parse("25 декабря")
    assert c.dates == frozenset({d(12, 25)})
    assert c.out_of_window
    assert not parse("16 декабря").out_of_window  # today + 14 is still inside
    assert parse("через неделю", lookahead_days=5).out_of_window


def test_today_is_taken_in_nows_timezone() -> None:
    instant = datetime(2026, 12, 3, 0, 30, tzinfo=VLAD)  # 14:30 on Dec 2 in UTC
    assert parse("сегодня", instant).dates == frozenset({d(12, 3)})
    assert parse("сегодня", instant.astimezone(UTC)).dates == frozenset({d(12, 2)})


def test_matches_checks_every_part() -> None:
    c = parse("по пн и ср вечером")
    monday_evening = datetime(2026, 12, 7, 19, 0, tzinfo=VLAD)
    assert c.matches(monday_evening)
    assert not c.matches(monday_evening.replace(hour=10))
    assert not c.matches(monday_evening + timedelta(days=1))


def test_select_sorts_and_filters() -> None:
    c = parse("в 8")
    slots = [datetime(2026, 12, 4, h, 0, tzinfo=VLAD) for h in (20, 8, 19)]
    assert c.select(slots) == [slots[1], slots[0]]


def test_empty_message_is_empty() -> None:
    c = parse("хочу на хилс к насте")
    assert c == TimeConstraint()
    assert c.is_empty


@pytest.mark.parametrize(
    ("text", "ru", "en"),
    [
        ("завтра в 19", "чт 3 декабря в 19:00", "Thu 3 December at 19:00"),
        ("пн/ср вечером", "по понедельникам и средам вечером", "on Mondays and Wednesdays in the evening"),
        ("в 8", "в 8:00 утра или 20:00", "at 8:00 am or 20:00"),
        ("в среду", "в среду", "on Wednesday"),
        ("на выходных после 6 вечера", "с 05.12 по 06.12 после 18:00", "from 05.12 to 06.12 after 18:00"),
        ("", "в любое время", "any time"),
    ],
)
def test_format_constraint_reads_naturally(text: str, ru: str, en: str) -> None:
    c = parse(text)
    assert format_constraint(c, "ru", today=NOW.date()) == ru
    assert format_constraint(c, "en", today=NOW.date()) == en
    assert parse(format_constraint(c)) == c


def test_format_without_today_names_the_year() -> None:
    c = parse("1-го")
    assert format_constraint(c) == "пт 1 января 2027"
    assert parse(format_constraint(c)) == c


def test_describe_datetime() -> None:
    dt = datetime(2026, 12, 4, 19, 0, tzinfo=VLAD)
    assert describe_datetime(dt, "ru") == "пт 04.12 в 19:00"
    assert describe_datetime(dt, "en") == "Fri 04.12 at 19:00"
    assert describe_datetime(datetime(2026, 12, 6, 9, 5, tzinfo=VLAD), "ru") == "вс 06.12 в 09:05"
