"""Every Redis key the project uses, in one place (arq keeps its prefixes together for the same reason).

Keys are built by functions so that a typo is a NameError, not a silent second key space.
"""

from __future__ import annotations

__all__ = [
    "ADMIN_LISTING",
    "AUDIT_QUEUE",
    "AUDIT_REJECTED",
    "DEAD_LETTERS",
    "FALLBACK_QUEUE",
    "FALLBACK_RESOLVED",
    "INBOX_READY",
    "OUTBOUND_BAD",
    "OUTBOUND_CHAT_PREFIX",
    "OUTBOUND_DELAYED",
    "OUTBOUND_INFLIGHT",
    "OUTBOUND_OWNER",
    "OUTBOUND_PROCESSING",
    "OUTBOUND_QUEUE",
    "OUTBOUND_READY",
    "OUTBOUND_SENT_PREFIX",
    "OUTBOUND_WAKE",
    "RATE_PREFIX",
    "REMINDERS",
    "SESSION_INDEX",
    "VERIFY",
    "WORKER_ALIVE_PREFIX",
]

OUTBOUND_QUEUE = "queue:outbound"  # list of JSON jobs, LPUSH by every producer, routed by a worker from the right
OUTBOUND_WAKE = "queue:outbound:wake"  # a token producers push after jobs; idle workers block on it
OUTBOUND_READY = "queue:outbound:ready"  # ZSET "{channel}:{chat}" -> when that chat may send its next job
OUTBOUND_INFLIGHT = "queue:outbound:inflight"  # HASH "{channel}:{chat}" -> the job a worker is sending
OUTBOUND_BAD = "queue:outbound:bad"  # jobs that are not valid JSON jobs, set aside for a human
DEAD_LETTERS = "queue:outbound:dead"  # HASH job id -> the job, its error and attempts (`dancebot dlq`)
OUTBOUND_PROCESSING = "queue:outbound:processing"  # before per-chat queues: what a worker held (drained at start)
OUTBOUND_DELAYED = "queue:outbound:delayed"  # before per-chat queues: retries (drained at start)
# Prefixes the worker's Lua scripts complete themselves (a chat's queue, its rate state, a sent mark, a heartbeat)
OUTBOUND_CHAT_PREFIX = "queue:outbound:chat:"
OUTBOUND_SENT_PREFIX = "queue:outbound:sent:"
RATE_PREFIX = "ratelimit:"
WORKER_ALIVE_PREFIX = "worker:alive:"
OUTBOUND_OWNER = "queue:outbound:owner"  # HASH "{channel}:{chat}" -> the worker sending its in-flight job
INBOX_READY = "inbox:ready"  # ZSET "{channel}:{chat}" -> since when its buffer holds accepted messages
AUDIT_QUEUE = "queue:audit"  # Postgres rows waiting to be written (survives a Postgres outage)
AUDIT_REJECTED = "queue:audit:rejected"  # rows Postgres refused (too long, NULL…), set aside for a human
FALLBACK_QUEUE = "queue:fallback"  # booking requests the admin must handle by hand
FALLBACK_RESOLVED = "queue:fallback:resolved"  # requests the admin marked done (/done), for their Postgres rows
ADMIN_LISTING = "admin:requests:listing"  # HASH N -> the request shown as N by the admin's last /requests
REMINDERS = "reminders"  # ZSET reminder job -> due unix time
VERIFY = "verify"  # ZSET verification job of a booking with an unknown outcome -> due unix time
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
    """The chat's inbox: every accepted message waits here, in order, until its turn has run."""
    return f"buffer:{channel}:{chat_id}"


def inbox_done(channel: str, chat_id: int | str, dedup_id: str) -> str:
    """Set in the same script that commits a message's turn: the message is never handled twice."""
    return f"inbox:done:{channel}:{chat_id}:{dedup_id}"


def inbox_turn(channel: str, chat_id: int | str) -> str:
    """The message whose turn is running (set before it, removed by its commit): survives a crash."""
    return f"inbox:turn:{channel}:{chat_id}"


def inbox_failures(channel: str, chat_id: int | str, dedup_id: str) -> str:
    return f"inbox:failed:{channel}:{chat_id}:{dedup_id}"


def outbound_chat(channel: str, chat_id: int | str) -> str:
    """One chat's outbound jobs in order; only one of them is ever being sent (OUTBOUND_INFLIGHT)."""
    return f"{OUTBOUND_CHAT_PREFIX}{channel}:{chat_id}"


def outbound_sent(job_id: str) -> str:
    """Set when a job was delivered: a second copy of the job (a retried push, a re-run chore) is dropped."""
    return f"{OUTBOUND_SENT_PREFIX}{job_id}"


def worker_alive(worker_id: str) -> str:
    """A worker's heartbeat; the jobs of a worker whose heartbeat expired are taken back."""
    return f"{WORKER_ALIVE_PREFIX}{worker_id}"


def rate_limit(channel: str, chat_id: int | str | None = None) -> str:
    """The GCRA state (theoretical arrival time) of a channel, or of one chat of it."""
    return f"{RATE_PREFIX}{channel}" if chat_id is None else f"{RATE_PREFIX}{channel}:{chat_id}"


def daily_job(name: str, day: str) -> str:
    """Claimed (SET NX) by the one worker that runs a daily job on that day."""
    return f"daily:{name}:{day}"


def idempotency(fingerprint: str) -> str:
    return f"idempotency:{fingerprint}"


def cache(name: str) -> str:
    return f"cache:{name}"


def alert_sent(cause: str) -> str:
    return f"alert:{cause}"


def last_trace(channel: str, chat_id: int | str) -> str:
    """Test mode: the trace id of the chat's last message, for `/trace` without an id."""
    return f"testmode:trace:{channel}:{chat_id}"


def reminder_index(channel: str, chat_id: int | str, occurrence_id: str) -> str:
    """The reminder jobs of one booking, so that cancelling it can remove them."""
    return f"reminders:{channel}:{chat_id}:{occurrence_id}"


def budget_counter(limit: str, window_start: int) -> str:
    """One LLM budget counter (tokens, cost, requests, errors) for the window starting at that unix time."""
    return f"budget:{limit}:{window_start}"


def budget_alert(limit: str, window_start: int) -> str:
    """Set (NX) when the admin was told of a breach of `limit` in that window: one alert per window."""
    return f"budget:alert:{limit}:{window_start}"
