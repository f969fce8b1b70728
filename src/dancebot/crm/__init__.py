"""Impulse CRM layer: typed client, errors, models and occurrence expansion (the fake lives in `.fake`)."""

from dancebot.crm.client import CallRecord, CRMHealth, ImpulseClient, RateLimiter
from dancebot.crm.errors import (
    CRMAuthError,
    CRMError,
    CRMProtocolError,
    CRMRejected,
    CRMUnavailable,
    CRMUnknownOutcome,
    RejectReason,
)
from dancebot.crm.models import (
    Client,
    Group,
    Occurrence,
    Reservation,
    ScheduleTemplate,
    Teacher,
    normalize_phone,
)
from dancebot.crm.occurrences import DateConvention, expand, occurrence_id, reservation_day, reservation_ts

__all__ = [
    "CRMAuthError",
    "CRMError",
    "CRMHealth",
    "CRMProtocolError",
    "CRMRejected",
    "CRMUnavailable",
    "CRMUnknownOutcome",
    "CallRecord",
    "Client",
    "DateConvention",
    "Group",
    "ImpulseClient",
    "Occurrence",
    "RateLimiter",
    "RejectReason",
    "Reservation",
    "ScheduleTemplate",
    "Teacher",
    "expand",
    "normalize_phone",
    "occurrence_id",
    "reservation_day",
    "reservation_ts",
]
