"""An engine on real Redis/PostgreSQL with the in-process fake Impulse, its clock frozen at PRODUCT.md §6.3's
reference moment (Wed 2026-12-02 15:00, Vladivostok)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from dancebot.runtime import Runtime
from dancebot.wiring import Conversation, open_conversation

NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Vladivostok"))


@pytest.fixture
async def conv(rt: Runtime) -> AsyncIterator[Conversation]:
    rt.clock = lambda: NOW
    async with open_conversation(rt) as conversation:
        yield conversation
