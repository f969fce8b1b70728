"""WhatsApp tests: the fake Graph API, and `dancebot serve` + `dancebot worker` with WhatsApp configured.

The WhatsApp stack is its own pair of processes on its own Redis database (its worker must never take a
job the shared stack queued, nor the other way round); it shares PostgreSQL, the fake Impulse CRM and
the fake Telegram (the admin chat, the Telegram fallback) with the other end-to-end tests. The fake Graph
API delivers statuses back to the stack's webhook, signed, as Meta does.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from pydantic import SecretStr

from dancebot.channels import whatsapp_payloads as wa
from dancebot.conversation.session import SessionStore
from dancebot.crm.fake import FakeImpulse
from dancebot.runtime import Runtime, connect_redis
from tests.conftest import ADMIN_CHAT_ID, BOT_TOKEN, KB_PATH, WEBHOOK_SECRET, Servers
from tests.e2e.stack import Stack, run_stack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import FakeWhatsApp
from tests.stack_fixtures import CRM_KEY, NOW
from tests.whatsapp.harness import APPROVED, WA_SECRET, WA_TOKEN, WA_VERIFY, WaClient, new_number, wa_redis_url


@pytest.fixture(scope="session")
def fake_wa_server() -> Iterator[tuple[FakeWhatsApp, str]]:
    fake = FakeWhatsApp(access_token=WA_TOKEN, app_secret=WA_SECRET)
    with fake.serve_in_thread() as url:
        yield fake, url


@pytest.fixture
def fake_wa(fake_wa_server: tuple[FakeWhatsApp, str]) -> FakeWhatsApp:
    return fake_wa_server[0]


@pytest.fixture(scope="session")
def wa_stack(
    servers: Servers,
    fake_tg: tuple[FakeTelegram, str],
    fake_impulse: tuple[FakeImpulse, str],
    fake_wa_server: tuple[FakeWhatsApp, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    fake, url = fake_wa_server
    env = {
        "REDIS_URL": wa_redis_url(servers),
        "DATABASE_URL": servers.database_url,
        "KB_PATH": str(KB_PATH),
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE_URL": fake_tg[1],
        "ADMIN_CHAT_ID": str(ADMIN_CHAT_ID),
        "IMPULSE_API_KEY": CRM_KEY,
        "IMPULSE_BASE_URL": fake_impulse[1],
        "DANCEBOT_FROZEN_NOW": NOW.isoformat(),
        "WHATSAPP_ACCESS_TOKEN": WA_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": wa.PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": WA_SECRET,
        "WHATSAPP_VERIFY_TOKEN": WA_VERIFY,
        "WHATSAPP_API_BASE_URL": url,
        "WHATSAPP_APPROVED_TEMPLATES": APPROVED,
    }
    asyncio.run(_flush(env["REDIS_URL"]))  # a shared server may hold an earlier run's queues
    with run_stack(env, tmp_path_factory.mktemp("wa-stack-logs")) as running:
        fake.webhook_url = f"{running.base_url}/webhook/whatsapp"
        fake.statuses = True
        try:
            yield running
        finally:
            fake.webhook_url = None
            fake.statuses = False


async def _flush(url: str) -> None:
    redis = connect_redis(url)
    await redis.flushdb()
    await redis.aclose()


@pytest.fixture
async def wa_sessions(servers: Servers) -> AsyncIterator[SessionStore]:
    redis = connect_redis(wa_redis_url(servers))
    yield SessionStore(redis)
    await redis.aclose()


@pytest.fixture
def new_wa_client(
    wa_stack: Stack, fake_wa: FakeWhatsApp, fake_tg: tuple[FakeTelegram, str], crm: FakeImpulse
) -> Iterator[Callable[..., WaClient]]:
    made: list[WaClient] = []

    def make(**kw: object) -> WaClient:
        made.append(WaClient(wa_stack, fake_wa, fake_tg[0], crm, new_number(), WA_SECRET, **kw))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for c in made:
        print(f"--- whatsapp {c.number}\n{c.dump()}")


@pytest.fixture
def wa_client(new_wa_client: Callable[..., WaClient]) -> WaClient:
    return new_wa_client()


@pytest.fixture
def wa_rt(rt: Runtime) -> Runtime:
    """The test runtime (flushed Redis and Postgres) with WhatsApp configured; no template approved."""
    settings = rt.settings.model_copy(
        update={
            "whatsapp_access_token": SecretStr(WA_TOKEN),
            "whatsapp_phone_number_id": wa.PHONE_NUMBER_ID,
            "whatsapp_app_secret": SecretStr(WA_SECRET),
            "whatsapp_verify_token": SecretStr(WA_VERIFY),
            "whatsapp_api_base_url": "http://fake-graph/v21.0",
        }
    )
    return dataclasses.replace(rt, settings=settings)
