"""Pydantic models of the knowledge base `knowledge/studio.yaml`, schema 1.0 (PRODUCT.md §8).

Types are strict on purpose: the file is edited by hand, and a price typed as "700" or a CRM id as
1.0 is a mistake worth stopping the start-up for, not something to coerce silently. Dates stay lax
so that both `2026-12-12` and `"2026-12-12"` work.

Every problem carries its location, so the loader can print `teachers[2].styles[0]`-style paths:
field errors come from pydantic, cross-reference errors are raised as a `ValidationError` with exact
locations, and `rating` keys under `teachers` are merged with all other errors instead of hiding them.
Unknown keys are ignored here; the loader reports them as warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "SUPPORTED_SCHEMA_VERSIONS",
    "BookingSettings",
    "Branch",
    "Escalation",
    "FaqEntry",
    "Holiday",
    "KnowledgeBase",
    "Policies",
    "Service",
    "StickerRules",
    "Studio",
    "Subscription",
    "Teacher",
    "Tone",
]

SUPPORTED_SCHEMA_VERSIONS: tuple[str, ...] = ("1.0",)
RATING_MESSAGE = "ratings of teachers are not allowed (PRODUCT.md §8)"

Loc = tuple[str | int, ...]
NonEmptyStr = Annotated[str, Field(min_length=1)]
LaxDate = Annotated[date, Field(strict=False)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="ignore", validate_by_alias=True, validate_by_name=True)


def _error(kind: str, message: str, loc: Loc, value: Any) -> InitErrorDetails:
    # No context is passed, so pydantic leaves any braces in the message alone.
    return InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)


class Branch(_Model):
    id: NonEmptyStr
    name: NonEmptyStr
    address: str
    crm_branch_id: int
    aliases: list[str]


class Studio(_Model):
    name: NonEmptyStr
    phone: str
    timezone: str
    branches: list[Branch] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _real_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"unknown time zone {value!r}; use an IANA name such as 'Asia/Vladivostok'"
            raise PydanticCustomError("unknown_timezone", message) from None
        return value


class Tone(_Model):
    language: Literal["ru", "en"]
    pronoun: Literal["ты", "вы"]
    style_notes: str
    allowed_emoji: list[str]


class Service(_Model):
    """A dance style (direction) as clients see it; `crm_style_ids` link it to CRM classes."""

    id: NonEmptyStr
    name: NonEmptyStr
    description: str
    aliases: list[str]
    crm_style_ids: list[int]
    price_single: int = Field(ge=0)
    level: str


class Teacher(_Model):
    id: NonEmptyStr
    name: NonEmptyStr
    aliases: list[str]
    styles: list[str]
    bio: str
    crm_teacher_id: int | None = None


class FaqEntry(_Model):
    q: NonEmptyStr
    a: NonEmptyStr
    keywords: list[str]


class Holiday(_Model):
    """Days without classes, both ends inclusive."""

    from_: LaxDate = Field(alias="from")
    to: LaxDate
    name: NonEmptyStr
    message: str

    @model_validator(mode="after")
    def _ordered(self) -> Holiday:
        if self.to < self.from_:
            message = f"holiday ends ({self.to}) before it starts ({self.from_})"
            raise ValidationError.from_exception_data(
                type(self).__name__, [_error("date_order", message, ("to",), self.to.isoformat())]
            )
        return self

    def covers(self, day: date) -> bool:
        return self.from_ <= day <= self.to


class Escalation(_Model):
    triggers: list[str]


class Subscription(_Model):
    name: NonEmptyStr
    price: int = Field(ge=0)
    classes: int = Field(ge=-1, description="-1 means unlimited")
    validity_days: int = Field(ge=1)

    @property
    def unlimited(self) -> bool:
        return self.classes == -1


class Policies(_Model):
    late_cancel_hours: int = Field(default=4, ge=0)
    what_to_bring: str = ""
    late_arrival: str = ""


class BookingSettings(_Model):
    lookahead_days: int = Field(default=14, ge=1)
    max_serial: int = Field(default=5, ge=1)


DEFAULT_STICKERS: dict[str, tuple[str, ...]] = {
    "closed": ("НЕЛЬЗ", "ЗАКРЫТ"),
    "cancelled": ("ВЫХОДНОЙ",),
    "open": ("МОЖНО ПРИСОЕДИНИТЬСЯ",),
}


def _sticker_key(pattern: str) -> str:
    """How two patterns are compared: case and spacing do not matter (the classifier casefolds)."""
    return " ".join(pattern.split()).casefold()


class StickerRules(_Model):
    """Substrings of CRM class stickers (matched case-insensitively by callers) that change bookability.

    The studio's lists **extend** the defaults (PRODUCT.md §7.1: "the studio can extend it"), category by
    category: `closed: ["СТОП-ЗАПИСЬ"]` adds one pattern and keeps "НЕЛЬЗ" and "ЗАКРЫТ", so writing one
    sticker never makes the default closed classes bookable. The studio's patterns come first, then the
    defaults it did not repeat; patterns equal up to case and spacing count once, and blank ones are dropped.

    A default the studio files under another category follows the studio: `closed: ["выходной"]` removes
    "ВЫХОДНОЙ" from `cancelled`, so those classes are closed, not cancelled. That is also the only way to
    turn a default off (e.g. `open: ["ЗАКРЫТ"]`); a pattern the studio itself lists twice is left to the
    classifier's order (cancelled, then closed, then open).
    """

    closed: list[str] = Field(default_factory=lambda: list(DEFAULT_STICKERS["closed"]))
    cancelled: list[str] = Field(default_factory=lambda: list(DEFAULT_STICKERS["cancelled"]))
    open: list[str] = Field(default_factory=lambda: list(DEFAULT_STICKERS["open"]))

    @model_validator(mode="after")
    def _extend_defaults(self) -> StickerRules:
        own = {category: list(getattr(self, category)) for category in DEFAULT_STICKERS}
        claimed = {_sticker_key(p) for patterns in own.values() for p in patterns}
        for category, defaults in DEFAULT_STICKERS.items():
            merged: list[str] = []
            seen: set[str] = set()
            for pattern in own[category]:
                key = _sticker_key(pattern)
                if key and key not in seen:
                    merged.append(pattern.strip())
                    seen.add(key)
            merged += [p for p in defaults if _sticker_key(p) not in claimed]
            # Frozen model: set the validated instance's own field once, before anyone can see it.
            object.__setattr__(self, category, merged)
        return self


class KnowledgeBase(_Model):
    schema_version: Literal["1.0"]
    studio: Studio
    tone: Tone
    services: list[Service] = Field(min_length=1)
    teachers: list[Teacher]
    faq: list[FaqEntry]
    holidays: list[Holiday]
    escalation: Escalation
    subscriptions: list[Subscription] = Field(default_factory=list)
    policies: Policies = Field(default_factory=Policies)
    booking: BookingSettings = Field(default_factory=BookingSettings)
    stickers: StickerRules = Field(default_factory=StickerRules)
    messages: dict[str, str] = Field(default_factory=dict)

    # Defined before the wrap validator below, which must run outermost to see these errors too.
    @model_validator(mode="after")
    def _cross_references(self) -> KnowledgeBase:
        branches = self.studio.branches
        problems = [
            *_duplicates(("studio", "branches"), "id", (b.id for b in branches)),
            *_duplicates(("studio", "branches"), "crm_branch_id", (b.crm_branch_id for b in branches)),
            *_duplicates(("services",), "id", (s.id for s in self.services)),
            *_duplicates(("teachers",), "id", (t.id for t in self.teachers)),
            *_duplicates(("teachers",), "crm_teacher_id", (t.crm_teacher_id for t in self.teachers)),
            *self._unclaimed_style_ids(),
            *self._unknown_teacher_styles(),
        ]
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self

    @field_validator("schema_version", mode="before")
    @classmethod
    def _supported_version(cls, value: Any) -> Any:
        if value in SUPPORTED_SCHEMA_VERSIONS:
            return value
        supported = ", ".join(f'"{v}"' for v in SUPPORTED_SCHEMA_VERSIONS)
        if isinstance(value, str):
            message = f"unsupported schema_version {value!r}; supported: {supported}"
        else:
            message = f"schema_version must be a quoted string ({supported}), got {value!r}"
        raise PydanticCustomError("unsupported_schema_version", message)

    @model_validator(mode="wrap")
    @classmethod
    def _no_teacher_ratings(cls, data: Any, handler: Callable[[Any], KnowledgeBase]) -> KnowledgeBase:
        """Report `rating` keys together with every other error, so one run shows all problems."""
        teachers = data.get("teachers") if isinstance(data, dict) else None
        ratings = [_error("rating_forbidden", RATING_MESSAGE, loc, v) for loc, v in _ratings(teachers)]
        if not ratings:
            return handler(data)
        try:
            handler(data)
        except ValidationError as exc:
            ratings = [*(_error(e["type"], e["msg"], e["loc"], e["input"]) for e in exc.errors()), *ratings]
        raise ValidationError.from_exception_data(cls.__name__, ratings)

    def _unknown_teacher_styles(self) -> Iterator[InitErrorDetails]:
        known = {s.id for s in self.services}
        for i, teacher in enumerate(self.teachers):
            for j, style in enumerate(teacher.styles):
                if style not in known:
                    message = f"unknown service id {style!r}; known: {', '.join(sorted(known))}"
                    yield _error("unknown_service", message, ("teachers", i, "styles", j), style)

    def _unclaimed_style_ids(self) -> Iterator[InitErrorDetails]:
        """One CRM style, one service: an error, not a warning, because the conversation maps a CRM class
        back to exactly one service (`service_by_crm_style_id` → `conversation.slots.style_of`, compared
        with `==` by `filter_occurrences`). A second service on the same style would never find a class:
        "хочу на Heels для начинающих" would hear "no classes" while the schedule has them."""
        owner: dict[int, str] = {}
        for i, service in enumerate(self.services):
            for j, style_id in enumerate(service.crm_style_ids):
                if style_id in owner and owner[style_id] != service.id:
                    message = (
                        f"CRM style {style_id} already belongs to service {owner[style_id]!r}; one CRM style can "
                        f"link to one service only: make {service.name!r} an alias of {owner[style_id]!r}, or "
                        "give its classes their own style in the CRM"
                    )
                    yield _error("duplicate", message, ("services", i, "crm_style_ids", j), style_id)
                owner.setdefault(style_id, service.id)

    # Lookups return None for a miss: CRM data may mention styles/teachers the KB does not describe.
    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def teacher(self, teacher_id: str) -> Teacher | None:
        return next((t for t in self.teachers if t.id == teacher_id), None)

    def branch(self, branch_id: str) -> Branch | None:
        return next((b for b in self.studio.branches if b.id == branch_id), None)

    def branch_by_crm_id(self, crm_branch_id: int) -> Branch | None:
        return next((b for b in self.studio.branches if b.crm_branch_id == crm_branch_id), None)

    def service_by_crm_style_id(self, crm_style_id: int) -> Service | None:
        return next((s for s in self.services if crm_style_id in s.crm_style_ids), None)

    def teacher_by_crm_id(self, crm_teacher_id: int) -> Teacher | None:
        return next((t for t in self.teachers if t.crm_teacher_id == crm_teacher_id), None)

    def holiday_on(self, day: date) -> Holiday | None:
        return next((h for h in self.holidays if h.covers(day)), None)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.studio.timezone)

    def prices(self) -> set[int]:
        """Every price the studio states; LLM text may quote no other amount (policy enforcer)."""
        return {s.price_single for s in self.services} | {s.price for s in self.subscriptions}


def _duplicates(list_loc: Loc, key: str, values: Iterable[Hashable]) -> Iterator[InitErrorDetails]:
    seen: set[Hashable] = set()
    for i, value in enumerate(values):
        if value is None:
            continue
        if value in seen:
            yield _error("duplicate", f"duplicate {key} {value!r}", (*list_loc, i, key), value)
        seen.add(value)


def _ratings(node: Any, loc: Loc = ("teachers",)) -> Iterator[tuple[Loc, Any]]:
    """Locations of `rating` keys at any depth of the raw `teachers` data."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "rating":
                yield (*loc, key), value
            else:
                yield from _ratings(value, (*loc, str(key)))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _ratings(item, (*loc, i))
