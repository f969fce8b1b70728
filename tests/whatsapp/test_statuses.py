"""Statuses of what we sent (PRODUCT.md §4, §10.3): each recorded against its job; a failure is an `errors`
row with its code; a late 131047 closes the window and sends the job again, once, the template way."""

from __future__ import annotations

import time

from sqlalchemy import select
from structlog.testing import capture_logs

from dancebot.channels import whatsapp
from dancebot.channels import whatsapp_payloads as wa
from dancebot.outbound import window
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.whatsapp_status import record_statuses, remember_sent, status_key
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.audit import flush_audit
from dancebot.storage.tables import errors

NUMBER = "79537300001"
CHAT = int(NUMBER)


def statuses(*items: dict[str, object]) -> tuple[whatsapp.Status, ...]:
    return whatsapp.parse_payload(wa.payload(statuses=items), wa.PHONE_NUMBER_ID).statuses


async def sent_job(rt: Runtime, text: str = "Напоминаем: завтра 19:00 — High Heels") -> tuple[str, OutboundJob]:
    job = OutboundJob(channel="whatsapp", chat_id=CHAT, text=text, trace_id="trace-statuses", purpose="reminder")
    wamid = wa.new_wamid(NUMBER)
    await remember_sent(rt, wamid, job)
    return wamid, job


async def queued(rt: Runtime) -> list[OutboundJob]:
    return [OutboundJob.loads(raw) for raw in await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1)]


async def test_sent_delivered_and_read_are_recorded_against_the_message(rt: Runtime) -> None:
    wamid, _ = await sent_job(rt)
    now = int(time.time())
    with capture_logs() as logs:
        await record_statuses(rt, statuses(*(wa.status(wamid, NUMBER, s, ts=now + i) for i, s in
                                            enumerate(("sent", "delivered", "read")))))  # fmt: skip
    record = await rt.redis.hgetall(status_key(wamid))
    assert record == {b"sent": str(now).encode(), b"delivered": str(now + 1).encode(), b"read": str(now + 2).encode(),
                      b"last": b"read"}  # fmt: skip
    assert [e["status"] for e in logs if e["event"] == "whatsapp.status"] == ["sent", "delivered", "read"]


async def test_a_failure_is_logged_and_kept_with_its_code(rt: Runtime) -> None:
    wamid, job = await sent_job(rt)
    with capture_logs() as logs:
        await record_statuses(
            rt, statuses(wa.status(wamid, NUMBER, "failed", code=131026, title="Message undeliverable"))
        )
    assert [(e["code"], e["log_level"]) for e in logs if e["event"] == "whatsapp.status_failed"] == [
        (131026, "warning")
    ]
    await flush_audit(rt.redis, rt.db)
    async with rt.db.connect() as conn:
        (row,) = (await conn.execute(select(errors).where(errors.c.source == "whatsapp.status"))).all()
    assert (row.kind, row.message, row.trace_id) == ("131026", "Message undeliverable", job.trace_id)
    assert row.details["wamid"] == wamid and row.details["purpose"] == "reminder"
    assert await queued(rt) == []  # undeliverable: nothing to send again


async def test_a_late_131047_closes_the_window_and_sends_the_job_again_once(rt: Runtime) -> None:
    await window.touch(rt.redis, CHAT, time.time() - 3600)  # our record: open
    wamid, job = await sent_job(rt)
    failed = statuses(wa.status(wamid, NUMBER, "failed", code=131047, title="Re-engagement message"))
    assert await record_statuses(rt, failed) == 1
    assert not await window.is_open(rt.redis, CHAT)
    (again,) = await queued(rt)  # the worker now takes the template way
    assert (again.text, again.purpose, again.trace_id) == (job.text, job.purpose, job.trace_id)
    assert again.job_id != job.job_id  # a new job: the queue counts the first as delivered
    assert await record_statuses(rt, failed) == 0  # Meta redelivers the webhook: not sent twice
    assert len(await queued(rt)) == 1


async def test_a_status_of_a_message_we_no_longer_know_is_still_recorded(rt: Runtime) -> None:
    wamid = wa.new_wamid(NUMBER)
    assert await record_statuses(rt, statuses(wa.status(wamid, NUMBER, "failed", code=131047))) == 0
    assert (await rt.redis.hgetall(status_key(wamid)))[b"last"] == b"failed"
