"""What became of our WhatsApp messages: the `statuses[]` of the webhook (PRODUCT.md §4, §10.3).

The sender remembers each job it handed to Meta under the wamid Meta gave it (`remember_sent`, 2 days).
Every status is recorded on `wa:status:{wamid}` (the time of each of sent, delivered, read, failed; kept 7
days) and logged with the job's trace id; a failure is also an `errors` row in Postgres with its code.
A failure with 131047 means Meta's 24-hour window had closed although our record said open: the window
is closed here and the job is queued again (once, as a new job: the first one was delivered as far as
the queue knows), so the worker sends the template or falls back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from dancebot.channels.whatsapp import Status, StatusError
from dancebot.logs import bind_trace, get_logger
from dancebot.outbound import window
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.queue import enqueue
from dancebot.runtime import Runtime

__all__ = ["SENT_TTL", "STATUS_TTL", "WINDOW_CLOSED", "record_statuses", "remember_sent", "sent_key", "status_key"]

log = get_logger(__name__)

SENT_TTL = 2 * 24 * 3600
STATUS_TTL = 7 * 24 * 3600
WINDOW_CLOSED = 131047


def sent_key(wamid: str) -> str:
    return f"wa:sent:{wamid}"


def status_key(wamid: str) -> str:
    return f"wa:status:{wamid}"


async def remember_sent(rt: Runtime, wamid: str, job: OutboundJob) -> None:
    await rt.redis.set(sent_key(wamid), job.dumps(), ex=SENT_TTL)


async def record_statuses(rt: Runtime, statuses: Iterable[Status]) -> int:
    """Record each status; returns how many jobs were queued again after a 131047."""
    rerouted = 0
    for st in statuses:
        raw = await rt.redis.get(sent_key(st.wamid))
        job = OutboundJob.loads(raw) if raw else None
        bind_trace(job.trace_id if job and job.trace_id else "-", channel="whatsapp")
        key = status_key(st.wamid)
        pipe = rt.redis.pipeline(transaction=False)
        pipe.hset(key, mapping={st.status: st.timestamp, "last": st.status})
        pipe.expire(key, STATUS_TTL)
        await pipe.execute()
        if st.status != "failed":
            log.info("whatsapp.status", status=st.status, wamid=st.wamid, job=job.job_id if job else None)
            continue
        for err in st.errors or (StatusError(code=0, title="failed without an error code"),):
            log.warning("whatsapp.status_failed", code=err.code, title=err.title, wamid=st.wamid,
                        job=job.job_id if job else None)  # fmt: skip
            await rt.audit.error(
                trace_id=job.trace_id if job else None,
                source="whatsapp.status",
                kind=str(err.code),
                message=err.title or err.details or "failed",
                wamid=st.wamid,
                details=err.details,
                job=job.job_id if job else None,
                purpose=job.purpose if job else None,
            )
        window_closed = any(e.code == WINDOW_CLOSED for e in st.errors)
        if window_closed and job is not None and await rt.redis.delete(sent_key(st.wamid)):
            await window.close(rt.redis, job.chat_id)  # Meta knows better than our record
            again = job.model_copy(update={"job_id": uuid.uuid4().hex, "attempts": 0})  # the first one counts as sent
            await enqueue(rt.redis, again)  # the worker now takes the template or fallback way
            log.info("whatsapp.rerouted", job=job.job_id, again=again.job_id)
            rerouted += 1
    return rerouted
