"""Fixtures of the LLM layer: the demo KB, a clean Redis, the fake OpenAI-compatible server, the real
client talking to it over HTTP, and the whole conversation pipeline with the LLM layer wired in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from dancebot.kb import KnowledgeBase, load_kb
from dancebot.llm.budget import BudgetGuard, BudgetLimits
from dancebot.llm.client import LLMClient, LLMConfig
from dancebot.runtime import Runtime, connect_redis
from dancebot.wiring import Conversation, open_conversation
from tests.conftest import KB_PATH, Servers
from tests.fakes.llm import FakeLLM
from tests.prompt_regression.driver import NOW

LLM_KEY = "sk-fake-llm-key-for-tests"
CLIENT_TIMEOUT_S = 0.5
PRICE_IN, PRICE_OUT = 0.15, 0.60  # USD per 1M tokens


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_kb(KB_PATH).kb


@pytest.fixture
async def redis(servers: Servers) -> AsyncIterator[Redis]:
    client = connect_redis(servers.redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM(api_key=LLM_KEY)
    with fake.serve_in_thread() as url:
        yield fake, url


@pytest.fixture
def fake_llm(fake_llm_server: tuple[FakeLLM, str]) -> Iterator[FakeLLM]:
    fake = fake_llm_server[0]
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture
def llm_config(fake_llm_server: tuple[FakeLLM, str]) -> LLMConfig:
    return LLMConfig(
        base_url=fake_llm_server[1],
        api_key=LLM_KEY,
        model="fake-model",
        price_input_per_1m_usd=PRICE_IN,
        price_output_per_1m_usd=PRICE_OUT,
        timeout_s=CLIENT_TIMEOUT_S,
        max_tokens=256,
    )


@pytest.fixture
def guard(rt: Runtime) -> BudgetGuard:
    return BudgetGuard(rt.redis, BudgetLimits())


@pytest.fixture
async def llm(llm_config: LLMConfig, rt: Runtime, guard: BudgetGuard) -> AsyncIterator[LLMClient]:
    async with LLMClient(llm_config, audit=rt.audit, guard=guard) as client:
        yield client


NEUTRAL = {"intent": "unknown", "slots": {}, "confidence": 0.0}  # a model with nothing to add


@pytest.fixture
def open_llm_conv(
    rt: Runtime, fake_llm_server: tuple[FakeLLM, str], fake_llm: FakeLLM
) -> Callable[..., contextlib.AbstractAsyncContextManager[Conversation]]:
    """`async with open_llm_conv(**settings) as conv`: the whole pipeline (fake CRM in process) with the LLM
    layer talking to the fake OpenAI server; the clock at PRODUCT.md §6.3's reference moment."""

    @contextlib.asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Conversation]:
        fake_llm.default = FakeLLM.json(NEUTRAL)
        rt.clock = lambda: NOW
        rt.settings = rt.settings.model_copy(
            update={
                "test_mode": True,
                "llm_api_key": SecretStr(LLM_KEY),
                "llm_base_url": fake_llm_server[1],
                "llm_model": "fake-model",
                "llm_price_input_per_1m_usd": PRICE_IN,
                "llm_price_output_per_1m_usd": PRICE_OUT,
                **overrides,
            }
        )
        async with open_conversation(rt) as conv:
            yield conv

    return make
