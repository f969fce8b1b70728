"""A production-shaped stack for the deploy tests: `dancebot serve` + `dancebot worker` with both channels
configured (Telegram and WhatsApp), on a Redis database of its own, with the shared fake Telegram and fake
Impulse and a fake WhatsApp Graph API of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from dancebot.crm.fake import FakeImpulse
from tests.conftest import Servers
from tests.deploy.stacks import WA_SECRET, WA_TOKEN, flush, own_redis_db, stack_env
from tests.e2e.stack import Stack, run_stack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import FakeWhatsApp


@pytest.fixture(scope="session")
def deploy_wa() -> Iterator[tuple[FakeWhatsApp, str]]:
    fake = FakeWhatsApp(access_token=WA_TOKEN, app_secret=WA_SECRET)
    with fake.serve_in_thread() as url:
        yield fake, url


@pytest.fixture(scope="session")
def prod_stack(
    servers: Servers,
    fake_tg: tuple[FakeTelegram, str],
    fake_impulse: tuple[FakeImpulse, str],
    deploy_wa: tuple[FakeWhatsApp, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    redis_url = own_redis_db(servers, 13)
    asyncio.run(flush(redis_url))
    env = stack_env(redis_url, servers, fake_tg[1], fake_impulse[1], deploy_wa[1])
    with run_stack(env, tmp_path_factory.mktemp("prod-stack-logs")) as running:
        yield running
