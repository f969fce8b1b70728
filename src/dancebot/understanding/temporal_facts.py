"""Raw facts a message states about days and times, and the calendar and clock arithmetic behind them.

The temporal rules (`temporal_rules.py`) fill a `Facts` per message; `temporal.py` combines them into
one constraint. Dates are never invented: an impossible day ("31 февраля") or a past one with an
explicit year is recorded as a rejection instead.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, time, timedelta

__all__ = [
    "MARKER",
    "DayRange",
    "Facts",
    "TimeRange",
    "WeekdayMention",
    "calendar_date",
    "clock_times",
    "day_of_month",
    "full_year",
    "make_date",
    "monday_of",
    "range_bound",
]

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
    month_days: list[int] = field(default_factory=list)  # "5-го", "10 числа": month not yet known

    def add_date(self, day: date | None) -> None:
        if day is None:
            self.rejected.append("bad_date")
        elif day < self.today:
            self.rejected.append("past_date")
        else:
            self.dates.add(day)

    def resolve_month_days(self) -> None:
        """Days named without a month fall in the one month the message names ("в январе 10 числа"),
        else in this month, or the next once this month's has passed."""
        months = [(a.year, a.month) for a, b in self.date_ranges if a.day == 1 and b == _month_end(a)]
        for day in self.month_days:
            if len(months) == 1:
                self.add_date(make_date(*months[0], day))
            else:
                self.add_date(day_of_month(day, self.today))
        self.month_days.clear()

    def add_times(self, times: frozenset[time] | None) -> None:
        if times is None:
            self.rejected.append("bad_time")
        else:
            self.times |= times


# ---- dates ---------------------------------------------------------------------------------------


def make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def full_year(text: str | None) -> int | None:
    if not text:
        return None
    return 2000 + int(text) if len(text) == 2 else int(text)


def calendar_date(day: int, month: int, year: int | None, today: date) -> date | None:
    """A day and month, in the given year or else the first year in which it is not past."""
    if year is not None:
        return make_date(year, month, day)
    for y in (today.year, today.year + 1):
        found = make_date(y, month, day)
        if found is not None and found >= today:
            return found
    return None


def day_of_month(day: int, today: date) -> date | None:
    """ "5-го": this month, or next month when the day has passed (or this month has no such day)."""
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    for first in (today.replace(day=1), next_month):
        found = make_date(first.year, first.month, day)
        if found is not None and found >= today:
            return found
    return None


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def monday_of(today: date) -> date:
    return today - timedelta(days=today.weekday())


# ---- times ---------------------------------------------------------------------------------------

MARKER = r"(?:утра|вечера|дня|ночи|a\.?m\.?|p\.?m\.?)(?![\w])"


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


def range_bound(hour: int, minute: int, marker: str | None, padded: bool) -> time | None:
    """One end of "после 6", "до 12": an unmarked 1-9 is an evening hour at a dance studio."""
    if marker or padded or hour == 0 or hour > 9:
        options = clock_times(hour, minute, marker, padded)
        return min(options) if options else None
    return time(hour + 12, minute) if minute <= 59 else None
