"""Test data built the way the CRM layer hands it over (demo studio ids: styles 11–16, teachers 101–105)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dancebot.crm.models import Occurrence, OccurrenceStatus

TZ = ZoneInfo("Asia/Vladivostok")
NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=TZ)
STYLES = {11: "High Heels", 12: "Hip-Hop", 13: "Contemporary", 14: "Сальса", 15: "Стретчинг", 16: "Детские танцы"}
TEACHERS = {
    101: "Анастасия Ковалёва",
    102: "Дмитрий Ли",
    103: "Екатерина Орлова",
    104: "Игорь Ким",
    105: "Ольга Белова",
}


def occ(
    schedule_id: int,
    day: str,
    at: str,
    style_id: int,
    teacher_id: int,
    branch_id: int | None,
    status: OccurrenceStatus = "open",
) -> Occurrence:
    """One class as the CRM layer hands it over (template `schedule_id` on `day` at `at`, local time)."""
    date = dt.date.fromisoformat(day)
    start = dt.datetime.combine(date, dt.time.fromisoformat(at), tzinfo=TZ)
    return Occurrence(
        occurrence_id=f"{schedule_id}:{day}",
        schedule_id=schedule_id,
        date=date,
        start=start,
        end=start + dt.timedelta(hours=1),
        regular=True,
        group_id=200 + style_id,
        group_name=STYLES[style_id],
        style_id=style_id,
        style_name=STYLES[style_id],
        teacher_id=teacher_id,
        teacher_name=TEACHERS.get(teacher_id, "Мария Иванова"),
        hall_id=None,
        hall_name="",
        branch_crm_id=branch_id,
        sticker="НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ" if status == "closed" else None,
        status=status,
        places=12,
        is_bookable=status in ("open", "new"),
    )
