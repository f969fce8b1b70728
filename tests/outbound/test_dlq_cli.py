"""`dancebot dlq` as the operator uses it (PRODUCT.md §10.1): list the messages the worker gave up on,
re-queue the chosen ones (they are delivered then), drop others — against real Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from dancebot.outbound import dlq
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys

ROOT = Path(__file__).resolve().parents[2]


async def dancebot(rt: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_"))}
    env["REDIS_URL"] = rt.settings.redis_url or ""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "dancebot.cli", "dlq", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip


async def bury(rt: Runtime, job: OutboundJob, error: str) -> None:
    await rt.redis.hset(keys.DEAD_LETTERS, job.job_id, dlq.entry(job, error=error, attempts=4, at=time.time()))


async def test_the_operator_lists_requeues_and_drops_dead_letters(rt: Runtime) -> None:
    reminder = OutboundJob(chat_id=5001, text="Напоминаем: завтра в 19:00 сальса", purpose="reminder", attempts=4)
    reply = OutboundJob(chat_id=5002, text="Вы записаны ✅")
    blocked = OutboundJob(chat_id=5003, text="Ждём вас!")
    await bury(rt, reminder, "telegram error: BadGateway")
    await bury(rt, reply, "telegram error: TimedOut")
    await bury(rt, blocked, "telegram refused: Forbidden: bot was blocked by the user")

    listing = await dancebot(rt)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert len(lines) == 3
    assert reminder.job_id in lines[0] and "telegram:5001" in lines[0] and "BadGateway" in lines[0]
    assert "Напоминаем: завтра в 19:00 сальса" in lines[0] and "attempts=4" in lines[0]

    requeued = await dancebot(rt, "requeue", reminder.job_id, reply.job_id, "no-such-id")
    assert requeued.returncode == 1  # one id was not found, and the operator is told which
    assert f"{reminder.job_id}: re-queued" in requeued.stdout and "no-such-id: not found" in requeued.stdout
    queued = [OutboundJob.loads(raw) for raw in await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1)]
    assert {j.job_id for j in queued} == {reminder.job_id, reply.job_id}
    assert all(j.attempts == 0 for j in queued)  # a fresh set of retries

    dropped = await dancebot(rt, "drop", blocked.job_id)
    assert dropped.returncode == 0 and "dropped 1 of 1" in dropped.stdout
    assert (await dancebot(rt)).stdout.strip() == "no dead letters"


async def test_requeue_all(rt: Runtime) -> None:
    jobs = [OutboundJob(chat_id=6000 + i, text=f"ответ {i}") for i in range(3)]
    for j in jobs:
        await bury(rt, j, "telegram error: BadGateway")
    result = await dancebot(rt, "requeue", "--all")
    assert result.returncode == 0 and result.stdout.count("re-queued") == 3
    assert await rt.redis.llen(keys.OUTBOUND_QUEUE) == 3 and await rt.redis.hlen(keys.DEAD_LETTERS) == 0
