"""One running stack per test session (per xdist worker): fake Telegram and fake Impulse in threads,
`dancebot serve` + `dancebot worker` as processes on their own Redis database. Shared by tests/e2e and
tests/conversations; tests keep apart by using their own chat ids."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dancebot.conversation.session import SessionStore
from dancebot.crm.fake import FakeImpulse, create_fake_impulse
from dancebot.runtime import connect_redis
from tests.conftest import ADMIN_CHAT_ID, BOT_TOKEN, KB_PATH, WEBHOOK_SECRET, Servers
from tests.e2e.stack import Stack, run_stack, serve_in_thread
from tests.fakes.telegram import FakeTelegram, create_fake_telegram

CRM_KEY = "impulse-demo-key-7c1e"
# The conversation clock of the stack: PRODUCT.md §6.3's reference moment, Wed 2026-12-02 15:00 in Vladivostok.
NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Vladivostok"))
_chat_ids = itertools.count(5_000_001)


@pytest.fixture(scope="session")
def fake_tg() -> Iterator[tuple[FakeTelegram, str]]:
    fake = create_fake_telegram(BOT_TOKEN)
    with fake.serve_in_thread() as url:
        yield fake, url


@pytest.fixture(scope="session")
def fake_impulse() -> Iterator[tuple[FakeImpulse, str]]:
    """The demo studio's CRM as a real HTTP server, so tests can assert exactly which reservations exist."""
    fake = create_fake_impulse(api_key=CRM_KEY, today=NOW.date())
    with serve_in_thread(fake.app) as url:
        yield fake, f"{url}/api/public"


@pytest.fixture
async def stack_sessions(servers: Servers) -> AsyncIterator[SessionStore]:
    """Sessions as the running stack sees them."""
    redis = connect_redis(servers.stack_redis_url)
    yield SessionStore(redis)
    await redis.aclose()


@pytest.fixture(scope="session")
def stack(
    servers: Servers,
    fake_tg: tuple[FakeTelegram, str],
    fake_impulse: tuple[FakeImpulse, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    env = {
        "REDIS_URL": servers.stack_redis_url,
        "DATABASE_URL": servers.database_url,
        "KB_PATH": str(KB_PATH),
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE_URL": fake_tg[1],
        "ADMIN_CHAT_ID": str(ADMIN_CHAT_ID),
        "IMPULSE_API_KEY": CRM_KEY,
        "IMPULSE_BASE_URL": fake_impulse[1],
        "DANCEBOT_FROZEN_NOW": NOW.isoformat(),
        "DANCEBOT_VERIFY_DELAYS": "3,6,9",  # an unknown booking outcome is re-read within seconds, not minutes
    }
    with run_stack(env, tmp_path_factory.mktemp("stack-logs")) as running:
        yield running


@pytest.fixture
def tg(fake_tg: tuple[FakeTelegram, str]) -> FakeTelegram:
    return fake_tg[0]


@pytest.fixture
def chat_id() -> int:
    return next(_chat_ids)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def crm(fake_impulse: tuple[FakeImpulse, str]) -> FakeImpulse:
    return fake_impulse[0]
