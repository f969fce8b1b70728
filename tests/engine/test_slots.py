"""Booking slots against real occurrences (PRODUCT.md §5.1): filtering, style order, the stored time constraint."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dancebot.conversation.slots import (
    constraint_from_json,
    constraint_to_json,
    filter_occurrences,
    merge_constraints,
    styles_in,
)
from dancebot.crm.models import Occurrence
from dancebot.kb import KnowledgeBase, load_kb
from dancebot.understanding.temporal import TimeConstraint, parse_temporal
from tests.factories import NOW, occ

HH_WED = occ(302, "2026-12-02", "19:00", 11, 101, 1)
HH_THU = occ(303, "2026-12-03", "20:00", 11, 101, 2)
STRETCH_THU = occ(314, "2026-12-03", "08:00", 15, 101, 1)
KIDS_THU = occ(321, "2026-12-03", "17:00", 16, 105, 1)
CONTEMP_FRI = occ(309, "2026-12-04", "19:30", 13, 103, 1)
SALSA_FRI = occ(312, "2026-12-04", "20:15", 14, 104, 2)
SALSA_SAT_CLOSED = occ(313, "2026-12-05", "18:00", 14, 104, 1, status="closed")
HIPHOP_MON = occ(305, "2026-12-07", "18:00", 12, 102, 2)
STRETCH_WED = occ(317, "2026-12-09", "10:00", 15, 105, 2)
HH_NEXT_WED = occ(302, "2026-12-09", "19:00", 11, 101, 1)
WEEK = [
    HH_WED,
    HH_THU,
    STRETCH_THU,
    KIDS_THU,
    CONTEMP_FRI,
    SALSA_FRI,
    SALSA_SAT_CLOSED,
    HIPHOP_MON,
    STRETCH_WED,
    HH_NEXT_WED,
]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_kb("knowledge/studio.yaml").kb


@pytest.fixture
def shuffled() -> list[Occurrence]:
    """The CRM answers in template order, not by date: filtering must sort."""
    items = list(WEEK)
    random.Random(7).shuffle(items)
    return items


def ids(occs: list[Occurrence]) -> list[str]:
    return [o.occurrence_id for o in occs]


def when(text: str) -> TimeConstraint:
    return parse_temporal(text, NOW, lookahead_days=14)


# ---- filter_occurrences -------------------------------------------------------------------------


def test_style_filter_gives_that_style_nearest_first(kb: KnowledgeBase, shuffled: list[Occurrence]) -> None:
    assert ids(filter_occurrences(shuffled, kb, style="high_heels")) == ids([HH_WED, HH_THU, HH_NEXT_WED])


def test_teacher_filter_spans_her_styles(kb: KnowledgeBase, shuffled: list[Occurrence]) -> None:
    # Настя teaches High Heels and Стретчинг.
    assert ids(filter_occurrences(shuffled, kb, teacher="anastasia")) == ids([HH_WED, STRETCH_THU, HH_THU, HH_NEXT_WED])


def test_branch_filter(kb: KnowledgeBase, shuffled: list[Occurrence]) -> None:
    assert ids(filter_occurrences(shuffled, kb, branch="gogolya")) == ids([HH_THU, SALSA_FRI, HIPHOP_MON, STRETCH_WED])


def test_every_known_slot_must_hold(kb: KnowledgeBase, shuffled: list[Occurrence]) -> None:
    # "стретчинг на Гоголя" → only Оля's Wednesday class, not Настя's in the centre.
    got = filter_occurrences(shuffled, kb, style="stretching", branch="gogolya")
    assert ids(got) == ids([STRETCH_WED])
    assert filter_occurrences(shuffled, kb, style="stretching", teacher="olga", branch="center") == []


def test_weekday_and_time_of_day(kb: KnowledgeBase, shuffled: list[Occurrence]) -> None:
    assert ids(filter_occurrences(shuffled, kb, when=when("в пятницу"))) == ids([CONTEMP_FRI, SALSA_FRI])
    evening_centre = filter_occurrences(shuffled, kb, branch="center", when=when("вечером"))
    assert ids(evening_centre) == ids([HH_WED, KIDS_THU, CONTEMP_FRI, HH_NEXT_WED])
    assert ids(filter_occurrences(shuffled, kb, when=when("в 8"))) == ids([STRETCH_THU, HH_THU])


def test_weekday_said_on_that_day_keeps_only_the_earliest_day(kb: KnowledgeBase, shuffled: list[Occurrence]) -> None:
    # "в среду" on a Wednesday: today if a class is still ahead today, else next Wednesday.
    wednesday = when("в среду")
    assert wednesday.earliest_only
    assert ids(filter_occurrences(shuffled, kb, style="high_heels", when=wednesday)) == ids([HH_WED])
    later_today_gone = [o for o in shuffled if o != HH_WED]
    assert ids(filter_occurrences(later_today_gone, kb, style="high_heels", when=wednesday)) == ids([HH_NEXT_WED])
    # Every class of the earliest matching day is kept, not just the first one.
    both_today = filter_occurrences(shuffled, kb, when=TimeConstraint(dates=wednesday.dates, earliest_only=True))
    assert ids(both_today) == ids([HH_WED])
    assert ids(filter_occurrences(later_today_gone, kb, when=wednesday)) == ids([STRETCH_WED, HH_NEXT_WED])


def test_closed_classes_are_never_offered(kb: KnowledgeBase, shuffled: list[Occurrence]) -> None:
    assert ids(filter_occurrences(shuffled, kb, style="salsa")) == ids([SALSA_FRI])
    assert filter_occurrences(shuffled, kb, style="salsa", when=when("в субботу")) == []
    # The schedule may still mention them, as not bookable.
    shown = filter_occurrences(shuffled, kb, style="salsa", bookable_only=False)
    assert ids(shown) == ids([SALSA_FRI, SALSA_SAT_CLOSED])


def test_empty_constraint_filters_nothing(kb: KnowledgeBase, shuffled: list[Occurrence]) -> None:
    everything = filter_occurrences(shuffled, kb, when=TimeConstraint())
    assert len(everything) == len(WEEK) - 1  # all but the closed one
    assert [o.start for o in everything] == sorted(o.start for o in everything)


def test_style_unknown_to_the_kb_matches_no_kb_style(kb: KnowledgeBase) -> None:
    stray = occ(399, "2026-12-03", "12:00", 11, 101, 1).model_copy(update={"style_id": 99})
    assert filter_occurrences([stray, HH_THU], kb, style="high_heels") == [HH_THU]


# ---- styles_in ----------------------------------------------------------------------------------


def test_styles_in_order_of_their_nearest_class(kb: KnowledgeBase) -> None:
    nearest_first = sorted(WEEK, key=lambda o: o.start)
    assert styles_in(nearest_first, kb) == ["high_heels", "stretching", "kids", "contemporary", "salsa", "hip_hop"]
    assert styles_in([SALSA_FRI, HH_THU, SALSA_SAT_CLOSED], kb) == ["salsa", "high_heels"]
    assert styles_in([], kb) == []


# ---- the constraint stored in the session ---------------------------------------------------------

_days = st.dates(min_value=dt.date(2026, 12, 1), max_value=dt.date(2027, 1, 31))
_clock = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))


def _span(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(values, values).map(lambda pair: tuple(sorted(pair)))


constraints = st.builds(
    TimeConstraint,
    dates=st.none() | st.frozensets(_days, min_size=1, max_size=4),
    date_range=st.none() | _span(_days),
    weekdays=st.none() | st.frozensets(st.integers(0, 6), min_size=1, max_size=7),
    times=st.none() | st.frozensets(_clock, min_size=1, max_size=3),
    time_range=st.none() | _span(_clock),
    earliest_only=st.booleans(),
)


@given(constraints)
def test_constraint_survives_the_session_json(c: TimeConstraint) -> None:
    stored = json.loads(json.dumps(constraint_to_json(c)))
    if c.is_empty:
        assert stored is None
        assert constraint_from_json(stored) is None
    else:
        assert constraint_from_json(stored) == c


@pytest.mark.parametrize("text", ["в пятницу", "в среду", "на выходных", "пн/ср/пт 19:30", "завтра после 6 вечера"])
def test_parsed_phrases_survive_the_session_json(text: str) -> None:
    c = when(text)
    restored = constraint_from_json(json.loads(json.dumps(constraint_to_json(c))))
    assert restored == replace(c, out_of_window=False, rejected=())


def test_nothing_said_is_stored_as_nothing() -> None:
    assert constraint_to_json(None) is None
    assert constraint_to_json(TimeConstraint(rejected=("bad_time",))) is None
    assert constraint_from_json(None) is None
    assert constraint_from_json({}) is None


# ---- merging what the client says over several messages -----------------------------------------


def test_new_time_keeps_the_day() -> None:
    merged = merge_constraints(when("в пятницу"), when("в 19"))
    assert merged == TimeConstraint(dates=frozenset({dt.date(2026, 12, 4)}), times=frozenset({dt.time(19)}))


def test_new_day_keeps_the_time() -> None:
    merged = merge_constraints(when("завтра в 18:00"), when("в пятницу"))
    assert merged == TimeConstraint(dates=frozenset({dt.date(2026, 12, 4)}), times=frozenset({dt.time(18)}))


def test_same_kind_replaces() -> None:
    # "нет, на 19" after 18:00 on Thursday: Thursday at 19:00, not 18:00 or both.
    merged = merge_constraints(when("в четверг в 18:00"), when("нет, на 19"))
    assert merged is not None
    assert merged.times == frozenset({dt.time(19)})
    assert merged.dates == frozenset({dt.date(2026, 12, 3)})
    # A time of day replaces an exact time too: both are "when in the day".
    evening = merge_constraints(when("в четверг в 18:00"), when("лучше вечером"))
    assert evening is not None and evening.times is None and evening.time_range == (dt.time(17), dt.time(23))


def test_a_new_day_of_another_kind_drops_the_old_day() -> None:
    # "по пн/ср" then "на выходных": the weekend, not weekend ∩ Mon/Wed (which is nothing).
    merged = merge_constraints(when("пн/ср 19:30"), when("на выходных"))
    assert merged is not None
    assert merged.weekdays is None
    assert merged.date_range == (dt.date(2026, 12, 5), dt.date(2026, 12, 6))
    assert merged.times == frozenset({dt.time(19, 30)})


def test_earliest_only_follows_the_day() -> None:
    wednesday_at_19 = merge_constraints(when("в среду"), when("в 19"))
    assert wednesday_at_19 is not None and wednesday_at_19.earliest_only
    friday = merge_constraints(when("в среду"), when("в пятницу"))
    assert friday is not None and not friday.earliest_only


def test_nothing_new_keeps_the_old() -> None:
    old = when("в пятницу")
    assert merge_constraints(old, None) == old
    assert merge_constraints(old, TimeConstraint(rejected=("bad_time",))) == old
    assert merge_constraints(None, old) == old
    assert merge_constraints(TimeConstraint(), old) == old
