"""Typed sessions (PRODUCT.md §12): what an older version stored still loads; what cannot be read is
dropped cleanly and the chat starts afresh, never stuck."""

from __future__ import annotations

import json
from datetime import time

from dancebot.conversation.session import Session, Slots, When
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.understanding.temporal import TimeConstraint

OLD_OCCURRENCE = {
    "occurrence_id": "302:2026-12-03",
    "schedule_id": 302,
    "date": "2026-12-03",
    "start": "2026-12-03T20:00:00+10:00",
    "end": "2026-12-03T21:00:00+10:00",
    "regular": True,
    "group_id": 201,
    "group_name": "High Heels начинающие",
    "style_id": 11,
    "style_name": "High Heels",
    "teacher_id": 101,
    "teacher_name": "Анастасия Ковалёва",
    "hall_id": 23,
    "hall_name": "Зал 1",
    "branch_crm_id": 2,
    "sticker": None,
    "status": "open",
    "places": 12,
    "is_bookable": True,
}
# A CONFIRM_BOOKING session exactly as the untyped version wrote it (dicts, string keys, turn leftovers).
OLD_SESSION = {
    "channel": "telegram",
    "chat_id": 501,
    "state": "CONFIRM_BOOKING",
    "slots": {
        "style": "high_heels",
        "when": {
            "dates": None,
            "date_range": None,
            "weekdays": [3],
            "times": ["20:00"],
            "time_range": None,
            "earliest_only": False,
        },
        "occurrence": OLD_OCCURRENCE,
        "client_name": "Анна",
        "client_phone": "+79141234567",
        "teacher_from_pick": False,
    },
    "state_since": 1.0,
    "updated_at": 1.0,
    "language": "ru",
    "unknown_streak": 0,
    "reprompts": {},
    "pending": {
        "question": "Проверьте, пожалуйста: …",
        "buttons": [[{"text": "Да, записать", "data": "yes"}, {"text": "Нет, изменить", "data": "no"}]],
        "request_contact": False,
        "slot": "confirmation",
        "result": {"status": "booked", "reason": None},
        "admin_text": "old",
    },
    "history": ["запишите на хилс в чт", "Анна 89141234567"],
    "reprompted_confirm": False,
}


async def _store(rt: Runtime, doc: object, chat_id: int) -> None:
    await rt.redis.set(keys.session("telegram", chat_id), json.dumps(doc, ensure_ascii=False))


async def test_a_session_written_by_the_untyped_version_loads_with_its_booking(rt: Runtime) -> None:
    await _store(rt, OLD_SESSION, 501)
    s = await rt.sessions.load("telegram", 501)
    assert s.state == "CONFIRM_BOOKING"
    assert s.slots.occurrence is not None and s.slots.occurrence.occurrence_id == "302:2026-12-03"
    assert s.slots.when == When(weekdays=[3], times=[time(20, 0)])
    assert (s.slots.client_name, s.slots.client_phone) == ("Анна", "+79141234567")
    assert [[b.data for b in row] for row in s.pending.buttons] == [["yes", "no"]]
    assert s.pending.slot == "confirmation" and s.history[-1] == "Анна 89141234567"


async def test_a_session_that_cannot_be_read_is_dropped_and_the_chat_starts_afresh(rt: Runtime) -> None:
    broken = {**OLD_SESSION, "chat_id": 502, "slots": {"occurrence": {"occurrence_id": 5}}, "state_since": "вчера"}
    await _store(rt, broken, 502)
    s = await rt.sessions.load("telegram", 502)
    assert (s.state, s.slots, s.chat_id) == ("IDLE", Slots(), 502)
    await rt.redis.set(keys.session("telegram", 503), b"\xff not json")
    assert (await rt.sessions.load("telegram", 503)).state == "IDLE"


async def test_a_saved_session_round_trips(rt: Runtime) -> None:
    await _store(rt, OLD_SESSION, 501)
    s = await rt.sessions.load("telegram", 501)
    await rt.sessions.save(s)
    again = await rt.sessions.load("telegram", 501)
    assert again.model_dump(exclude={"updated_at"}) == s.model_dump(exclude={"updated_at"})


def test_when_keeps_every_usable_part_of_a_time_constraint() -> None:
    c = TimeConstraint(weekdays=frozenset({3, 5}), times=frozenset({time(19), time(20)}), earliest_only=True)
    when = When.of(c)
    assert when is not None and when.constraint() == c
    assert When.of(TimeConstraint()) is None and When.of(None) is None


def test_unknown_keys_are_ignored_not_fatal() -> None:
    s = Session.model_validate({"channel": "telegram", "chat_id": 1, "slots": {"pick": "x", "holiday": [1, 2]}})
    assert s.slots == Slots()
