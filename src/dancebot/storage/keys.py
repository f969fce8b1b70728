"""Every Redis key the project uses, in one place (arq keeps its prefixes together for the same reason).

Keys are built by functions so that a typo is a NameError, not a silent second key space.
"""

from __future__ import annotations

__all__ = [
    "AUDIT_QUEUE",
    "AUDIT_REJECTED",
    "FALLBACK_QUEUE",
    "OUTBOUND_DELAYED",
    "OUTBOUND_PROCESSING",
    "OUTBOUND_QUEUE",
    "REMINDERS",
    "SESSION_INDEX",
]

OUTBOUND_QUEUE = "queue:outbound"  # list of JSON jobs, LPUSH by the app, BLMOVE by the worker
OUTBOUND_PROCESSING = "queue:outbound:processing"  # what a worker holds; re-queued at start
OUTBOUND_DELAYED = "queue:outbound:delayed"  # ZSET job -> due unix time (retries)
AUDIT_QUEUE = "queue:audit"  # Postgres rows waiting to be written (survives a Postgres outage)
AUDIT_REJECTED = "queue:audit:rejected"  # rows Postgres refused (too long, NULL…), set aside for a human
FALLBACK_QUEUE = "queue:fallback"  # booking requests the admin must handle by hand
REMINDERS = "reminders"  # ZSET reminder job -> due unix time
SESSION_INDEX = "sessions"  # ZSET session key -> last update (for timeout sweeps)


def seen(channel: str, chat_id: int | str, message_id: int | str) -> str:
    """Dedup key: Telegram message ids are unique per chat only, so the chat is part of the key."""
    return f"seen:{channel}:{chat_id}:{message_id}"


def spam(channel: str, chat_id: int | str) -> str:
    return f"spam:{channel}:{chat_id}"


def spam_logged(channel: str, chat_id: int | str) -> str:
    return f"spam:logged:{channel}:{chat_id}"


def lock(channel: str, chat_id: int | str) -> str:
    return f"lock:{channel}:{chat_id}"


def session(channel: str, chat_id: int | str) -> str:
    return f"session:{channel}:{chat_id}"


def profile(channel: str, chat_id: int | str) -> str:
    return f"profile:{channel}:{chat_id}"


def buffer(channel: str, chat_id: int | str) -> str:
    return f"buffer:{channel}:{chat_id}"


def idempotency(fingerprint: str) -> str:
    return f"idempotency:{fingerprint}"


def cache(name: str) -> str:
    return f"cache:{name}"


def alert_sent(cause: str) -> str:
    return f"alert:{cause}"


def reminder_index(channel: str, chat_id: int | str, occurrence_id: str) -> str:
    """The reminder jobs of one booking, so that cancelling it can remove them."""
    return f"reminders:{channel}:{chat_id}:{occurrence_id}"


def budget_counter(limit: str, window_start: int) -> str:
    """One LLM budget counter (tokens, cost, requests, errors) for the window starting at that unix time."""
    return f"budget:{limit}:{window_start}"


def budget_alert(limit: str, window_start: int) -> str:
    """Set (NX) when the admin was told of a breach of `limit` in that window: one alert per window."""
    return f"budget:alert:{limit}:{window_start}"
