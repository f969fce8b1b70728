"""Verifying a booking whose outcome is unknown (PRODUCT.md §7.3): the worker, not the chat, re-reads
the client's CRM reservations at growing intervals. Found → the normal receipt and reminders; still
absent after the last read → a "verify" request for the admin, and the client is told. Never a second
create: a slow CRM may store the first request seconds after our timeout.

Jobs live in the `verify` ZSET (member: the job's JSON, score: when it is due). A worker claims a due
job by moving its score a lease into the future (atomically, so two workers never run it together); a
worker that dies mid-job leaves it to be claimed again after the lease.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Final, cast

from dancebot.channels.message import Channel
from dancebot.conversation import render
from dancebot.conversation.fallback import booking_details, record_fallback
from dancebot.crm.models import Occurrence
from dancebot.crm.service import CRMService
from dancebot.logs import bind_trace, get_logger
from dancebot.outbound import reminders
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.queue import enqueue
from dancebot.runtime import Runtime
from dancebot.storage import keys

__all__ = ["DELAYS", "VerifyJob", "run_due_verifications", "schedule_verification"]

log = get_logger(__name__)

DELAYS: Final = (20.0, 60.0, 180.0, 600.0)  # seconds after the unknown outcome, one read each
LEASE: Final = 60.0
_CLAIM = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
"""


def _delays() -> tuple[float, ...]:
    """`DANCEBOT_VERIFY_DELAYS` ("1,2,3" seconds) shortens the schedule for tests and demos."""
    raw = os.environ.get("DANCEBOT_VERIFY_DELAYS", "").strip()
    if not raw:
        return DELAYS
    return tuple(float(x) for x in raw.split(",") if x.strip())


@dataclass(frozen=True)
class VerifyJob:
    channel: Channel
    chat_id: int
    occurrence: Occurrence
    name: str
    phone: str
    lang: str
    trace_id: str
    attempt: int = 1  # the read this job does (1-based)

    def dumps(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "channel": self.channel,
                "chat_id": self.chat_id,
                "occurrence": self.occurrence.model_dump(mode="json"),
                "name": self.name,
                "phone": self.phone,
                "lang": self.lang,
                "trace_id": self.trace_id,
                "attempt": self.attempt,
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> VerifyJob:
        data: dict[str, Any] = json.loads(raw)
        return cls(
            channel=cast(Channel, data["channel"]),
            chat_id=int(data["chat_id"]),
            occurrence=Occurrence.model_validate(data["occurrence"]),
            name=str(data["name"]),
            phone=str(data["phone"]),
            lang=str(data["lang"]),
            trace_id=str(data["trace_id"]),
            attempt=int(data["attempt"]),
        )


async def schedule_verification(rt: Runtime, job: VerifyJob, *, now: float) -> None:
    delays = _delays()
    due = now + delays[min(job.attempt, len(delays)) - 1]
    await rt.redis.zadd(keys.VERIFY, {job.dumps(): due})
    log.info("verify.scheduled", attempt=job.attempt, due_in=round(due - now, 1))


async def run_due_verifications(rt: Runtime, crm: CRMService, *, now: float) -> int:
    """Do every verification read that is due; returns how many were done."""
    done = 0
    for raw in cast(list[bytes | str], await rt.redis.zrangebyscore(keys.VERIFY, "-inf", now)):
        member = raw.decode() if isinstance(raw, bytes) else raw
        if not await rt.redis.eval(_CLAIM, 1, keys.VERIFY, member, now, now + LEASE):
            continue  # another worker has it
        try:
            job = VerifyJob.loads(member)
        except (ValueError, KeyError, TypeError):
            log.error("verify.malformed_job", job=member[:200])
            await rt.redis.zrem(keys.VERIFY, member)
            continue
        bind_trace(job.trace_id, channel=job.channel, chat_id=job.chat_id)
        await _verify(rt, crm, job, member, now)
        done += 1
    return done


async def _verify(rt: Runtime, crm: CRMService, job: VerifyJob, member: str, now: float) -> None:
    stored = await crm.verify_booking(
        occurrence=job.occurrence,
        phone_e164=job.phone,
        channel=job.channel,
        chat_id=job.chat_id,
        trace_id=job.trace_id,
        attempt=job.attempt,
    )
    if stored:
        await reminders.schedule(
            rt,
            channel=job.channel,
            chat_id=job.chat_id,
            occurrence=job.occurrence,
            name=job.name,
            lang=job.lang,
            now=rt.now(),
            phone=job.phone,  # the reservation's own phone: the reminder re-checks that one (as the runner does)
        )
        await _tell(rt, job, member, _receipt(rt, job))
        log.info("verify.found", attempt=job.attempt)
        return
    if job.attempt < len(_delays()):
        follow = VerifyJob(**{**job.__dict__, "attempt": job.attempt + 1})
        pipe = rt.redis.pipeline(transaction=True)
        pipe.zrem(keys.VERIFY, member)
        pipe.zadd(keys.VERIFY, {follow.dumps(): now + _delays()[job.attempt]})
        await pipe.execute()
        log.info("verify.not_yet", attempt=job.attempt, readable=stored is not None)
        return
    details = booking_details(rt.kb, name=job.name, phone=job.phone, occurrence=job.occurrence)
    await record_fallback(
        rt,
        kind="verify",
        reason="unverified",
        channel=job.channel,
        chat_id=job.chat_id,
        trace_id=job.trace_id,
        details=details,
    )
    await _tell(rt, job, member, rt.catalogue.text("booking_verify_failed", job.lang))
    log.warning("verify.gave_up", attempts=job.attempt)


def _receipt(rt: Runtime, job: VerifyJob) -> str:
    occ = job.occurrence
    return rt.catalogue.text(
        "receipt",
        job.lang,
        klass=render.class_label(occ, rt.kb, job.lang),
        when=render.when_label(occ, job.lang),
        where=render.branch_address(occ, rt.kb),
        bring=rt.catalogue.text("bring_line", job.lang, bring=rt.kb.policies.what_to_bring)
        if rt.kb.policies.what_to_bring
        else "",
    )


async def _tell(rt: Runtime, job: VerifyJob, member: str, text: str) -> None:
    """Queue the client's message, then end the job. The message's id is derived from the job, so a worker
    that dies between the two and is re-run queues the same message, not a second one."""
    out = OutboundJob(
        job_id=hashlib.sha256(f"verify:{member}".encode()).hexdigest()[:32],
        chat_id=job.chat_id,
        channel=job.channel,
        text=render.enforce_limits(text, job.channel),
        trace_id=job.trace_id,
        purpose="reply",
    )
    await enqueue(rt.redis, out)
    await rt.redis.zrem(keys.VERIFY, member)
    await rt.audit.message(
        trace_id=job.trace_id, channel=job.channel, chat_id=job.chat_id, direction="out", text=out.text, state="IDLE"
    )
