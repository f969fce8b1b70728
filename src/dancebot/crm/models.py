"""Typed Impulse CRM records (wire models) and the domain objects built from them.

Wire models mirror PRODUCT.md §7.1 in snake_case with camelCase aliases. They are frozen, ignore nothing
(`extra="allow"`, so a template can be sent back to the CRM as received) and tolerate missing optional
parts (`branch` is sometimes absent, `sticker` may be null). `Occurrence` and `Reservation` are the
domain view the conversation engine works with.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "BookedClass",
    "Branch",
    "Client",
    "Group",
    "Hall",
    "Occurrence",
    "OccurrenceStatus",
    "Reservation",
    "ReservationItem",
    "ScheduleTemplate",
    "Sticker",
    "Style",
    "Teacher",
    "TeacherRef",
    "normalize_phone",
]

OccurrenceStatus = Literal["open", "closed", "cancelled", "new"]


def normalize_phone(raw: object) -> str | None:
    """E.164 for a Russian-region phone written any usual way ("8 (914) …", "79…", "+7…"); else None."""
    if not isinstance(raw, str | int) or not str(raw).strip():
        return None
    return _normalize_phone(str(raw))


@lru_cache(maxsize=4096)
def _normalize_phone(raw: str) -> str | None:  # phonenumbers' parse is costly, and the same phones recur
    try:
        number = phonenumbers.parse(str(raw), "RU")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True, alias_generator=to_camel)


class Style(_Wire):
    id: int
    name: str = ""


class TeacherRef(_Wire):
    id: int
    name: str = ""
    last_name: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.last_name or ''}".strip()


class Teacher(TeacherRef):
    middle_name: str | None = None


class Group(_Wire):
    id: int
    name: str = ""
    style: Style | None = None
    teacher1: TeacherRef | None = None
    place_count: int | None = None
    age: str | int | None = None


class Hall(_Wire):
    id: int
    name: str = ""


class Branch(_Wire):
    id: int
    name: str = ""


class Sticker(_Wire):
    id: int | None = None
    name: str = ""
    color: str | None = None
    icon: str | None = None


class ScheduleTemplate(_Wire):
    """A `schedule/list` item: a weekly slot (`day` 1=Mon…7=Sun) or a one-off (`regular: false`)."""

    id: int
    regular: bool = True
    day: int | None = Field(default=None, ge=1, le=7)
    minutes_begin: int = Field(ge=0, lt=24 * 60)
    minutes_end: int = Field(ge=0, le=24 * 60)
    date_begin: int | None = None
    date_end: int | None = None
    group: Group
    hall: Hall | None = None
    branch: Branch | None = None
    sticker: Sticker | None = None

    def wire(self) -> dict[str, Any]:
        """The template as the CRM sent it (for `time[].schedule` in a reservation)."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class Client(_Wire):
    """A `client/list` item; `phones` holds the valid phones in E.164 whatever format the CRM kept."""

    id: int
    name: str = ""
    last_name: str | None = None
    middle_name: str | None = None
    email: str | None = None
    phone: Any = None
    phones: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _normalise_phones(cls, data: Any) -> Any:
        if isinstance(data, dict):
            raw = data.get("phone")
            values = raw if isinstance(raw, list) else [raw]
            normalised = (normalize_phone(v) for v in values)
            data = {**data, "phones": tuple(dict.fromkeys(p for p in normalised if p))}
        return data

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.name, self.last_name or "") if p)


class _Ref(_Wire):
    id: int


class _ScheduleRef(_Wire):
    id: int
    minutes_begin: int | None = None
    group: Group | None = None


class ReservationItem(_Wire):
    """A `reservation/list` item as the CRM sends it (`date` in unix seconds, see occurrences)."""

    id: int
    client: _Ref
    schedule: _ScheduleRef
    date: int
    deleted: bool = False
    archived: bool = False


class Reservation(BaseModel):
    """An active booking of one client, with the calendar day decoded by the tenant's convention."""

    model_config = ConfigDict(frozen=True)

    id: int
    client_id: int
    schedule_id: int
    day: dt.date
    start: dt.datetime | None
    group_id: int | None
    group_name: str

    @property
    def occurrence_id(self) -> str:
        return f"{self.schedule_id}:{self.day.isoformat()}"


class Occurrence(BaseModel):
    """One concrete class: a template on a date, in the studio's local time."""

    model_config = ConfigDict(frozen=True)

    occurrence_id: str
    schedule_id: int
    date: dt.date
    start: dt.datetime
    end: dt.datetime
    regular: bool
    group_id: int
    group_name: str
    style_id: int | None
    style_name: str
    teacher_id: int | None
    teacher_name: str
    hall_id: int | None
    hall_name: str
    branch_crm_id: int | None
    sticker: str | None
    status: OccurrenceStatus
    places: int | None
    is_bookable: bool


class BookedClass(BaseModel):
    """One of a client's upcoming reservations, with what the client needs to recognise it."""

    model_config = ConfigDict(frozen=True)

    reservation_id: int
    occurrence_id: str
    schedule_id: int
    date: dt.date
    start: dt.datetime | None
    end: dt.datetime | None
    group_name: str
    style_name: str
    teacher_name: str
    branch_crm_id: int | None
    hall_name: str
