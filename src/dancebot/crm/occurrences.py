"""Schedule templates → concrete occurrences, and the one owner of the reservation `date` convention.

Pure: no I/O, no clock, never the machine timezone. The studio's zone is the `tzinfo` of the aware
`now_local` given to `expand` (or the `tz` argument); start/end are wall-clock times in that zone, so a
19:00 class stays 19:00 whatever the UTC offset does.

Rules of `expand`:
- the window is the calendar days `today_local … today_local + days - 1` (`days` days, today included);
- a weekly template (`regular`) runs on `day` (1 = Monday … 7 = Sunday) between the local dates of
  `dateBegin` and `dateEnd` (either may be absent = unbounded); a one-off (`regular: false`) runs once,
  on the local date of `dateBegin`;
- holidays are removed; a sticker classified "cancelled" removes the template's occurrences; "closed"
  ones are kept with `is_bookable=False` so the schedule can say so; anything the classifier returns
  other than closed/cancelled/new counts as "open";
- occurrences that have started (`start <= now_local`) are removed; the result is sorted by start;
- a template without `branch` takes the branch of another template in the same hall (a hall belongs to
  one branch), else of another template of the same group when that group runs in one branch only, else
  None.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal, get_args

from dancebot.crm.models import Occurrence, OccurrenceStatus, ScheduleTemplate

__all__ = [
    "DateConvention",
    "expand",
    "occurrence_id",
    "reservation_day",
    "reservation_ts",
]

DateConvention = Literal["utc_midnight", "local_midnight"]
_STATUSES: tuple[OccurrenceStatus, ...] = get_args(OccurrenceStatus)


def occurrence_id(schedule_id: int, day: dt.date) -> str:
    return f"{schedule_id}:{day.isoformat()}"


def reservation_ts(day: dt.date, convention: DateConvention = "utc_midnight", *, tz: dt.tzinfo) -> int:
    """Unix seconds Impulse expects in a reservation's `date` for the occurrence on `day`."""
    if convention == "utc_midnight":
        return calendar.timegm(day.timetuple())
    if convention == "local_midnight":
        return int(dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp())
    raise ValueError(f"unknown date convention {convention!r}")


def reservation_day(ts: int, convention: DateConvention = "utc_midnight", *, tz: dt.tzinfo) -> dt.date:
    """Inverse of `reservation_ts`: the occurrence's calendar day from a reservation's `date`."""
    if convention == "utc_midnight":
        return dt.datetime.fromtimestamp(ts, dt.UTC).date()
    if convention == "local_midnight":
        return dt.datetime.fromtimestamp(ts, tz).date()
    raise ValueError(f"unknown date convention {convention!r}")


def expand(
    templates: Iterable[ScheduleTemplate],
    *,
    today_local: dt.date,
    now_local: dt.datetime,
    days: int,
    holidays: Callable[[dt.date], bool],
    sticker_status: Callable[[str | None], str],
) -> list[Occurrence]:
    """Every future occurrence of `templates` in the window (rules in the module docstring)."""
    tz = now_local.tzinfo
    if tz is None:
        raise ValueError("now_local must be timezone-aware (the studio's zone)")
    templates = list(templates)
    branch_of = _branch_resolver(templates)
    last = today_local + dt.timedelta(days=days - 1)
    result: list[Occurrence] = []
    for template in templates:
        sticker = template.sticker.name if template.sticker and template.sticker.name else None
        status = _status(sticker_status(sticker))
        if status == "cancelled":
            continue
        for day in _run_days(template, today_local, last, tz):
            if holidays(day):
                continue
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
            start = midnight + dt.timedelta(minutes=template.minutes_begin)
            if start <= now_local:
                continue
            end = max(start, midnight + dt.timedelta(minutes=template.minutes_end))
            result.append(_occurrence(template, day, start, end, status, sticker, branch_of(template)))
    result.sort(key=lambda o: (o.start, o.schedule_id))
    return result


def _status(value: str) -> OccurrenceStatus:
    return next((s for s in _STATUSES if s == value), "open")


def _local_date(ts: int, tz: dt.tzinfo) -> dt.date:
    return dt.datetime.fromtimestamp(ts, tz).date()


def _run_days(t: ScheduleTemplate, first: dt.date, last: dt.date, tz: dt.tzinfo) -> Iterator[dt.date]:
    if not t.regular:
        if t.date_begin is not None and first <= (day := _local_date(t.date_begin, tz)) <= last:
            yield day
        return
    if t.day is None:
        return
    start = first if t.date_begin is None else max(first, _local_date(t.date_begin, tz))
    stop = last if t.date_end is None else min(last, _local_date(t.date_end, tz))
    day = start + dt.timedelta(days=(t.day - start.isoweekday()) % 7)
    while day <= stop:
        yield day
        day += dt.timedelta(days=7)


def _branch_resolver(templates: Sequence[ScheduleTemplate]) -> Callable[[ScheduleTemplate], int | None]:
    by_hall: dict[int, int] = {}
    by_group: dict[int, set[int]] = {}
    for t in templates:
        if t.branch is None:
            continue
        if t.hall is not None:
            by_hall.setdefault(t.hall.id, t.branch.id)
        by_group.setdefault(t.group.id, set()).add(t.branch.id)

    def branch_of(t: ScheduleTemplate) -> int | None:
        if t.branch is not None:
            return t.branch.id
        if t.hall is not None and t.hall.id in by_hall:
            return by_hall[t.hall.id]
        branches = by_group.get(t.group.id, set())
        return next(iter(branches)) if len(branches) == 1 else None

    return branch_of


def _occurrence(
    t: ScheduleTemplate,
    day: dt.date,
    start: dt.datetime,
    end: dt.datetime,
    status: OccurrenceStatus,
    sticker: str | None,
    branch_id: int | None,
) -> Occurrence:
    group = t.group
    return Occurrence(
        occurrence_id=occurrence_id(t.id, day),
        schedule_id=t.id,
        date=day,
        start=start,
        end=end,
        regular=t.regular,
        group_id=group.id,
        group_name=group.name,
        style_id=group.style.id if group.style else None,
        style_name=group.style.name if group.style else "",
        teacher_id=group.teacher1.id if group.teacher1 else None,
        teacher_name=group.teacher1.full_name if group.teacher1 else "",
        hall_id=t.hall.id if t.hall else None,
        hall_name=t.hall.name if t.hall else "",
        branch_crm_id=branch_id,
        sticker=sticker,
        status=status,
        places=group.place_count,
        is_bookable=status in ("open", "new"),
    )
