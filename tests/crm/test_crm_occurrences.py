"""Templates → occurrences and the reservation date convention (pure; PRODUCT.md §7.1–7.2)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dancebot.crm.fake_seed import build_seed
from dancebot.crm.models import Occurrence, ScheduleTemplate
from dancebot.crm.occurrences import expand, reservation_day, reservation_ts

VLAD = ZoneInfo("Asia/Vladivostok")
TODAY = dt.date(2026, 12, 2)  # Wednesday
NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=VLAD)
STICKERS = {"НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ": "closed", "ВЫХОДНОЙ": "cancelled", "НОВАЯ ХОРЕОГРАФИЯ": "new"}


def _midnight(day: dt.date, tz: dt.tzinfo = VLAD) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp())


def _template(tid: int = 1, *, day: int | None = 1, begin: str = "19:00", **extra: Any) -> ScheduleTemplate:
    hours, minutes = map(int, begin.split(":"))
    data: dict[str, Any] = {
        "id": tid,
        "regular": True,
        "day": day,
        "minutesBegin": hours * 60 + minutes,
        "minutesEnd": hours * 60 + minutes + 60,
        "dateBegin": _midnight(dt.date(2026, 9, 1)),
        "dateEnd": _midnight(dt.date(2027, 6, 1)),
        "group": {"id": 200 + tid, "name": "Группа", "style": {"id": 11, "name": "High Heels"},
                  "teacher1": {"id": 101, "name": "Анастасия", "lastName": "Ковалёва"}, "placeCount": 10},
        "hall": {"id": 21, "name": "Большой зал"},
        "branch": {"id": 1, "name": "Центр"},
    }  # fmt: skip
    return ScheduleTemplate.model_validate({**data, **extra})


def _expand(templates: list[ScheduleTemplate], **overrides: Any) -> list[Occurrence]:
    options: dict[str, Any] = {
        "today_local": TODAY,
        "now_local": NOW,
        "days": 14,
        "holidays": lambda d: False,
        "sticker_status": lambda name: STICKERS.get(name or "", "open"),
    }
    return expand(templates, **{**options, **overrides})


@pytest.mark.parametrize(
    ("weekday", "first"),
    [(1, "2026-12-07"), (2, "2026-12-08"), (3, "2026-12-02"), (4, "2026-12-03"), (5, "2026-12-04"),
     (6, "2026-12-05"), (7, "2026-12-06")],
)  # fmt: skip
def test_weekday_1_is_monday_and_7_is_sunday(weekday: int, first: str) -> None:
    occurrences = _expand([_template(day=weekday)])
    assert occurrences[0].date.isoformat() == first
    assert {o.date.isoweekday() for o in occurrences} == {weekday}
    assert len(occurrences) == 2


def test_occurrence_id_names_template_and_date() -> None:
    [first, second] = _expand([_template(301, day=1)])
    assert (first.occurrence_id, second.occurrence_id) == ("301:2026-12-07", "301:2026-12-14")
    assert first.start == dt.datetime(2026, 12, 7, 19, 0, tzinfo=VLAD)
    assert first.end == dt.datetime(2026, 12, 7, 20, 0, tzinfo=VLAD)
    assert (first.teacher_name, first.style_name, first.branch_crm_id) == ("Анастасия Ковалёва", "High Heels", 1)


def test_window_is_today_plus_days_minus_one() -> None:
    dates = [o.date for o in _expand([_template(day=d) for d in range(1, 8)])]
    assert min(dates) == TODAY and max(dates) == dt.date(2026, 12, 15)
    assert len(_expand([_template(day=3)], days=1)) == 1  # today's 19:00 only


def test_template_validity_dates_bound_the_occurrences() -> None:
    ends = _template(day=1, dateEnd=_midnight(dt.date(2026, 12, 7)))
    starts = _template(2, day=1, dateBegin=_midnight(dt.date(2026, 12, 8)))
    assert [o.occurrence_id for o in _expand([ends, starts])] == ["1:2026-12-07", "2:2026-12-14"]


def test_holidays_are_removed() -> None:
    saturday = _template(day=6)
    dates = [o.date for o in _expand([saturday], holidays=lambda d: d == dt.date(2026, 12, 12))]
    assert dates == [dt.date(2026, 12, 5)]


def test_started_and_past_classes_are_removed() -> None:
    morning, at_now, evening = (_template(i, day=3, begin=b) for i, b in ((1, "09:00"), (2, "15:00"), (3, "19:00")))
    today = [o.schedule_id for o in _expand([morning, at_now, evening]) if o.date == TODAY]
    assert today == [3]


def test_a_one_off_class_appears_once_on_its_date() -> None:
    master = _template(9, day=None, regular=False, dateBegin=_midnight(dt.date(2026, 12, 6)), dateEnd=None)
    outside = _template(10, day=None, regular=False, dateBegin=_midnight(dt.date(2026, 12, 20)))
    occurrences = _expand([master, outside])
    assert [(o.occurrence_id, o.regular) for o in occurrences] == [("9:2026-12-06", False)]


def test_stickers_closed_kept_unbookable_cancelled_removed_new_bookable() -> None:
    def sticker(name: str) -> dict[str, Any]:
        return {"sticker": {"id": 1, "name": name, "color": "#000", "icon": None}}

    closed = _template(1, day=4, **sticker("НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ"))
    cancelled = _template(2, day=4, **sticker("ВЫХОДНОЙ"))
    new = _template(3, day=4, **sticker("НОВАЯ ХОРЕОГРАФИЯ"))
    info = _template(4, day=4, **sticker("ЛЕТНЕЕ РАСПИСАНИЕ"))
    by_id = {o.schedule_id: o for o in _expand([closed, cancelled, new, info], days=2)}
    assert set(by_id) == {1, 3, 4}
    assert (by_id[1].status, by_id[1].is_bookable) == ("closed", False)
    assert (by_id[3].status, by_id[3].is_bookable) == ("new", True)
    assert (by_id[4].status, by_id[4].is_bookable, by_id[4].sticker) == ("open", True, "ЛЕТНЕЕ РАСПИСАНИЕ")


def test_result_is_sorted_by_start() -> None:
    occurrences = _expand([_template(1, day=5, begin="20:00"), _template(2, day=5, begin="08:00"), _template(3)])
    starts = [o.start for o in occurrences]
    assert starts == sorted(starts)
    assert occurrences[0].schedule_id == 2


def test_a_missing_branch_comes_from_the_hall_then_the_group() -> None:
    with_branch = _template(1, day=1)
    same_hall = _template(2, day=2, branch=None)
    other_hall = _template(3, day=3, branch=None, hall={"id": 99, "name": "Зал"})
    same_group = _template(4, day=4, branch=None, hall=None, group=with_branch.group.model_dump(by_alias=True))
    unknown = _template(5, day=5, branch=None, hall=None)
    branches = {
        o.schedule_id: o.branch_crm_id for o in _expand([with_branch, same_hall, other_hall, same_group, unknown])
    }
    assert branches == {1: 1, 2: 1, 3: None, 4: 1, 5: None}


def test_wall_clock_times_survive_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # switches to summer time on 2027-03-28
    template = _template(day=7, dateBegin=_midnight(dt.date(2027, 3, 1), berlin))
    now = dt.datetime(2027, 3, 20, 12, 0, tzinfo=berlin)
    [before, after] = _expand([template], today_local=now.date(), now_local=now)
    assert (before.start.hour, after.start.hour) == (19, 19)
    assert before.start.utcoffset() == dt.timedelta(hours=1)
    assert after.start.utcoffset() == dt.timedelta(hours=2)


def test_vladivostok_times_are_utc_plus_ten_whatever_the_machine_zone() -> None:
    [first, *_] = _expand([_template(day=1)])
    assert first.start.utcoffset() == dt.timedelta(hours=10)
    assert first.start.astimezone(dt.UTC).hour == 9


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        _expand([_template()], now_local=NOW.replace(tzinfo=None))


def test_the_demo_studio_expands_as_the_kb_describes_it() -> None:
    seed = build_seed(TODAY, VLAD)
    templates = [ScheduleTemplate.model_validate(t) for t in seed.templates]
    by_id: dict[int, list[Occurrence]] = {}
    for o in _expand(templates):
        by_id.setdefault(o.schedule_id, []).append(o)
    assert [o.date for o in by_id[328]] == [TODAY + dt.timedelta(days=4)]
    assert all(not o.is_bookable for o in by_id[313])
    assert 322 not in by_id
    assert {o.branch_crm_id for o in by_id[306] + by_id[320]} == {2}
    assert all(o.branch_crm_id in (1, 2) for os in by_id.values() for o in os)


@pytest.mark.parametrize("convention", ["utc_midnight", "local_midnight"])
@pytest.mark.parametrize("zone", ["Asia/Vladivostok", "Europe/Berlin", "America/Los_Angeles"])
def test_reservation_date_round_trips(convention: Any, zone: str) -> None:
    tz = ZoneInfo(zone)
    day = dt.date(2026, 1, 1)
    for _ in range(400):
        assert reservation_day(reservation_ts(day, convention, tz=tz), convention, tz=tz) == day
        day += dt.timedelta(days=1)


def test_reservation_ts_conventions() -> None:
    day = dt.date(2026, 12, 7)
    assert reservation_ts(day, tz=VLAD) == int(dt.datetime(2026, 12, 7, tzinfo=dt.UTC).timestamp())
    assert reservation_ts(day, "local_midnight", tz=VLAD) == int(
        dt.datetime(2026, 12, 6, 14, tzinfo=dt.UTC).timestamp()
    )
    with pytest.raises(ValueError):
        reservation_ts(day, "noon", tz=VLAD)  # type: ignore[arg-type]
