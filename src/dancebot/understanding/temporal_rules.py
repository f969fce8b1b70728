"""The pattern table of the temporal parser: each rule turns one phrase into one raw fact.

Rules run in table order over the prepared text, and a phrase a rule takes is blanked out, so later,
looser rules never read it again: "15.12.2026" is taken whole as a date before the clock rule could
see "15.12", and "после 18:00" becomes a range before "18:00" could become an exact time. A rule may
also decline a match (a handler returning False leaves the text as it was), which is how counts stay
counts: "на 3 занятия", "5 человек", "3 дня". Phone numbers are blanked before any rule runs.

Facts are kept raw (ranges unclipped, weekdays unresolved); `temporal.py` combines them.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from dancebot.understanding.temporal_lexicon import (
    AFTER_WORK,
    AFTERNOON,
    EVENING,
    HALF_HOURS,
    HOUR_WORDS,
    MONTHS,
    MORNING,
    NUMBER_WORDS,
    UNIT_PATTERN,
    WEEKDAYS,
    WHOLE_MONTHS,
    alternation,
)

__all__ = ["Facts", "WeekdayMention", "calendar_date", "collect_facts", "monday_of"]

DayRange = tuple[date, date]
TimeRange = tuple[time, time]


@dataclass(frozen=True)
class WeekdayMention:
    weekday: int
    recurring: bool = False  # "по средам", "все пятницы", "mondays": every such day
    next_week: bool = False  # "в следующую пятницу", "next Friday"
    this_week: bool = False  # "в эту среду": never next week, even when said on that day


@dataclass
class Facts:
    """Everything the rules found in one message, before it is combined into a constraint."""

    today: date
    dates: set[date] = field(default_factory=set)
    date_ranges: list[DayRange] = field(default_factory=list)
    weekdays: list[WeekdayMention] = field(default_factory=list)
    times: set[time] = field(default_factory=set)
    time_ranges: list[TimeRange] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    earliest: bool = False

    def add_date(self, day: date | None) -> None:
        if day is None:
            self.rejected.append("bad_date")
        elif day < self.today:
            self.rejected.append("past_date")
        else:
            self.dates.add(day)

    def add_times(self, times: frozenset[time] | None) -> None:
        if times is None:
            self.rejected.append("bad_time")
        else:
            self.times |= times


Handler = Callable[[re.Match[str], Facts, str], bool]


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    handle: Handler


# ---- dates ---------------------------------------------------------------------------------------


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year(text: str | None) -> int | None:
    if not text:
        return None
    return 2000 + int(text) if len(text) == 2 else int(text)


def calendar_date(day: int, month: int, year: int | None, today: date) -> date | None:
    """A day and month, in the given year or else the first year in which it is not past."""
    if year is not None:
        return _make_date(year, month, day)
    for y in (today.year, today.year + 1):
        found = _make_date(y, month, day)
        if found is not None and found >= today:
            return found
    return None


def _day_of_month(day: int, today: date) -> date | None:
    """ "5-го": this month, or next month when the day has passed (or this month has no such day)."""
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    for first in (today.replace(day=1), next_month):
        found = _make_date(first.year, first.month, day)
        if found is not None and found >= today:
            return found
    return None


def monday_of(today: date) -> date:
    return today - timedelta(days=today.weekday())


# ---- times ---------------------------------------------------------------------------------------

_MARKER = r"(?:утра|вечера|дня|ночи|a\.?m\.?|p\.?m\.?)(?![\w])"
# Prepositions after which "дня" is the afternoon ("в 3 дня"), not a count of days ("на 3 дня").
_AT_PREPS = frozenset({"в", "во", "к", "около", "после", "до", "at", "by", "around"})


def _marked_hour(hour: int, marker: str) -> int | None:
    """The 24-hour clock hour of "7 вечера", "3 дня", "8 am"; None when the pair makes no sense."""
    marker = marker.replace(".", "")
    if marker in ("утра", "am"):
        return 0 if hour == 12 and marker == "am" else hour if hour <= 11 else None
    if marker == "pm":
        return hour if hour == 12 else hour + 12 if 1 <= hour <= 11 else None
    if marker == "дня":
        return hour if 8 <= hour <= 17 else hour + 12 if 1 <= hour <= 7 else None
    if marker == "вечера":
        return hour + 12 if 1 <= hour <= 11 else hour if 13 <= hour <= 23 else None
    # ночи
    return 0 if hour == 12 else hour if hour <= 5 else hour + 12 if 9 <= hour <= 11 else None


def clock_times(hour: int, minute: int, marker: str | None, padded: bool) -> frozenset[time] | None:
    """Candidate times: "в 8" is 08:00 or 20:00, "в 08:00" and "в 8 утра" are one time; None = bad."""
    if minute > 59:
        return None
    if marker:
        marked = _marked_hour(hour, marker)
        return None if marked is None else frozenset({time(marked, minute)})
    if hour > 23:
        return None
    if 1 <= hour <= 11 and not padded:
        return frozenset({time(hour, minute), time(hour + 12, minute)})
    return frozenset({time(hour, minute)})


def _range_bound(hour: int, minute: int, marker: str | None, padded: bool) -> time | None:
    """One end of "после 6", "до 12": an unmarked 1-9 is an evening hour at a dance studio."""
    if marker or padded or hour == 0 or hour > 9:
        options = clock_times(hour, minute, marker, padded)
        return min(options) if options else None
    return time(hour + 12, minute) if minute <= 59 else None


def _num(m: re.Match[str], name: str, default: int = 0) -> int:
    value = m.group(name)
    return int(value) if value else default


def _padded(m: re.Match[str], name: str) -> bool:
    return len(m.group(name)) == 2 and m.group(name).startswith("0")


_COUNT_AFTER = re.compile(r"\s*" + UNIT_PATTERN)


def _count_follows(text: str, end: int) -> bool:
    """True when the number just read is a count ("на 3 занятия", "до 18 лет")."""
    return bool(_COUNT_AFTER.match(text, end))


# ---- handlers ------------------------------------------------------------------------------------


def _earliest(m: re.Match[str], f: Facts, text: str) -> bool:
    f.earliest = True
    return True


def _date_side(text: str, today: date, inherit: tuple[int, int | None] | None) -> date | None:
    """One side of "с 7 по 13 декабря" / "с 07.12 по 13.12"; a bare day takes the other side's month."""
    parts = re.match(r"(\d{1,2})(?:[./](\d{1,2})(?:[./](\d{2,4}))?|\s+(\S+)(?:\s+(\d{4}))?)?$", text)
    if parts is None:
        return None
    day, num_month, num_year, word_month, word_year = parts.groups()
    if num_month:
        month, year = int(num_month), _year(num_year)
    elif word_month:
        month, year = MONTHS[word_month.rstrip(".")], _year(word_year)
    elif inherit:
        month, year = inherit
    else:
        return None
    if not 1 <= month <= 12:
        return None
    return calendar_date(int(day), month, year, today) if year is None else _make_date(year, month, int(day))


def _date_range(m: re.Match[str], f: Facts, text: str) -> bool:
    end = _date_side(m.group("b"), f.today, None)
    if end is None:
        return False
    start = _date_side(m.group("a"), f.today, (end.month, end.year))
    if start is not None and start > end:
        start = _make_date(start.year - 1, start.month, start.day)
    if start is None:
        f.rejected.append("bad_date")
    else:
        f.date_ranges.append((start, end))
    return True


def _numeric_date(m: re.Match[str], f: Facts, text: str) -> bool:
    f.add_date(_make_date(_year(m.group("y")) or 0, _num(m, "mo"), _num(m, "d")))
    return True


def _word_date(m: re.Match[str], f: Facts, text: str) -> bool:
    month = MONTHS[m.group("mon")]
    f.add_date(calendar_date(_num(m, "d"), month, _year(m.group("y")), f.today))
    return True


def _slash_date(m: re.Match[str], f: Facts, text: str) -> bool:
    day, month = _num(m, "d"), _num(m, "mo")
    if not 1 <= month <= 12 or (day, month) == (24, 7):  # "24/7" is "always", not July 24
        return False
    f.add_date(calendar_date(day, month, None, f.today))
    return True


def _dotted(m: re.Match[str], f: Facts, text: str) -> bool:
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


def _day_number(m: re.Match[str], f: Facts, text: str) -> bool:
    if _count_follows(text, m.end()):
        return False  # "на 3-е занятие"
    f.add_date(_day_of_month(_num(m, "d"), f.today))
    return True


def _relative_day(m: re.Match[str], f: Facts, text: str) -> bool:
    word = m.group(0)
    offset = 2 if "после" in word or "after" in word else 1 if word in ("завтра", "tomorrow") else 0
    f.dates.add(f.today + timedelta(days=offset))
    if word == "tonight":
        f.time_ranges.append(EVENING)
    return True


def _in_days(m: re.Match[str], f: Facts, text: str) -> bool:
    count_text, unit = m.group("n"), m.group("unit")
    if count_text is None and unit.startswith(("д", "day")):
        return False  # "через день" is as likely "every other day" as "in a day"
    count = 1 if count_text is None else NUMBER_WORDS.get(count_text) or int(count_text)
    f.dates.add(f.today + timedelta(days=count * (7 if unit.startswith(("недел", "week")) else 1)))
    return True


def _week(m: re.Match[str], f: Facts, text: str) -> bool:
    monday = monday_of(f.today) + timedelta(days=7 if m.group("next") else 0)
    if m.group("weekend"):
        f.date_ranges.append((monday + timedelta(days=5), monday + timedelta(days=6)))
    else:
        f.date_ranges.append((monday, monday + timedelta(days=6)))
    return True


def _recurring(f: Facts, days: range) -> bool:
    f.weekdays.extend(WeekdayMention(d, recurring=True) for d in days)
    return True


def _workdays(m: re.Match[str], f: Facts, text: str) -> bool:
    return _recurring(f, range(5))


def _weekends(m: re.Match[str], f: Facts, text: str) -> bool:
    return _recurring(f, range(5, 7))


def _weekday_span(m: re.Match[str], f: Facts, text: str) -> bool:
    """ "с пн по пт", "Mon to Fri": every day of the span."""
    first, last = WEEKDAYS[m.group("a")][0], WEEKDAYS[m.group("b")][0]
    return first < last and _recurring(f, range(first, last + 1))


def _whole_month(m: re.Match[str], f: Facts, text: str) -> bool:
    month = WHOLE_MONTHS[m.group("mon")]
    year = f.today.year if month >= f.today.month else f.today.year + 1
    last = calendar.monthrange(year, month)[1]
    f.date_ranges.append((date(year, month, 1), date(year, month, last)))
    return True


def _weekday(m: re.Match[str], f: Facts, text: str) -> bool:
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


def _time_between(m: re.Match[str], f: Facts, text: str) -> bool:
    if _count_follows(text, m.end()):
        return False  # "с 5 до 10 лет"
    end = _range_bound(_num(m, "h2"), _num(m, "m2"), m.group("k2"), _padded(m, "h2"))
    h1, m1, marker = _num(m, "h1"), _num(m, "m1"), m.group("k1")
    if marker or _padded(m, "h1") or h1 == 0 or h1 >= 12:
        starts = clock_times(h1, m1, marker, True)
    else:
        starts = clock_times(h1, m1, None, False)
    earlier = sorted(t for t in starts or () if end is not None and t < end)
    if end is None or not earlier:
        f.rejected.append("bad_time")
    else:
        f.time_ranges.append((earlier[-1], end))
    return True


def _time_bound(m: re.Match[str], f: Facts, text: str) -> bool:
    if _count_follows(text, m.end()):
        return False  # "до 18 лет", "после 2 занятий"
    if m.group("m") and "." in m.group(0) and 1 <= _num(m, "m") <= 12:
        return False  # "до 15.12" is a date
    bound = _range_bound(_num(m, "h"), _num(m, "m"), m.group("mk"), _padded(m, "h"))
    if bound is None or bound == time(0):
        f.rejected.append("bad_time")
    elif m.group("dir") in ("после", "after"):
        f.time_ranges.append((bound, AFTER_WORK[1]))
    else:
        f.time_ranges.append((time(0), bound))
    return True


def _after_work(m: re.Match[str], f: Facts, text: str) -> bool:
    f.time_ranges.append(AFTER_WORK)
    return True


def _clock(m: re.Match[str], f: Facts, text: str) -> bool:
    f.add_times(clock_times(_num(m, "h"), _num(m, "m"), m.group("mk"), _padded(m, "h")))
    return True


def _half_past(m: re.Match[str], f: Facts, text: str) -> bool:
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


def _noon(m: re.Match[str], f: Facts, text: str) -> bool:
    f.times.add(time(0) if m.group(0) in ("полночь", "midnight") else time(12))
    return True


def _hour_with_word(m: re.Match[str], f: Facts, text: str) -> bool:
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


def _hour_after_prep(m: re.Match[str], f: Facts, text: str) -> bool:
    """ "в 19", "к 7", "на 19", "в 19 или 20": bare hours, unless a count follows ("на 3 занятия")."""
    if _count_follows(text, m.end()):
        return False
    hours = re.findall(r"\d+", m.group("hours"))
    if any(int(h) > 23 for h in hours):
        return False  # "в 25" is no clock phrase; nothing to reject
    for h in hours:
        f.add_times(clock_times(int(h), 0, None, len(h) == 2 and h.startswith("0")))
    return True


_PART_OF_DAY = {
    "с утра": MORNING, "утром": MORNING, "утро": MORNING, "по утрам": MORNING, "morning": MORNING,
    "в первой половине дня": MORNING, "днем": AFTERNOON, "в обед": AFTERNOON, "afternoon": AFTERNOON,
    "вечером": EVENING, "вечерком": EVENING, "вечер": EVENING, "по вечерам": EVENING, "evening": EVENING,
    "во второй половине дня": (AFTERNOON[0], EVENING[1]),
}  # fmt: skip
_GREETING_BEFORE = re.compile(r"\b(?:добр\w*|good|с)\s+$")


def _part_of_day(m: re.Match[str], f: Facts, text: str) -> bool:
    if _GREETING_BEFORE.search(text, 0, m.start()) and not m.group(0).startswith(("с ", "по ", "в", "во")):
        return False  # "добрый вечер", "good morning", "с днем рождения" are not times
    f.time_ranges.append(_PART_OF_DAY[re.sub(r"\s+", " ", m.group(0))])
    return True


# ---- the table -----------------------------------------------------------------------------------

_MON = alternation(MONTHS)
_NOT_AFTER_NUM = r"(?<![\w.:/])"
_NOT_BEFORE_NUM = r"(?!\d|[.:/,]\d)"
_HM = r"(?P<{h}>\d{{1,2}})(?:[:.](?P<{m}>\d{{2}}))?(?:\s*(?:ч|часов|часа)\b\.?)?(?:\s*(?P<{k}>" + _MARKER + "))?"
_DAY_SIDE = r"\d{1,2}(?:[./]\d{1,2}(?:[./](?:\d{4}|\d{2}))?|\s+" + _MON + r"\.?(?:\s+\d{4})?)"
_AT = r"(?:в|во|к|на|около|at|by|around)"
_SINCE = r"(?:с|c|from)"


def _rule(name: str, pattern: str, handle: Handler) -> Rule:
    return Rule(name, re.compile(pattern), handle)


RULES: tuple[Rule, ...] = (
    _rule("earliest", r"что\s+ближе|whichever\s+(?:is\s+)?(?:sooner|earlier|first|comes\s+first)", _earliest),
    _rule(
        "date_range",
        rf"\b{_SINCE}\s+(?P<a>{_DAY_SIDE}?)\s*(?:по|-|to|till|until)\s*(?P<b>{_DAY_SIDE})\b\.?",
        _date_range,
    ),
    _rule(
        "numeric_date",
        rf"{_NOT_AFTER_NUM}(?P<d>\d{{1,2}})[./](?P<mo>\d{{1,2}})[./](?P<y>\d{{4}}|\d{{2}}){_NOT_BEFORE_NUM}",
        _numeric_date,
    ),
    _rule(
        "word_date",
        rf"{_NOT_AFTER_NUM}(?P<d>\d{{1,2}})(?:\s*-?\s*(?:го|ое|ого|е)|st|nd|rd|th)?\s+(?:of\s+)?"
        rf"(?P<mon>{_MON})\b\.?(?:,?\s+(?P<y>\d{{4}})(?:\s*(?:года|год|г)\b\.?)?)?",
        _word_date,
    ),
    _rule(
        "word_date_en",
        rf"\b(?P<mon>{_MON})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?",
        _word_date,
    ),
    _rule(
        "time_between",
        rf"\b(?:{_SINCE}|between)\s+" + _HM.format(h="h1", m="m1", k="k1")
        + r"\s*(?:до|-|to|till|until|and)\s*" + _HM.format(h="h2", m="m2", k="k2") + _NOT_BEFORE_NUM,
        _time_between,
    ),
    _rule(
        "time_bound",
        r"\b(?P<dir>после|after|до|before)\s+" + _HM.format(h="h", m="m", k="mk") + _NOT_BEFORE_NUM,
        _time_bound,
    ),
    _rule("after_work", r"\b(?:после\s+(?:работы|учебы|пар)|after\s+work)\b", _after_work),
    _rule(
        "clock",
        rf"{_NOT_AFTER_NUM}(?P<h>\d{{1,2}}):(?P<m>\d{{2}})(?![\d:])(?:\s*(?P<mk>{_MARKER}))?",
        _clock,
    ),
    _rule("clock_dash", r"\b(?:в|во|к|at)\s+(?P<h>\d{1,2})-(?P<m>\d{2})(?P<mk>)\b", _clock),
    _rule(
        "dotted",
        rf"{_NOT_AFTER_NUM}(?:\b(?P<prep>в|во|к|на|at|by)\s+)?(?P<a>\d{{1,2}})\.(?P<b>\d{{1,2}})"
        rf"{_NOT_BEFORE_NUM}(?:\s*(?P<mk>{_MARKER}))?",
        _dotted,
    ),
    _rule("slash_date", rf"{_NOT_AFTER_NUM}(?P<d>\d{{1,2}})/(?P<mo>\d{{1,2}}){_NOT_BEFORE_NUM}", _slash_date),
    _rule(
        "day_number",
        rf"{_NOT_AFTER_NUM}(?P<d>\d{{1,2}})(?:\s*-?\s*(?:го|ое|ого|е)\b|\s+числа\b|(?:st|nd|rd|th)\b)",
        _day_number,
    ),
    _rule(
        "half_past",
        rf"\bпол\s*-?\s*(?P<half>{alternation(HALF_HOURS)})\b(?:\s*(?P<mk>{_MARKER}))?",
        _half_past,
    ),
    _rule(
        "half_past_en",
        rf"\bhalf\s+past\s+(?P<half>\d{{1,2}}|{alternation(HOUR_WORDS)})\b(?:\s*(?P<mk>{_MARKER}))?",
        _half_past,
    ),
    _rule("noon", r"\b(?:полдень|полночь|noon|midday|midnight)\b", _noon),
    _rule(
        "hour_with_word",
        rf"(?:\b(?P<prep>{_AT})\s+)?{_NOT_AFTER_NUM}(?P<h>\d{{1,2}}|{alternation(HOUR_WORDS)})"
        rf"(?:\s*(?P<u>ч\b\.?|часов|часа|час|h\b|o'?clock))?(?:\s*(?P<mk>{_MARKER}))?",
        _hour_with_word,
    ),
    _rule(
        "hour_after_prep",
        rf"\b{_AT}\s+(?P<hours>\d{{1,2}}(?:\s*(?:,|или|or|/)\s*(?:(?:в|во|at)\s+)?\d{{1,2}})*)"
        + _NOT_BEFORE_NUM + r"(?!\w)",
        _hour_after_prep,
    ),
    _rule("relative_day", r"\b(?:послезавтра|завтра|сегодня|day\s+after\s+tomorrow|tomorrow|today|tonight)\b",
          _relative_day),
    _rule(
        "in_days",
        rf"\b(?:через|in)\s+(?:(?:a\s+)?(?P<n>\d{{1,2}}|{alternation(NUMBER_WORDS)})\s+)?(?:of\s+)?"
        r"(?P<unit>дня|дней|день|неделю|недели|недель|days?|weeks?)\b",
        _in_days,
    ),
    _rule(
        "week",
        r"\b(?:на|в|во)\s+(?:(?P<next>след\w*\.?)|эт\w*)?\s*(?:(?P<weekend>выходных|выходные)|неделе)\b",
        _week,
    ),
    _rule(
        "week_en",
        r"\b(?:(?P<next>next)|this|on\s+the|at\s+the|over\s+the)\s+(?:(?P<weekend>weekend)|week)\b",
        _week,
    ),
    _rule("workdays", r"\b(?:по\s+будням|в\s+будни|on\s+weekdays|weekdays)\b", _workdays),
    _rule("weekends", r"\b(?:по\s+выходным|on\s+weekends|weekends)\b", _weekends),
    _rule("whole_month", rf"\b(?:в|во|на|in)\s+(?P<mon>{alternation(WHOLE_MONTHS)})\b", _whole_month),
    _rule(
        "weekday_span",
        rf"\b(?:{_SINCE}\s+)?(?P<a>{alternation(WEEKDAYS)})\s*(?:по|-|to|till|through)\s*"
        rf"(?P<b>{alternation(WEEKDAYS)})\b\.?",
        _weekday_span,
    ),
    _rule(
        "weekday",
        r"(?:\b(?P<mod>след\w*\.?|эт(?:у|от|ой|а)|по|все|кажд\w*|next|this|every)\s+)?"
        rf"\b(?P<wd>{alternation(WEEKDAYS)})\b\.?",
        _weekday,
    ),
    _rule("part_of_day", r"\b(?:" + "|".join(p.replace(" ", r"\s+") for p in _PART_OF_DAY) + r")\b",
          _part_of_day),
)  # fmt: skip
_PHONE = re.compile(r"\+?\d(?:[\s\-()]{0,3}\d){6,}")


def collect_facts(text: str, today: date) -> Facts:
    """Run the rule table over prepared text (see `temporal_lexicon.prepare`)."""
    facts = Facts(today=today)
    working = _PHONE.sub(lambda m: " " * len(m.group(0)), text)
    for rule in RULES:
        chars = list(working)
        for match in rule.pattern.finditer(working):
            if rule.handle(match, facts, working):
                chars[match.start() : match.end()] = " " * (match.end() - match.start())
        working = "".join(chars)
    return facts
