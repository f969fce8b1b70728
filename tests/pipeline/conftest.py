"""Pipeline tests run their own stack each: `dancebot serve` and `dancebot worker` processes on a Redis
server of their own (so they can kill, restart and stop things), the fake Telegram Bot API behind a
`TelegramGate` (flood limits, outages, stalled sends), and a fresh fake Impulse CRM. PostgreSQL is the
suite's server unless a test brings its own. The conversation clock is PRODUCT.md §6.3's reference moment.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis import Redis as SyncRedis

from dancebot.crm.fake import FakeImpulse, create_fake_impulse
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.wiring import Conversation, open_conversation
from tests.conftest import ADMIN_CHAT_ID, BOT_TOKEN, KB_PATH, WEBHOOK_SECRET, Servers
from tests.e2e.stack import Stack, run_stack, serve_in_thread
from tests.fakes.telegram import FakeTelegram, create_fake_telegram
from tests.fakes.telegram_gate import TelegramGate
from tests.pipeline.servers import DedicatedRedis, dedicated_redis
from tests.stack_fixtures import CRM_KEY, NOW

_chat_ids = itertools.count(8_100_001)


@dataclass
class Pipeline:
    stack: Stack
    tg: FakeTelegram
    gate: TelegramGate
    crm: FakeImpulse
    redis: DedicatedRedis
    database_url: str

    def sync_redis(self) -> SyncRedis:
        return SyncRedis.from_url(self.redis.url)

    def enqueue(self, *jobs: OutboundJob) -> None:
        """What a producer does: LPUSH the jobs on the outbound queue."""
        with contextlib.closing(self.sync_redis()) as r:
            r.lpush(keys.OUTBOUND_QUEUE, *(j.dumps() for j in jobs))


PipelineFactory = Callable[..., contextlib.AbstractContextManager[Pipeline]]


@pytest.fixture
def chat() -> Callable[[], int]:
    """A new chat id per call, never reused in the session."""
    return lambda: next(_chat_ids)


@pytest.fixture
def pipeline(servers: Servers, tmp_path: Path) -> PipelineFactory:
    """`with pipeline(workers=2, limits=True) as p:` — a running stack of this test's own."""

    @contextlib.contextmanager
    def start(
        *,
        workers: int = 1,
        limits: bool = False,
        worker_args: tuple[str, ...] = (),
        database_url: str | None = None,
        env: dict[str, Any] | None = None,
        before: Callable[[SyncRedis], object] | None = None,
    ) -> Iterator[Pipeline]:
        """`before` gets the stack's Redis before any process starts (what an earlier run left behind)."""
        tg = create_fake_telegram(BOT_TOKEN)
        gate = TelegramGate(tg.app, limits=limits)
        crm = create_fake_impulse(api_key=CRM_KEY, today=NOW.date())
        with (
            dedicated_redis(tmp_path / "redis") as redis,
            serve_in_thread(gate) as tg_url,
            serve_in_thread(crm.app) as crm_url,
        ):
            full_env = {
                "REDIS_URL": redis.url,
                "DATABASE_URL": database_url or servers.database_url,
                "KB_PATH": str(KB_PATH),
                "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "TELEGRAM_API_BASE_URL": tg_url,
                "ADMIN_CHAT_ID": str(ADMIN_CHAT_ID),
                "IMPULSE_API_KEY": CRM_KEY,
                "IMPULSE_BASE_URL": f"{crm_url}/api/public",
                "DANCEBOT_FROZEN_NOW": NOW.isoformat(),
                **{k: str(v) for k, v in (env or {}).items()},
            }
            if before is not None:
                with SyncRedis.from_url(redis.url) as r:
                    before(r)
            logs = tmp_path / f"logs-{next(_chat_ids)}"
            logs.mkdir()
            with run_stack(full_env, logs, workers=workers, worker_args=worker_args) as stack:
                yield Pipeline(stack, tg, gate, crm, redis, full_env["DATABASE_URL"])

    return start


@pytest.fixture
async def conv(rt: Runtime) -> AsyncIterator[Conversation]:
    """The app's conversation pieces in this process, on the in-process fake Impulse, the clock frozen."""
    rt.clock = lambda: NOW
    async with open_conversation(rt) as conversation:
        yield conversation
