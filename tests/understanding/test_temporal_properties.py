"""Properties of the temporal parser over generated client phrases, moments and look-aheads.

Phrases come from a grammar of what the parser supports (random days, months, hours, weekdays,
Russian and English, with booking chatter around them), so the properties exercise real readings,
not only noise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dancebot.understanding.temporal import TimeConstraint, format_constraint, parse_temporal

VLAD = ZoneInfo("Asia/Vladivostok")
PROPERTY_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

nows = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(VLAD))
lookaheads = st.integers(min_value=1, max_value=60)

WEEKDAY_ACC = ("понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье")
WEEKDAY_ABBR = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
WEEKDAY_DAT_PL = ("понедельникам", "вторникам", "средам", "четвергам", "пятницам", "субботам", "воскресеньям")
WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_GEN = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
             "октября", "ноября", "декабря")  # fmt: skip
MONTH_PREP = ("январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре",
              "октябре", "ноябре", "декабре")  # fmt: skip
MONTH_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

days = st.integers(min_value=1, max_value=31)
months = st.integers(min_value=1, max_value=12)
hours = st.integers(min_value=0, max_value=26)
minutes = st.sampled_from([0, 15, 30, 45, 59])
weekdays = st.integers(min_value=0, max_value=6)


def _fmt(template: str, *strategies: st.SearchStrategy[object]) -> st.SearchStrategy[str]:
    return st.tuples(*strategies).map(lambda values: template.format(*values))


day_phrases = st.one_of(
    st.sampled_from(
        [
            "сегодня",
            "завтра",
            "послезавтра",
            "на выходных",
            "на этой неделе",
            "на следующей неделе",
            "через неделю",
            "на следующих выходных",
            "today",
            "tomorrow",
            "next week",
            "this weekend",
            "по будням",
        ]
    ),
    _fmt("в {}", st.sampled_from(WEEKDAY_ACC)),
    _fmt("в эту {}", st.sampled_from(WEEKDAY_ACC[2:3] + WEEKDAY_ACC[4:6])),
    _fmt("в следующий {}", st.sampled_from(WEEKDAY_ACC[0:2] + WEEKDAY_ACC[3:4])),
    _fmt("на следующей неделе в {}", st.sampled_from(WEEKDAY_ABBR)),
    _fmt("{}", st.sampled_from(WEEKDAY_ABBR)),
    _fmt("по {} и {}", st.sampled_from(WEEKDAY_DAT_PL), st.sampled_from(WEEKDAY_DAT_PL)),
    _fmt("{}/{}/{}", st.sampled_from(WEEKDAY_ABBR), st.sampled_from(WEEKDAY_ABBR), st.sampled_from(WEEKDAY_ABBR)),
    _fmt("{}-го", days),
    _fmt("на {}-е", days),
    _fmt("{} числа", days),
    _fmt("{} {}", days, st.sampled_from(MONTH_GEN)),
    _fmt("{:02d}.{:02d}", days, months),
    _fmt("{}/{}", days, months),
    _fmt("{:02d}.{:02d}.{}", days, months, st.integers(min_value=2024, max_value=2032)),
    _fmt("через {} дня", st.integers(min_value=2, max_value=4)),
    _fmt("через {} недели", st.integers(min_value=2, max_value=4)),
    _fmt("в {}", st.sampled_from(MONTH_PREP)),
    _fmt("на все {} в {}", st.sampled_from(["среды", "пятницы", "субботы"]), st.sampled_from(MONTH_PREP)),
    _fmt("on {}", st.sampled_from(WEEKDAY_EN)),
    _fmt("next {}", st.sampled_from(WEEKDAY_EN)),
    _fmt("{} {}", st.sampled_from(MONTH_EN), days),
    _fmt("in {} days", st.integers(min_value=1, max_value=20)),
)
time_phrases = st.one_of(
    st.sampled_from(
        [
            "утром",
            "днём",
            "вечером",
            "после работы",
            "в полвосьмого",
            "в полдень",
            "in the evening",
            "in the morning",
            "after work",
        ]
    ),
    _fmt("в {}", hours),
    _fmt("к {}", hours),
    _fmt("на {}", hours),
    _fmt("в {}:{:02d}", hours, minutes),
    _fmt("в {}.{:02d}", hours, minutes),
    _fmt("{:02d}:{:02d}", hours, minutes),
    _fmt("в {} вечера", st.integers(min_value=1, max_value=11)),
    _fmt("в {} утра", st.integers(min_value=1, max_value=11)),
    _fmt("{}ч", st.integers(min_value=13, max_value=23)),
    _fmt("после {} вечера", st.integers(min_value=1, max_value=11)),
    _fmt("после {}", hours),
    _fmt("до {}", hours),
    _fmt("с {} до {}", hours, hours),
    _fmt("at {}pm", st.integers(min_value=1, max_value=12)),
    _fmt("at {}:{:02d}", hours, minutes),
)
chatter = st.sampled_from(
    [
        "",
        "хилс",
        "запишите меня",
        "у насти",
        "на гоголя",
        "пожалуйста",
        "можно?",
        "нет,",
        "ок",
        "на 2 занятия",
        "нас 3 человека",
        "700 р",
        "+7 914 123-45-67",
    ]
)
joiners = st.sampled_from([" ", " или ", ", ", " и "])
day_parts = st.tuples(st.lists(day_phrases, max_size=2), joiners).map(lambda p: p[1].join(p[0]))
time_parts = st.tuples(st.lists(time_phrases, max_size=2), joiners).map(lambda p: p[1].join(p[0]))
phrases = st.tuples(chatter, day_parts, time_parts, chatter).map(lambda parts: " ".join(p for p in parts if p))


def assert_invariants(c: TimeConstraint, now: datetime, lookahead: int) -> None:
    today, horizon = now.date(), now.date() + timedelta(days=lookahead)
    named: list[date] = sorted(c.dates or ())
    if c.date_range is not None:
        start, end = c.date_range
        assert today <= start <= end
        named += [start, end]
    assert all(day >= today for day in named), "a day before today"
    assert c.out_of_window == any(day > horizon for day in named)
    if c.time_range is not None:
        assert c.time_range[0] < c.time_range[1]
    assert c.weekdays is None or c.weekdays <= set(range(7))
    assert not c.earliest_only or len(c.dates or ()) >= 2
    assert set(c.rejected) <= {"bad_time", "bad_date", "past_date"}


@PROPERTY_SETTINGS
@given(text=phrases, now=nows, lookahead=lookaheads)
def test_generated_phrases_respect_today_and_the_window(text: str, now: datetime, lookahead: int) -> None:
    assert_invariants(parse_temporal(text, now, lookahead_days=lookahead), now, lookahead)


@PROPERTY_SETTINGS
@given(text=phrases, now=nows, lookahead=lookaheads, lang=st.sampled_from(["ru", "en"]), with_today=st.booleans())
def test_parsing_the_formatted_constraint_gives_it_back(
    text: str, now: datetime, lookahead: int, lang: str, with_today: bool
) -> None:
    c = parse_temporal(text, now, lookahead_days=lookahead)
    if c.rejected:
        return  # a rejection names what was wrong, it has no phrase of its own
    phrase = format_constraint(c, lang, today=now.date() if with_today else None)
    assert parse_temporal(phrase, now, lookahead_days=lookahead) == c, phrase


@PROPERTY_SETTINGS
@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)), now=nows,
       around=st.sampled_from(["{}", "на {}", "в {}", "к {}", "{} в", "запишите {}, пожалуйста"]))  # fmt: skip
def test_full_numeric_date_is_never_a_time(day: date, now: datetime, around: str) -> None:
    c = parse_temporal(around.format(f"{day:%d.%m.%Y}"), now)
    assert c.times is None and c.time_range is None
    assert c.dates == ({day} if day >= now.date() else None)


def _spaced(d: str) -> str:
    return f"{d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}"


PHONE_STYLES = (
    lambda d: f"8{d}",
    lambda d: f"+7{d}",
    lambda d: f"+7 {_spaced(d)}",
    lambda d: f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
    lambda d: f"мой номер 8-{_spaced(d)}, запишите",
)


@PROPERTY_SETTINGS
@given(digits=st.text(alphabet="0123456789", min_size=10, max_size=10), now=nows,
       style=st.sampled_from(PHONE_STYLES))  # fmt: skip
def test_phone_numbers_are_not_dates_or_times(digits: str, now: datetime, style: Callable[[str], str]) -> None:
    assert parse_temporal(style(digits), now).is_empty


@PROPERTY_SETTINGS
@given(text=st.text(max_size=80), now=nows, lookahead=lookaheads)
def test_any_text_parses_without_error(text: str, now: datetime, lookahead: int) -> None:
    assert_invariants(parse_temporal(text, now, lookahead_days=lookahead), now, lookahead)


@PROPERTY_SETTINGS
@given(text=st.text(alphabet="0123456789.:/- вкнасподелчтуря", max_size=40), now=nows)
def test_digit_soup_parses_without_error(text: str, now: datetime) -> None:
    assert_invariants(parse_temporal(text, now), now, 14)
