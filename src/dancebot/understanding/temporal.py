"""Dates and times in client messages, as a constraint on class occurrences (PRODUCT.md §6.3).

`parse_temporal` reads every date and time phrase of a message ("хилс в пт в 19 у насти" → Friday,
19:00) into a `TimeConstraint`; the slot resolver intersects it with real CRM occurrences (§5.1).
The parser never decides which class is meant: where a phrase is ambiguous it returns all candidates
("в 8" → 08:00 and 20:00) and the resolver keeps the ones that have a class.

Semantics of a constraint: every part that is set must hold (`matches`). Day phrases named side by
side are alternatives ("завтра или в пятницу" → two dates). One weekday means its nearest date; two
or more, or a plural ("по средам", "пн/ср/пт"), mean every such day. A weekday named on that very
weekday ("в среду" on a Wednesday) gives today and a week later with `earliest_only`: the resolver
keeps the earlier one that still has a class ahead (`select` does exactly that). Nothing returned is
ever before today; days past the look-ahead are kept and flagged `out_of_window`. Impossible values
("25:00", "31 февраля") are dropped and named in `rejected` by kind only, never echoed.

Pure functions: `now` (timezone-aware, the studio's zone) is passed in; the machine's clock and zone
are never read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from dancebot.understanding.temporal_facts import DayRange, Facts, TimeRange, calendar_date, monday_of
from dancebot.understanding.temporal_lexicon import (
    AFTERNOON,
    EVENING,
    MONTH_EN,
    MONTH_GENITIVE_RU,
    MORNING,
    WEEKDAY_ABBR_EN,
    WEEKDAY_ABBR_RU,
    WEEKDAY_PLURAL_EN,
    WEEKDAY_PLURAL_RU,
    prepare,
)
from dancebot.understanding.temporal_rules import collect_facts

__all__ = ["TimeConstraint", "describe_datetime", "format_constraint", "parse_temporal"]

_WEEK = 7
_T = TypeVar("_T", date, time)


@dataclass(frozen=True)
class TimeConstraint:
    """What a message says about when; every part that is set must hold."""

    dates: frozenset[date] | None = None  # explicit days ("сегодня", "5-го", "12.12", "через неделю")
    date_range: DayRange | None = None  # inclusive ("на выходных", "в декабре")
    weekdays: frozenset[int] | None = None  # 0=Mon..6=Sun, every such day ("по средам", "пн/ср/пт")
    times: frozenset[time] | None = None  # candidate exact times ("в 8" → 08:00, 20:00)
    time_range: TimeRange | None = None  # inclusive ("вечером" 17:00–23:00, "после 6 вечера")
    earliest_only: bool = False  # `dates` are alternatives for one day: keep the earliest that fits
    out_of_window: bool = False  # some named day lies beyond the booking look-ahead
    rejected: tuple[str, ...] = ()  # "bad_time", "bad_date", "past_date"

    @property
    def is_empty(self) -> bool:
        """True when the message named no usable day or time (it may still have `rejected` ones)."""
        parts = (self.dates, self.date_range, self.weekdays, self.times, self.time_range)
        return all(part is None for part in parts)

    def matches(self, dt: datetime) -> bool:
        """Does a class starting at local `dt` satisfy every part? (Both alternatives of
        `earliest_only` match; `select` picks between them.)"""
        day, clock = dt.date(), time(dt.hour, dt.minute)
        return (
            (self.dates is None or day in self.dates)
            and (self.date_range is None or self.date_range[0] <= day <= self.date_range[1])
            and (self.weekdays is None or day.weekday() in self.weekdays)
            and (self.times is None or clock in self.times)
            and (self.time_range is None or self.time_range[0] <= clock <= self.time_range[1])
        )

    def select(self, upcoming: Iterable[datetime]) -> list[datetime]:
        """The matching ones of `upcoming` class starts (already past ones removed), earliest first;
        with `earliest_only`, only those on the earliest matching day."""
        hits = sorted(dt for dt in upcoming if self.matches(dt))
        if self.earliest_only and hits:
            return [dt for dt in hits if dt.date() == hits[0].date()]
        return hits


def parse_temporal(text: str, now: datetime, *, lookahead_days: int = 14, lang: str = "ru") -> TimeConstraint:
    """Every date and time phrase of `text`, relative to `now` (see the module docstring).

    Russian and English phrases are understood whatever `lang` is: clients switch languages
    mid-conversation, and the two vocabularies do not collide.
    """
    facts = collect_facts(prepare(text), now.date())
    return _combine(facts, lookahead_days)


# ---- combining raw facts -------------------------------------------------------------------------


def _days_in(span: DayRange) -> list[date]:
    return [span[0] + timedelta(days=i) for i in range((span[1] - span[0]).days + 1)]


def _is_short(span: DayRange | None) -> bool:
    """At most a week: "на выходных", "на следующей неделе" (not "в декабре")."""
    return span is not None and (span[1] - span[0]).days < _WEEK


@dataclass
class _Days:
    """The day part while it is being simplified; ranges are unclipped until `clip`."""

    today: date
    dates: set[date]
    span: DayRange | None
    weekdays: set[int] | None
    rejected: list[str] = field(default_factory=list)
    earliest: bool = False

    def resolve_single_weekday(self, weekday: int, next_week: bool, this_week: bool) -> None:
        """One weekday is one day: the nearest, next week's, or the one inside a named week."""
        if next_week:
            day = monday_of(self.today) + timedelta(days=_WEEK + weekday)
            self.dates.add(day)
            if self.span is not None and _is_short(self.span) and day in _days_in(self.span):
                self.span = None
            return
        if self.span is not None:
            if not _is_short(self.span):
                self.weekdays = {weekday}  # "в декабре в пятницу": every Friday of December
                return
            inside = [d for d in _days_in(self.span) if d.weekday() == weekday]
            if not inside:
                self.weekdays = {weekday}  # contradiction ("на выходных в пн"): nothing will match
                return
            self.span = None
            if inside[0] < self.today:
                self.rejected.append("past_date")  # "на этой неделе в пн", said on Wednesday
            else:
                self.dates.add(inside[0])
            return
        ahead = (weekday - self.today.weekday()) % _WEEK
        self.dates.add(self.today + timedelta(days=ahead))
        if ahead == 0 and not this_week:
            self.dates.add(self.today + timedelta(days=_WEEK))
            self.earliest = True

    def clip(self) -> None:
        if self.span is None:
            return
        if self.span[1] < self.today:
            self.rejected.append("past_date")
            self.span = None
        else:
            self.span = (max(self.span[0], self.today), self.span[1])

    def simplify(self) -> None:
        """Drop parts implied by others, so equal meanings get equal constraints."""
        if self.span is not None and self.dates and all(self.span[0] <= d <= self.span[1] for d in self.dates):
            self.span = None  # "9-го на следующей неделе"
        if self.span is not None and self.dates and not any(self.span[0] <= d <= self.span[1] for d in self.dates):
            self.span = None  # a named day outside the named period: the day is the more precise wish
        if self.span is not None and _is_short(self.span):
            in_span = [d for d in _days_in(self.span) if not self.weekdays or d.weekday() in self.weekdays]
            if in_span and (self.weekdays or self.dates or len(in_span) == 1):
                self.dates |= set(in_span)
                self.span, self.weekdays = None, None
        if self.weekdays and self.dates and all(d.weekday() in self.weekdays for d in self.dates):
            self.weekdays = None


def _envelope(ranges: Sequence[tuple[_T, _T]]) -> tuple[_T, _T] | None:
    """The smallest range holding all of them ("утром или вечером" → 06:00–23:00)."""
    if not ranges:
        return None
    return (min(r[0] for r in ranges), max(r[1] for r in ranges))


def _combine(f: Facts, lookahead_days: int) -> TimeConstraint:
    days = _Days(f.today, set(f.dates), _envelope(f.date_ranges), None, list(f.rejected), f.earliest)
    named_weekdays = {d.weekday() for d in f.dates}
    # A weekday beside a date with that weekday only labels it ("пт 11.12").
    mentions = [m for m in f.weekdays if m.recurring or m.weekday not in named_weekdays]
    weekdays = {m.weekday for m in mentions}
    next_week = any(m.next_week for m in mentions)
    if len(weekdays) == 1 and not any(m.recurring for m in mentions):
        days.resolve_single_weekday(weekdays.pop(), next_week, any(m.this_week for m in mentions))
    elif weekdays:
        days.weekdays = weekdays
        if next_week and days.span is None:
            monday = monday_of(f.today) + timedelta(days=_WEEK)
            days.span = (monday, monday + timedelta(days=_WEEK - 1))
    days.clip()
    days.simplify()

    times: set[time] | None = set(f.times) or None
    time_range = _envelope(f.time_ranges)
    if times and time_range:
        inside = {t for t in times if time_range[0] <= t <= time_range[1]}
        if inside:
            times, time_range = inside, None  # "вечером в 8" is 20:00

    horizon = f.today + timedelta(days=lookahead_days)
    return TimeConstraint(
        dates=frozenset(days.dates) or None,
        date_range=days.span,
        weekdays=frozenset(days.weekdays) if days.weekdays else None,
        times=frozenset(times) if times else None,
        time_range=time_range,
        earliest_only=days.earliest and len(days.dates) > 1,
        out_of_window=any(d > horizon for d in days.dates) or (days.span is not None and days.span[1] > horizon),
        rejected=tuple(dict.fromkeys(days.rejected)),
    )


# ---- formatting ----------------------------------------------------------------------------------

_IN_WEEKDAY_RU = ("в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу", "в воскресенье")
_WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_PARTS_OF_DAY = {MORNING: ("утром", "in the morning"), AFTERNOON: ("днём", "in the afternoon"),
                 EVENING: ("вечером", "in the evening")}  # fmt: skip
_WORDS = {
    "ru": {"or": "или", "and": "и", "at": "в", "on": "по", "after": "после", "before": "до", "from": "с",
           "to": "до", "days_from": "с", "days_to": "по", "sooner": "что ближе", "any": "в любое время"},
    "en": {"or": "or", "and": "and", "at": "at", "on": "on", "after": "after", "before": "before",
           "from": "from", "to": "to", "days_from": "from", "days_to": "to", "sooner": "whichever is sooner",
           "any": "any time"},
}  # fmt: skip


def _join(items: list[str], last: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _year_needed(day: date, today: date | None) -> bool:
    return today is None or calendar_date(day.day, day.month, None, today) != day


def _day_phrase(day: date, lang: str, today: date | None) -> str:
    year = f" {day.year}" if _year_needed(day, today) else ""
    if lang == "en":
        return f"{WEEKDAY_ABBR_EN[day.weekday()]} {day.day} {MONTH_EN[day.month - 1]}{year}"
    return f"{WEEKDAY_ABBR_RU[day.weekday()]} {day.day} {MONTH_GENITIVE_RU[day.month - 1]}{year}"


def _numeric_day(day: date, today: date | None) -> str:
    return f"{day:%d.%m.%Y}" if _year_needed(day, today) else f"{day:%d.%m}"


def _clock_phrase(t: time, lang: str) -> str:
    """ "19:00", but "8:00 утра": a bare 1-11 o'clock would read back as morning-or-evening."""
    if 1 <= t.hour <= 11:
        return f"{t.hour}:{t:%M} {'am' if lang == 'en' else 'утра'}"
    return f"{t:%H:%M}"


def _time_range_phrase(span: TimeRange, lang: str) -> str:
    words = _WORDS[lang]
    if span in _PARTS_OF_DAY:
        return _PARTS_OF_DAY[span][lang == "en"]
    if span[1] == time(23, 59):
        return f"{words['after']} {span[0]:%H:%M}"
    if span[0] == time(0):
        return f"{words['before']} {span[1]:%H:%M}"
    return f"{words['from']} {span[0]:%H:%M} {words['to']} {span[1]:%H:%M}"


def format_constraint(c: TimeConstraint, lang: str = "ru", *, today: date | None = None) -> str:
    """A phrase for `c` that `parse_temporal` reads back as the same constraint.

    Without `today` every date carries its year (the phrase must not depend on when it is read);
    with it, years the parser would infer anyway are left out.
    """
    lang = "en" if lang == "en" else "ru"
    words = _WORDS[lang]
    parts: list[str] = []
    sooner = ""
    if c.dates:
        parts.append(_dates_phrase(c, lang, today))
        if c.earliest_only and not _said_as_weekday(c, today):
            sooner = f", {words['sooner']}"
    if c.date_range:
        start, end = (_numeric_day(d, today) for d in c.date_range)
        parts.append(f"{words['days_from']} {start} {words['days_to']} {end}")
    if c.weekdays:
        plural = WEEKDAY_PLURAL_EN if lang == "en" else WEEKDAY_PLURAL_RU
        parts.append(f"{words['on']} {_join([plural[d] for d in sorted(c.weekdays)], words['and'])}")
    if c.times:
        clocks = f" {words['or']} ".join(_clock_phrase(t, lang) for t in sorted(c.times))
        parts.append(f"{words['at']} {clocks}")
    if c.time_range:
        parts.append(_time_range_phrase(c.time_range, lang))
    return " ".join(parts) + sooner if parts else words["any"]


def _said_as_weekday(c: TimeConstraint, today: date | None) -> bool:
    """True for the "в среду" said on a Wednesday: today and a week later, today known."""
    return bool(c.earliest_only and c.dates and today and c.dates == {today, today + timedelta(days=_WEEK)})


def _dates_phrase(c: TimeConstraint, lang: str, today: date | None) -> str:
    ordered = sorted(c.dates or ())
    if _said_as_weekday(c, today):
        weekday = ordered[0].weekday()
        return f"on {_WEEKDAY_EN[weekday]}" if lang == "en" else _IN_WEEKDAY_RU[weekday]
    return _join([_day_phrase(d, lang, today) for d in ordered], _WORDS[lang]["or"])


def describe_datetime(dt: datetime, lang: str = "ru") -> str:
    """ "пт 04.12 в 19:00" / "Fri 04.12 at 19:00", for summaries and receipts."""
    if lang == "en":
        return f"{WEEKDAY_ABBR_EN[dt.weekday()]} {dt:%d.%m} at {dt:%H:%M}"
    return f"{WEEKDAY_ABBR_RU[dt.weekday()]} {dt:%d.%m} в {dt:%H:%M}"
