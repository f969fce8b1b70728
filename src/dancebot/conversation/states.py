"""The conversation's states and events (PRODUCT.md §5): the vocabulary of the FSM table.

States are the contract's, less BOOKING_DONE: the receipt is the moment a booking is done, and the
session rests in IDLE right after it (docs/DECISIONS.md). Events come from understanding (a client's
message) or from the system (the CRM's answer to an effect, a timeout, the administrator).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["BOOKING_STATES", "SYSTEM_EVENTS", "Event", "State"]


class State(StrEnum):
    IDLE = "IDLE"
    COLLECTING_INTENT = "COLLECTING_INTENT"
    BROWSING_SCHEDULE = "BROWSING_SCHEDULE"
    COLLECTING_GROUP = "COLLECTING_GROUP"
    COLLECTING_DATETIME = "COLLECTING_DATETIME"
    COLLECTING_CONTACT = "COLLECTING_CONTACT"
    CONFIRM_BOOKING = "CONFIRM_BOOKING"
    BOOKING_IN_PROGRESS = "BOOKING_IN_PROGRESS"
    CANCEL_FLOW = "CANCEL_FLOW"
    SERIAL_BOOKING = "SERIAL_BOOKING"
    HANDOFF_TO_ADMIN = "HANDOFF_TO_ADMIN"
    ADMIN_RESPONDING = "ADMIN_RESPONDING"


class Event(StrEnum):
    # from understanding
    BOOKING = "booking"
    SERIAL_BOOKING = "serial_booking"
    CANCEL = "cancel"
    MY_BOOKINGS = "my_bookings"
    SCHEDULE = "schedule"
    PRICE = "price"
    INFO = "info"
    LATENESS = "lateness"
    GREETING = "greeting"
    THANKS = "thanks"
    ADMIN = "admin"
    YES = "yes"
    NO = "no"
    SLOTS = "slots"  # slot values with no other intent: an answer to the pending question
    PICK = "pick"  # a button or a number choosing one of the offered options
    ABORT = "abort"  # "передумал", "отмена": leave the current flow
    UNKNOWN = "unknown"
    FREEZE = "freeze"  # a subscription freeze: its reason and dates are collected, then the admin takes over
    COMPLAINT = "complaint"  # a complaint or a refund: straight to the admin
    # from the system: the outcome of an effect, a timeout, the administrator
    CRM_OK = "crm_ok"
    CRM_DUPLICATE = "crm_duplicate"
    CRM_REJECTED = "crm_rejected"
    CRM_UNAVAILABLE = "crm_unavailable"
    CRM_UNVERIFIED = "crm_unverified"  # the booking's outcome is unknown: it is verified later, never re-sent
    SERIES_DONE = "series_done"  # every class of a series has its result
    CANCEL_DONE = "cancel_done"  # the CRM cancelled a reservation
    CANCEL_FAILED = "cancel_failed"  # it could not: the admin gets the request
    TIMEOUT_REPROMPT = "timeout_reprompt"
    TIMEOUT_EXPIRE = "timeout_expire"
    ADMIN_REPLY = "admin_reply"
    ADMIN_CLOSE = "admin_close"


BOOKING_STATES = (State.COLLECTING_GROUP, State.COLLECTING_DATETIME, State.COLLECTING_CONTACT, State.CONFIRM_BOOKING)
SYSTEM_EVENTS = frozenset(
    {
        Event.CRM_OK,
        Event.CRM_DUPLICATE,
        Event.CRM_REJECTED,
        Event.CRM_UNAVAILABLE,
        Event.CRM_UNVERIFIED,
        Event.SERIES_DONE,
        Event.CANCEL_DONE,
        Event.CANCEL_FAILED,
        Event.TIMEOUT_REPROMPT,
        Event.TIMEOUT_EXPIRE,
        Event.ADMIN_REPLY,
        Event.ADMIN_CLOSE,
    }
)
