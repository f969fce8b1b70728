"""Dead letters (PRODUCT.md §10.1): jobs the worker gave up on, kept for a human.

Each one is in Redis (`queue:outbound:dead`, job id → the job, its last error and attempts), where
`dancebot dlq` lists them and re-queues the ones chosen (attempts from zero, at the end of their chat's
queue), and in PostgreSQL (`dead_letter_messages`) for the record. When the pile grows past
`ALERT_THRESHOLD` the admin chat is told once (`alerts.alert_admin`, one alert per cause per 10 minutes);
it is told again only after the pile went back under the threshold and crossed it anew.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Final, cast

from redis.asyncio import Redis

from dancebot.logs import get_logger
from dancebot.outbound.alerts import alert_admin
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.queue import WAKE_LUA
from dancebot.runtime import Runtime
from dancebot.storage import keys

__all__ = ["ALERT_THRESHOLD", "DeadLetter", "alert_if_piling_up", "drop", "entry", "list_dead", "requeue"]

log = get_logger(__name__)

ALERT_THRESHOLD: Final = 10  # more dead letters than this → one admin alert

_REQUEUE = """
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('LPUSH', KEYS[2], ARGV[2])
__WAKE__
return 1
""".replace("__WAKE__", WAKE_LUA.format(key=keys.OUTBOUND_WAKE))


@dataclass(frozen=True)
class DeadLetter:
    job: OutboundJob
    error: str
    attempts: int
    at: float  # unix time it died

    @property
    def when(self) -> str:
        return dt.datetime.fromtimestamp(self.at).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def entry(job: OutboundJob, *, error: str, attempts: int, at: float) -> str:
    """How a dead letter is stored (the job as sent, plus why it died)."""
    return json.dumps(
        {"v": 1, "job": job.model_dump(mode="json"), "error": error, "attempts": attempts, "at": at},
        ensure_ascii=False,
    )


def _load(raw: bytes | str) -> DeadLetter | None:
    try:
        data: dict[str, Any] = json.loads(raw)
        return DeadLetter(
            job=OutboundJob.model_validate(data["job"]),
            error=str(data.get("error", "")),
            attempts=int(data.get("attempts", 0)),
            at=float(data.get("at", 0)),
        )
    except (ValueError, KeyError, TypeError):
        return None


async def list_dead(redis: Redis) -> list[DeadLetter]:
    """Every dead letter, oldest first (unreadable entries are logged and left alone)."""
    found: list[DeadLetter] = []
    for job_id, raw in cast("dict[bytes, bytes]", await redis.hgetall(keys.DEAD_LETTERS)).items():
        letter = _load(raw)
        if letter is None:
            log.error("dlq.unreadable", job_id=job_id.decode(errors="replace"))
            continue
        found.append(letter)
    return sorted(found, key=lambda d: d.at)


async def requeue(redis: Redis, job_ids: list[str]) -> list[str]:
    """Put the chosen dead letters back on the outbound queue with their attempts reset; the ids done."""
    script = redis.register_script(_REQUEUE)
    done: list[str] = []
    for job_id in job_ids:
        raw = await redis.hget(keys.DEAD_LETTERS, job_id)
        letter = _load(raw) if raw is not None else None
        if letter is None:
            continue
        fresh = letter.job.model_copy(update={"attempts": 0})
        if await script(keys=[keys.DEAD_LETTERS, keys.OUTBOUND_QUEUE], args=[job_id, fresh.dumps()]):
            log.info("dlq.requeued", job=job_id, chat_id=fresh.chat_id)
            done.append(job_id)
    return done


async def drop(redis: Redis, job_ids: list[str]) -> int:
    """Forget dead letters for good (their PostgreSQL rows stay)."""
    return int(await redis.hdel(keys.DEAD_LETTERS, *job_ids)) if job_ids else 0


async def alert_if_piling_up(rt: Runtime, size: int, trace_id: str | None = None) -> bool:
    """Called with the pile's size after each new dead letter: the one that crosses the threshold alerts."""
    if size != ALERT_THRESHOLD + 1:
        return False
    text = (
        f"⚠️ Накопилось {size} неотправленных сообщений (dead letters): клиенты их не получили.\n"
        "Посмотреть: dancebot dlq\nОтправить заново: dancebot dlq requeue ID… (или --all)"
    )
    return await alert_admin(rt, "dead_letters", text, trace_id)
