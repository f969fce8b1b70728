"""What each temporal rule does with its match: one raw fact into `Facts`, or a refusal.

A handler returns False to leave its match unread ("на 3 занятия" is a count, not "в 3"), True once
it has recorded a fact or a rejection. The table that decides which pattern calls which handler, and
in what order, is `temporal_rules.py`.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, time, timedelta

from dancebot.understanding.temporal_facts import (
    Facts,
    WeekdayMention,
    calendar_date,
    clock_times,
    full_year,
    make_date,
    monday_of,
    range_bound,
)
from dancebot.understanding.temporal_lexicon import (
    AFTER_WORK,
    AFTERNOON,
    EVENING,
    HALF_HOURS,
    HOUR_GENITIVE,
    HOUR_WORDS,
    MONTHS,
    MORNING,
    NUMBER_WORDS,
    UNIT_PATTERN,
    WEEKDAYS,
    WHOLE_MONTHS,
)

__all__ = [
    "PART_OF_DAY",
    "after_work",
    "by_hour_word",
    "clock",
    "date_range",
    "day_number",
    "dotted",
    "earliest",
    "half_past",
    "hour_after_prep",
    "hour_with_word",
    "in_days",
    "noon",
    "numeric_date",
    "part_of_day",
    "relative_day",
    "slash_date",
    "time_between",
    "time_bound",
    "week",
    "weekday",
    "weekday_span",
    "weekends",
    "whole_month",
    "word_date",
    "workdays",
]

# Prepositions after which "дня" is the afternoon ("в 3 дня"), not a count of days ("на 3 дня").
_AT_PREPS = frozenset({"в", "во", "к", "около", "после", "до", "at", "by", "around"})


def _num(m: re.Match[str], name: str, default: int = 0) -> int:
    value = m.group(name)
    return int(value) if value else default


def _padded(m: re.Match[str], name: str) -> bool:
    return len(m.group(name)) == 2 and m.group(name).startswith("0")


_COUNT_AFTER = re.compile(r"\s*" + UNIT_PATTERN)


def _count_follows(text: str, end: int) -> bool:
    """True when the number just read is a count ("на 3 занятия", "до 18 лет")."""
    return bool(_COUNT_AFTER.match(text, end))


def earliest(m: re.Match[str], f: Facts, text: str) -> bool:
    f.earliest = True
    return True


def _date_side(text: str, today: date, inherit: tuple[int, int | None] | None) -> date | None:
    """One side of "с 7 по 13 декабря" / "с 07.12 по 13.12"; a bare day takes the other side's month."""
    parts = re.match(r"(\d{1,2})(?:[./](\d{1,2})(?:[./](\d{2,4}))?|\s+(\S+)(?:\s+(\d{4}))?)?$", text)
    if parts is None:
        return None
    day, num_month, num_year, word_month, word_year = parts.groups()
    if num_month:
        month, year = int(num_month), full_year(num_year)
    elif word_month:
        month, year = MONTHS[word_month.rstrip(".")], full_year(word_year)
    elif inherit:
        month, year = inherit
    else:
        return None
    if not 1 <= month <= 12:
        return None
    return calendar_date(int(day), month, year, today) if year is None else make_date(year, month, int(day))


def date_range(m: re.Match[str], f: Facts, text: str) -> bool:
    end = _date_side(m.group("b"), f.today, None)
    if end is None:
        return False
    start = _date_side(m.group("a"), f.today, (end.month, end.year))
    if start is not None and start > end and not re.search(r"\d[./]\d+[./]|\s\d{4}", m.group("a")):
        start = make_date(start.year - 1, start.month, start.day)  # "с 28.12 по 03.01" spans New Year
    if start is None or start > end:
        f.rejected.append("bad_date")
    else:
        f.date_ranges.append((start, end))
    return True


def numeric_date(m: re.Match[str], f: Facts, text: str) -> bool:
    f.add_date(make_date(full_year(m.group("y")) or 0, _num(m, "mo"), _num(m, "d")))
    return True


def word_date(m: re.Match[str], f: Facts, text: str) -> bool:
    month = MONTHS[m.group("mon")]
    f.add_date(calendar_date(_num(m, "d"), month, full_year(m.group("y")), f.today))
    return True


def slash_date(m: re.Match[str], f: Facts, text: str) -> bool:
    day, month = _num(m, "d"), _num(m, "mo")
    if not 1 <= month <= 12 or (day, month) == (24, 7):  # "24/7" is "always", not July 24
        return False
    f.add_date(calendar_date(day, month, None, f.today))
    return True


def dotted(m: re.Match[str], f: Facts, text: str) -> bool:
    """ "12.12" is a date, "19.00" and "в 12.30" are times: the month decides, then the preposition."""
    a, b, marker = _num(m, "a"), m.group("b"), m.group("mk")
    as_time = len(b) == 2 and int(b) <= 59
    if _count_follows(text, m.end()) or re.match(r"\s*час", text[m.end() :]):
        return False  # "1.5 часа", "2.5 тыс"
    if as_time and (marker or m.group("prep") in ("в", "во", "к", "at", "by")):
        f.add_times(clock_times(a, int(b), marker, _padded(m, "a")))
    elif 1 <= int(b) <= 12:
        f.add_date(calendar_date(a, int(b), None, f.today))
    elif as_time:
        f.add_times(clock_times(a, int(b), None, _padded(m, "a")))
    else:
        return False
    return True


def day_number(m: re.Match[str], f: Facts, text: str) -> bool:
    if _count_follows(text, m.end()):
        return False  # "на 3-е занятие"
    f.month_days.append(_num(m, "d"))
    return True


def relative_day(m: re.Match[str], f: Facts, text: str) -> bool:
    word = m.group(0)
    offset = 2 if "после" in word or "after" in word else 1 if word in ("завтра", "tomorrow") else 0
    f.dates.add(f.today + timedelta(days=offset))
    if word == "tonight":
        f.time_ranges.append(EVENING)
    return True


def in_days(m: re.Match[str], f: Facts, text: str) -> bool:
    count_text, unit = m.group("n"), m.group("unit")
    if count_text is None and unit.startswith(("д", "day")):
        return False  # "через день" is as likely "every other day" as "in a day"
    count = 1 if count_text is None else NUMBER_WORDS.get(count_text) or int(count_text)
    f.dates.add(f.today + timedelta(days=count * (7 if unit.startswith(("недел", "week")) else 1)))
    return True


def week(m: re.Match[str], f: Facts, text: str) -> bool:
    monday = monday_of(f.today) + timedelta(days=7 if m.group("next") else 0)
    if m.group("weekend"):
        f.date_ranges.append((monday + timedelta(days=5), monday + timedelta(days=6)))
    else:
        f.date_ranges.append((monday, monday + timedelta(days=6)))
    return True


def _recurring(f: Facts, days: range) -> bool:
    f.weekdays.extend(WeekdayMention(d, recurring=True) for d in days)
    return True


def workdays(m: re.Match[str], f: Facts, text: str) -> bool:
    return _recurring(f, range(5))


def weekends(m: re.Match[str], f: Facts, text: str) -> bool:
    return _recurring(f, range(5, 7))


def weekday_span(m: re.Match[str], f: Facts, text: str) -> bool:
    """ "с пн по пт", "Mon to Fri": every day of the span."""
    first, last = WEEKDAYS[m.group("a")][0], WEEKDAYS[m.group("b")][0]
    return first < last and _recurring(f, range(first, last + 1))


def whole_month(m: re.Match[str], f: Facts, text: str) -> bool:
    month = WHOLE_MONTHS[m.group("mon")]
    year = f.today.year if month >= f.today.month else f.today.year + 1
    last = calendar.monthrange(year, month)[1]
    f.date_ranges.append((date(year, month, 1), date(year, month, last)))
    return True


def weekday(m: re.Match[str], f: Facts, text: str) -> bool:
    weekday, plural = WEEKDAYS[m.group("wd")]
    mod = m.group("mod") or ""
    f.weekdays.append(
        WeekdayMention(
            weekday,
            recurring=plural or mod in ("по", "все", "every") or mod.startswith("кажд"),
            next_week=mod.startswith(("след", "next")),
            this_week=mod.startswith(("эт", "this")),
        )
    )
    return True


def _no_clock(m: re.Match[str], *hours: str) -> bool:
    """A bare number past 23 after "до"/"после" is no hour at all ("до 26" is the 26th): leave it."""
    return ":" not in m.group(0) and any(_num(m, h) > 23 for h in hours)


def time_between(m: re.Match[str], f: Facts, text: str) -> bool:
    if _count_follows(text, m.end()) or _no_clock(m, "h1", "h2"):
        return False  # "с 5 до 10 лет"
    end = range_bound(_num(m, "h2"), _num(m, "m2"), m.group("k2"), _padded(m, "h2"))
    h1, m1, marker = _num(m, "h1"), _num(m, "m1"), m.group("k1")
    if marker or _padded(m, "h1") or h1 == 0 or h1 >= 12:
        starts = clock_times(h1, m1, marker, True)
    else:
        starts = clock_times(h1, m1, None, False)
    earlier = sorted(t for t in starts or () if end is not None and t < end)
    if len(earlier) > 1 and (_num(m, "h2") >= 13 or _padded(m, "h2")):
        # "с 10 до 23", "с 10:00 до 23:00": an end written on the 24-hour clock, so the start is too
        earlier = [t for t in earlier if t.hour == h1] or earlier
    if end is None or not earlier:
        f.rejected.append("bad_time")
    else:
        f.time_ranges.append((earlier[-1], end))
    return True


def time_bound(m: re.Match[str], f: Facts, text: str) -> bool:
    if _count_follows(text, m.end()) or _no_clock(m, "h"):
        return False  # "до 18 лет", "после 2 занятий"
    if m.group("m") and "." in m.group(0) and 1 <= _num(m, "m") <= 12:
        return False  # "до 15.12" is a date
    bound = range_bound(_num(m, "h"), _num(m, "m"), m.group("mk"), _padded(m, "h"))
    after = m.group("dir") in ("после", "after")
    span = None if bound is None else (bound, AFTER_WORK[1]) if after else (time(0), bound)
    if span is None or span[0] >= span[1]:
        f.rejected.append("bad_time")  # also "после 23:59", "до 00:00": nothing left of the day
    else:
        f.time_ranges.append(span)
    return True


def after_work(m: re.Match[str], f: Facts, text: str) -> bool:
    f.time_ranges.append(AFTER_WORK)
    return True


def clock(m: re.Match[str], f: Facts, text: str) -> bool:
    f.add_times(clock_times(_num(m, "h"), _num(m, "m"), m.group("mk"), _padded(m, "h")))
    return True


def half_past(m: re.Match[str], f: Facts, text: str) -> bool:
    """ "полвосьмого" (7:30 or 19:30), "half past 7", "полвосьмого вечера" (19:30)."""
    word = m.group("half")
    hour = HALF_HOURS[word] if word in HALF_HOURS else (HOUR_WORDS.get(word) or int(word))
    marker = m.group("mk")
    if marker:  # "полпервого дня" is 12:30: the marked hour counts from 12, not 0
        f.add_times(clock_times(hour or 12, 30, marker, False))
    else:
        f.add_times(clock_times(hour % 12, 30, None, hour % 12 == 0))
        if hour % 12 == 0:
            f.times.add(time(12, 30))
    return True


def noon(m: re.Match[str], f: Facts, text: str) -> bool:
    f.times.add(time(0) if m.group(0) in ("полночь", "midnight") else time(12))
    return True


def by_hour_word(m: re.Match[str], f: Facts, text: str) -> bool:
    """ "к семи" (07:00 or 19:00), "к восьми вечера" (20:00): the hour a class should start by."""
    hour, marker = HOUR_GENITIVE[m.group("h")], m.group("mk")
    times = clock_times(hour, 0, marker, False)
    if times is None:
        return False
    f.add_times(times)
    return True


def hour_with_word(m: re.Match[str], f: Facts, text: str) -> bool:
    """ "в 7 вечера", "19ч", "7pm", "в семь часов": a number made an hour by the word after it."""
    raw, unit, marker, prep = m.group("h"), m.group("u"), m.group("mk"), m.group("prep")
    hour = HOUR_WORDS[raw] if raw in HOUR_WORDS else int(raw)
    if not (unit or marker):
        return False  # a bare number: "hour_after_prep" decides
    if marker == "дня" and prep not in _AT_PREPS and not unit:
        return False  # "3 дня", "на 3 дня" are durations
    if not (marker or prep) and (hour < 13 or raw in HOUR_WORDS):
        return False  # "2 часа" is a duration; "19ч" and "19 часов" are times
    f.add_times(clock_times(hour, 0, marker, raw.startswith("0")))
    return True


def hour_after_prep(m: re.Match[str], f: Facts, text: str) -> bool:
    """ "в 19", "к 7", "на 19", "в 19 или 20": bare hours, unless a count follows ("на 3 занятия")."""
    if _count_follows(text, m.end()):
        return False
    hours = re.findall(r"\d+", m.group("hours"))
    if any(int(h) > 23 for h in hours):
        return False  # "в 25" is no clock phrase; nothing to reject
    for h in hours:
        f.add_times(clock_times(int(h), 0, None, len(h) == 2 and h.startswith("0")))
    return True


PART_OF_DAY = {
    "с утра": MORNING, "утром": MORNING, "утро": MORNING, "по утрам": MORNING, "morning": MORNING,
    "в первой половине дня": MORNING, "днем": AFTERNOON, "в обед": AFTERNOON, "afternoon": AFTERNOON,
    "вечером": EVENING, "вечерком": EVENING, "вечер": EVENING, "по вечерам": EVENING, "evening": EVENING,
    "во второй половине дня": (AFTERNOON[0], EVENING[1]),
}  # fmt: skip
# Greetings and wishes that contain a part of the day: "добрый вечер", "good morning", "с днем рождения".
_GREETING_BEFORE = re.compile(r"\b(?:добр\w*|good|с)\s+$")
_GREETING_WORDS = frozenset({"утро", "вечер", "днем", "morning", "evening", "afternoon"})


def part_of_day(m: re.Match[str], f: Facts, text: str) -> bool:
    if m.group(0) in _GREETING_WORDS and _GREETING_BEFORE.search(text, 0, m.start()):
        return False
    f.time_ranges.append(PART_OF_DAY[re.sub(r"\s+", " ", m.group(0))])
    return True
