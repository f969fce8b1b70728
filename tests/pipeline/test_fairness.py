"""Fair outbound under Telegram's limits (PRODUCT.md §10.1): one chat with 100 messages queued gets them at
one a second after a short burst, in order, while 100 other chats share the bot's 30 a second — and the
Bot API (the fake, with Telegram's flood limits switched on) never has to answer 429. Two workers share
the limits through Redis."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

import pytest

from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.ratelimit import TELEGRAM
from tests.pipeline.conftest import PipelineFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_one_busy_chat_is_paced_while_a_hundred_chats_share_thirty_a_second(
    pipeline: PipelineFactory, chat: Callable[[], int]
) -> None:
    busy = chat()
    others = [chat() for _ in range(100)]
    with pipeline(workers=2, limits=True) as p:
        p.enqueue(*(OutboundJob(chat_id=busy, text=f"сообщение {i}") for i in range(100)))
        p.enqueue(*(OutboundJob(chat_id=c, text=f"ответ {n}") for n in range(3) for c in others))
        deadline = time.monotonic() + 150
        while len(p.tg.sent_to(busy)) < 100 or len(p.tg.sent) < 400:
            assert time.monotonic() < deadline, f"{len(p.tg.sent)} of 400 delivered"
            await asyncio.sleep(0.5)

        assert p.gate.flood == []  # Telegram never had to push back
        mine = p.tg.sent_to(busy)
        assert [m.text for m in mine] == [f"сообщение {i}" for i in range(100)]
        at = [m.received_at for m in mine]
        burst, interval = TELEGRAM.chat_burst, TELEGRAM.chat_interval
        for i, j in itertools.combinations(range(len(at)), 2):  # any stretch: one a second plus the burst
            assert j - i <= (at[j] - at[i] + 0.05) / interval + burst - 1, (i, j, at[j] - at[i])
        assert (len(at) - burst) / (at[-1] - at[0]) <= 1 / interval  # on average, at most one a second

        for c in others:
            assert [m.text for m in p.tg.sent_to(c)] == ["ответ 0", "ответ 1", "ответ 2"]
        rest = sorted(m.received_at for m in p.tg.sent if m.chat_id != busy)
        rate = (len(rest) - 1) / (rest[-1] - rest[0])
        assert 25 <= rate <= TELEGRAM.per_second * 1.03  # the other chats get (nearly) all of the 30/s
        window = [t for t in (m.received_at for m in p.tg.sent) if rest[0] <= t <= rest[-1]]
        busiest = max(sum(1 for u in window if t <= u < t + 1.0) for t in window)
        assert busiest <= TELEGRAM.per_second + TELEGRAM.burst  # 30 a second, and a burst of 2 to catch up
