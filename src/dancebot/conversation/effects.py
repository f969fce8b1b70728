"""Effects: what a turn asks the outside world to do, as data (PRODUCT.md §5).

Actions never do I/O themselves beyond read-only CRM queries; they return effects, and the runner
(`runner.py`) performs them. An effect whose outcome matters (a booking, a series, a cancel) comes back as
the next event, carrying its data in an `Outcome`, and goes through the FSM table like any message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from dancebot.conversation.session import Profile
from dancebot.conversation.states import Event
from dancebot.crm.booking import BookingResult
from dancebot.crm.models import Occurrence

__all__ = [
    "AdminText",
    "AlertAdmin",
    "Book",
    "BookSeries",
    "BookingOutcome",
    "Cancel",
    "CancelOutcome",
    "DropReminders",
    "Effect",
    "Outcome",
    "RecordFallback",
    "SaveProfile",
    "ScheduleReminders",
    "SeriesOutcome",
    "VerifyBooking",
    "booking_event",
]

FallbackKind = Literal["booking", "cancel", "verify", "l3", "question"]


# ---- effects ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Book:
    """Book one class exactly once; its outcome comes back as CRM_OK / _DUPLICATE / _REJECTED / _UNAVAILABLE.

    `llm_down` (here, on `BookSeries` and on `Cancel`): the turn that asked was in degradation L2, so an
    outcome that finds the CRM down is answered as L3 (PRODUCT.md §9.3); the outcome carries it back."""

    occurrence: Occurrence
    name: str
    phone: str
    llm_down: bool = False


@dataclass(frozen=True)
class BookSeries:
    """Book each class of a series; the results come back as SERIES_DONE."""

    occurrences: tuple[Occurrence, ...]
    name: str
    phone: str
    llm_down: bool = False


@dataclass(frozen=True)
class Cancel:
    """Cancel a reservation; comes back as CANCEL_DONE or CANCEL_FAILED with the same `line` and `key`."""

    reservation_id: int
    occurrence_id: str
    phone: str
    line: str  # how the client recognises the class
    key: str = "cancelled"  # the catalogue text that confirms it ("rescheduled" after a reschedule)
    llm_down: bool = False


@dataclass(frozen=True)
class ScheduleReminders:
    """T−24 h and T−2 h; `phone` is the one booked with, so the worker re-checks that very reservation."""

    occurrence: Occurrence
    name: str
    lang: str
    phone: str | None = None


@dataclass(frozen=True)
class VerifyBooking:
    """After an unknown outcome: re-read the CRM later (worker), then the receipt or the admin."""

    occurrence: Occurrence
    name: str
    phone: str
    lang: str


@dataclass(frozen=True)
class DropReminders:
    occurrence_id: str


@dataclass(frozen=True)
class RecordFallback:
    """A request the administrator completes by hand (degradation L1): queue item, row, alert."""

    kind: FallbackKind
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertAdmin:
    """A message to the administrators' chat. With a `cause` it goes through the one de-duplicated alert
    mechanism (`outbound.alerts`: one per cause per 10 minutes); without, it is part of the turn's replies."""

    text: str
    purpose: Literal["alert", "handoff", "relay"] = "alert"
    cause: str | None = None


@dataclass(frozen=True)
class SaveProfile:
    profile: Profile


Effect = (
    Book
    | BookSeries
    | Cancel
    | ScheduleReminders
    | DropReminders
    | VerifyBooking
    | RecordFallback
    | AlertAdmin
    | SaveProfile
)


# ---- outcomes: the data a system event carries -----------------------------------------------------------


@dataclass(frozen=True)
class BookingOutcome:
    status: str  # booked / duplicate / rejected / unavailable / unknown
    reason: str | None = None
    llm_down: bool = False  # the booking's `Book.llm_down`


@dataclass(frozen=True)
class SeriesOutcome:
    results: tuple[BookingResult, ...]
    llm_down: bool = False  # the series' `BookSeries.llm_down`


@dataclass(frozen=True)
class CancelOutcome:
    request: Cancel
    reason: str | None = None  # why it failed

    @property
    def llm_down(self) -> bool:
        return self.request.llm_down


@dataclass(frozen=True)
class AdminText:
    text: str


Outcome = BookingOutcome | SeriesOutcome | CancelOutcome | AdminText

_BOOKING_EVENTS = {
    "booked": Event.CRM_OK,
    "duplicate": Event.CRM_DUPLICATE,
    "rejected": Event.CRM_REJECTED,
    "unknown": Event.CRM_UNVERIFIED,
}


def booking_event(outcome: BookingOutcome) -> Event:
    """The one place a booking's result becomes an event. "unknown" (the create may have landed) is
    verified later; anything else unclear means the CRM is unavailable and nothing was created."""
    return _BOOKING_EVENTS.get(outcome.status, Event.CRM_UNAVAILABLE)
