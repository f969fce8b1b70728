"""Alerts to the administrators' chat, one mechanism for every cause (PRODUCT.md §11.1).

An alert is queued unless the same cause was alerted in the last 10 minutes (`SET alert:{cause} NX EX
600`): during an outage the admin gets one message per cause, not one per client, and what it is about
is still recorded (a fallback request stays on the work list). No ADMIN_CHAT_ID → the alert is only
logged. The wording is the caller's, and every alert says what to do:

- `crm_down` — the worker's CRM watch (`outbound/admin.py`): what the bot does meanwhile, what to check;
- `fallback:{kind}:{reason}` — a booking to make, a cancel, a booking to verify (`fallback.py`): who, which
  class, `/reply`, then `/requests` and `/done N`;
- `budget:{limit}` — the Budget Guard (`llm/layer.py`): static KB mode until the window passes;
- `dead_letters` — the 11th dead letter (`dlq.py`): how to send them again;
- `handoff_waiting:{client}` — a handoff unanswered for 2 hours (the worker's sweep, through the runner's
  `AlertAdmin(cause=…)`): who waits, `/reply` and `/close`, what happens at 4 hours. Its cause names the
  client, so every waiting client is reminded; the sweep marks the session and commits it after the alert,
  and this window keeps a sweep repeated after a crash in between from sending it twice.

A handoff's own context is part of the client's turn (an `AlertAdmin` effect without a cause, committed
with the session): one per handoff, it needs no throttle.
"""

from __future__ import annotations

from typing import Final

from dancebot.logs import get_logger
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.queue import enqueue
from dancebot.runtime import Runtime
from dancebot.storage import keys

__all__ = ["ALERT_WINDOW_S", "alert_admin"]

log = get_logger(__name__)

ALERT_WINDOW_S: Final = 600


async def alert_admin(rt: Runtime, cause: str, text: str, trace_id: str | None) -> bool:
    """Enqueue `text` to the admin chat unless this cause was alerted in the last 10 minutes.

    Returns True when an alert job was queued.
    """
    admin = rt.settings.admin_chat_id
    if admin is None:
        log.warning("alert.no_admin_chat", cause=cause)
        return False
    if not await rt.redis.set(keys.alert_sent(cause), trace_id or "-", nx=True, ex=ALERT_WINDOW_S):
        log.info("alert.suppressed", cause=cause)
        return False
    await enqueue(rt.redis, OutboundJob(chat_id=admin, text=text, purpose="alert", trace_id=trace_id))
    log.info("alert.queued", cause=cause)
    return True
