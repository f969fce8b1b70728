"""Booking slots against real data (PRODUCT.md §5.1): which occurrences fit what the client has said.

Pure functions over CRM occurrences and the KB; no I/O. A slot is never filled with something that is
not a bookable occurrence: the group narrows to a KB style (via CRM style ids), the datetime to exactly
one occurrence id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

from dancebot.crm.models import Occurrence
from dancebot.kb import KnowledgeBase
from dancebot.kb.schema import Teacher
from dancebot.understanding.entities import resolve_teachers
from dancebot.understanding.temporal import TimeConstraint

__all__ = [
    "branch_of",
    "constraint_from_json",
    "constraint_to_json",
    "filter_occurrences",
    "kb_teacher",
    "style_of",
    "styles_in",
    "teacher_of",
]


def style_of(occ: Occurrence, kb: KnowledgeBase) -> str | None:
    service = kb.service_by_crm_style_id(occ.style_id) if occ.style_id is not None else None
    return service.id if service else None


def teacher_of(occ: Occurrence, kb: KnowledgeBase) -> str | None:
    teacher = kb_teacher(occ, kb)
    return teacher.id if teacher else None


_BY_NAME: dict[int, tuple[KnowledgeBase, dict[str, str | None]]] = {}


def kb_teacher(occ: Occurrence, kb: KnowledgeBase) -> Teacher | None:
    """The KB teacher of a class: by `crm_teacher_id` when the KB has it, else by the CRM's teacher name
    matched to the KB names and aliases (lemmas, fuzzy) — PRODUCT.md §8: teacher questions work either way.
    An ambiguous name matches nobody rather than the wrong person."""
    if occ.teacher_id is not None and (by_id := kb.teacher_by_crm_id(occ.teacher_id)) is not None:
        return by_id
    name = occ.teacher_name.strip()
    if not name:
        return None
    owner, names = _BY_NAME.get(id(kb), (None, {}))
    if owner is not kb:
        names = {}
        _BY_NAME[id(kb)] = (kb, names)
    if name not in names:
        matches = resolve_teachers(name, kb)
        clear = len(matches) == 1 or (len(matches) > 1 and matches[0].score > matches[1].score)
        names[name] = matches[0].id if matches and clear else None
    found = names[name]
    return kb.teacher(found) if found else None


def branch_of(occ: Occurrence, kb: KnowledgeBase) -> str | None:
    branch = kb.branch_by_crm_id(occ.branch_crm_id) if occ.branch_crm_id is not None else None
    return branch.id if branch else None


def filter_occurrences(
    occurrences: Iterable[Occurrence],
    kb: KnowledgeBase,
    *,
    style: str | None = None,
    teacher: str | None = None,
    branch: str | None = None,
    when: TimeConstraint | None = None,
    bookable_only: bool = True,
) -> list[Occurrence]:
    """Occurrences matching every known slot, earliest first (`earliest_only` honoured)."""
    hits = [
        o
        for o in occurrences
        if (not bookable_only or o.is_bookable)
        and (style is None or style_of(o, kb) == style)
        and (teacher is None or teacher_of(o, kb) == teacher)
        and (branch is None or branch_of(o, kb) == branch)
        and (when is None or when.is_empty or when.matches(o.start))
    ]
    hits.sort(key=lambda o: o.start)
    if when is not None and when.earliest_only and hits:
        first_day = hits[0].start.date()
        hits = [o for o in hits if o.start.date() == first_day]
    return hits


def styles_in(occurrences: Sequence[Occurrence], kb: KnowledgeBase) -> list[str]:
    """KB style ids of the occurrences, in order of their nearest class."""
    seen: list[str] = []
    for occ in occurrences:
        sid = style_of(occ, kb)
        if sid and sid not in seen:
            seen.append(sid)
    return seen


def constraint_to_json(c: TimeConstraint | None) -> dict[str, Any] | None:
    if c is None or c.is_empty:
        return None
    return {
        "dates": sorted(d.isoformat() for d in c.dates) if c.dates is not None else None,
        "date_range": [d.isoformat() for d in c.date_range] if c.date_range else None,
        "weekdays": sorted(c.weekdays) if c.weekdays is not None else None,
        "times": sorted(t.strftime("%H:%M") for t in c.times) if c.times is not None else None,
        "time_range": [t.strftime("%H:%M") for t in c.time_range] if c.time_range else None,
        "earliest_only": c.earliest_only,
    }


def constraint_from_json(data: dict[str, Any] | None) -> TimeConstraint | None:
    if not data:
        return None

    def _t(s: str) -> time:
        return datetime.strptime(s, "%H:%M").time()

    return TimeConstraint(
        dates=frozenset(date.fromisoformat(d) for d in data["dates"]) if data.get("dates") is not None else None,
        date_range=(date.fromisoformat(data["date_range"][0]), date.fromisoformat(data["date_range"][1]))
        if data.get("date_range")
        else None,
        weekdays=frozenset(data["weekdays"]) if data.get("weekdays") is not None else None,
        times=frozenset(_t(t) for t in data["times"]) if data.get("times") is not None else None,
        time_range=(_t(data["time_range"][0]), _t(data["time_range"][1])) if data.get("time_range") else None,
        earliest_only=bool(data.get("earliest_only")),
    )


def merge_constraints(old: TimeConstraint | None, new: TimeConstraint | None) -> TimeConstraint | None:
    """A new day keeps an old time and vice versa ("в пятницу" then "в 19" → Friday at 19:00); a new
    value of the same kind replaces the old one ("нет, на 19" replaces 18:00)."""
    if new is None or new.is_empty:
        return old
    if old is None or old.is_empty:
        return new
    new_has_day = any(p is not None for p in (new.dates, new.date_range, new.weekdays))
    new_has_time = any(p is not None for p in (new.times, new.time_range))
    return TimeConstraint(
        dates=new.dates if new_has_day else old.dates,
        date_range=new.date_range if new_has_day else old.date_range,
        weekdays=new.weekdays if new_has_day else old.weekdays,
        times=new.times if new_has_time else old.times,
        time_range=new.time_range if new_has_time else old.time_range,
        earliest_only=new.earliest_only if new_has_day else old.earliest_only,
    )
