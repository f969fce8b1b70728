"""The conversation's CRM for outbound tests: the in-process fake Impulse, the clock at PRODUCT.md §6.3's
reference moment (Wed 2026-12-02 15:00, Vladivostok)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dancebot.runtime import Runtime
from dancebot.wiring import Conversation, open_conversation
from tests.factories import NOW


@pytest.fixture
async def conv(rt: Runtime) -> AsyncIterator[Conversation]:
    rt.clock = lambda: NOW
    async with open_conversation(rt) as conversation:
        yield conversation
