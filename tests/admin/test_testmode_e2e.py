"""Test mode (PRODUCT.md §13.2) through the webhook: /debug, /trace, /reset, /budget in a tester's chat,
the full trace on stdout; with TEST_MODE off the same words are ordinary messages. And what real traffic
leaves in PostgreSQL is what `dancebot report` counts; the daily digest goes out once with two workers."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from redis import Redis as SyncRedis

from dancebot.channels.telegram_updates import text_update
from dancebot.conversation.session import SessionStore
from dancebot.storage import db, keys, report
from tests.admin.seed import Seed, Turn
from tests.conftest import ADMIN_CHAT_ID
from tests.conversations.harness import Client, text_of
from tests.pipeline.conftest import PipelineFactory
from tests.stack_fixtures import NOW

pytestmark = pytest.mark.e2e
_ids = iter(range(9_000_000, 10_000_000))


async def command(c: Client, text: str) -> str:
    """A tester's command: its answer as the chat shows it (test-mode answers are not client replies, so
    the conversation rules of `Client.say` do not apply to them)."""
    await c._pace()  # the webhook's spam limit counts these too (5 per 10 s): the client's own pacing
    since = c.mark()
    await asyncio.to_thread(c.stack.post, text_update(c.stack.next_id(), c.chat_id, next(_ids), text))
    await c.tg.wait_for(c.chat_id, 1, 15, since=since)
    await asyncio.sleep(0.3)
    return "\n".join(m.text for m in c.tg.sent_to(c.chat_id, since))


@pytest.mark.slow
async def test_every_test_mode_command(pipeline: PipelineFactory, chat: Callable[[], int], own_database: str) -> None:
    with pipeline(env={"TEST_MODE": "true"}, database_url=own_database) as p:
        c = Client(p.stack, p.tg, p.crm, chat())
        assert "Всё верно?" in text_of(await c.say(f"хочу на хилс в чт, меня зовут Анна, {c.phone}"))
        receipt = text_of(await c.say("да"))
        assert "записаны" in receipt

        parts = ("⬅ in", "«да»", "fsm CONFIRM_BOOKING —yes→ BOOKING_IN_PROGRESS", "—crm_ok→ IDLE",
                 "crm create_booking ok", "booking ", "→ booked", "➡ out", "sent telegram")  # fmt: skip
        deadline = time.monotonic() + 15
        while True:  # the previous message's trace: its rows reach PostgreSQL within a second, the delivery's
            trace = await command(c, "/trace")  # right after the send
            missing = [part for part in parts if part not in trace]
            if not missing:
                break
            assert time.monotonic() < deadline, missing
        trace_id = re.search(r"trace ([0-9a-f-]{36})", trace)
        assert trace_id is not None

        await c.say("а теперь хочу на сальсу")
        debug = await command(c, "/debug")
        assert re.search(r"state: COLLECTING_\w+", debug) and "style=salsa" in debug
        assert "degradation: L0" in debug and "profile: name=Анна" in debug
        assert c.e164 not in debug and "****" in debug  # the phone masked
        assert await command(c, "/trace nonsense!") == "Это не trace id: nonsense!. Пример: /trace " + (
            "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"
        )
        assert trace_id.group(1) in await command(c, f"/trace {trace_id.group(1)}")

        budget = await command(c, "/budget")
        assert "LLM not configured" in budget and "100000 токенов/час" in budget

        assert "Сессия сброшена" in await command(c, "/reset")
        debug = await command(c, "/debug")
        assert "state: IDLE" in debug and "salsa" not in debug and "profile: —" in debug
        assert "Всё верно?" not in text_of(await c.say("да"))  # nothing pending any more

        deadline = time.monotonic() + 10
        while f'"trace_id": "{trace_id.group(1)}"' not in (logs := p.stack.log_text()) or '"trace.row"' not in logs:
            assert time.monotonic() < deadline, "the trace did not reach stdout"
            await asyncio.sleep(0.2)

        # what real traffic left in PostgreSQL is what the report counts
        engine = db.create_engine(own_database)
        try:
            today = dt.datetime.now(ZoneInfo("Asia/Vladivostok")).date()
            figures = await report.compute(engine, report.period(ZoneInfo("Asia/Vladivostok"), today, today))
        finally:
            await engine.dispose()
        assert figures["conversations"] == {"total": 1, "by_channel": {"telegram": 1}}
        assert figures["bookings"]["completed"] == 1 and figures["bookings"]["by_outcome"] == {"booked": 1}
        assert figures["bookings"]["messages_per_booking_avg"] == 2.0
        assert figures["reply_latency_ms"]["messages"] >= 3 and figures["reply_latency_ms"]["p50"] is not None


async def test_test_mode_commands_are_ordinary_text_when_it_is_off(
    new_client: Callable[..., Client], stack_sessions: SessionStore
) -> None:
    c = new_client()
    await c.say("хочу на хилс в субботу")
    state = (await stack_sessions.load("telegram", c.chat_id)).state
    for text in ("/debug", "/trace 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed", "/budget", "/reset"):
        reply = text_of(await c.say(text))
        assert not any(part in reply for part in ("state:", "trace", "LLM", "Budget", "Сессия сброшена")), reply
    session = await stack_sessions.load("telegram", c.chat_id)
    assert session.state == state and session.slots.style == "high_heels"  # /reset reset nothing


@pytest.mark.slow
async def test_the_daily_digest_is_sent_once_with_two_workers(pipeline: PipelineFactory, own_database: str) -> None:
    yesterday = NOW.date() - dt.timedelta(days=1)
    tz = NOW.tzinfo
    seed = Seed(ADMIN_CHAT_ID)
    at = dt.datetime.combine(yesterday, dt.time(12), tzinfo=tz)
    seed.turn(
        "telegram",
        501,
        Turn(
            at,
            "хочу на хилс, Анна, 89140001111",
            transitions=[("IDLE", "booking", "CONFIRM_BOOKING")],
            llm=[(3000, 1000, 0.05, "ok")],
        ),
    )
    seed.turn(
        "telegram",
        501,
        Turn(
            at + dt.timedelta(minutes=1),
            "да",
            state="CONFIRM_BOOKING",
            transitions=[("CONFIRM_BOOKING", "yes", "BOOKING_IN_PROGRESS"), ("BOOKING_IN_PROGRESS", "crm_ok", "IDLE")],
            attempts=[("booked", "create: stored", 0.5)],
        ),
    )
    seed.turn(
        "telegram",
        502,
        Turn(
            at + dt.timedelta(hours=1), "позовите администратора", transitions=[("IDLE", "admin", "HANDOFF_TO_ADMIN")]
        ),
    )
    seed.fallback("telegram", 503, at, "booking", "unavailable", "new", None)
    engine = db.create_engine(own_database)
    try:
        await seed.write(engine)
    finally:
        await engine.dispose()
    with pipeline(workers=2, database_url=own_database, env={"DAILY_DIGEST_HOUR": "9"}) as p:
        # the stack's clock stands at 15:00, past 9: the first worker round claims the day
        [digest] = [m.text for m in await p.tg.wait_for(ADMIN_CHAT_ID, 1, 60)]
        await asyncio.sleep(3)  # both workers go round every half second: a second digest would be here
        assert [m.text for m in p.tg.sent_to(ADMIN_CHAT_ID)] == [digest]
        with SyncRedis.from_url(p.redis.url) as r:
            assert r.exists(keys.daily_job("digest", NOW.date().isoformat()))
    lines = digest.splitlines()
    assert len(lines) <= 10
    assert lines[0] == "📊 Итоги за вт 01.12"
    assert "Записей через бота: 1 (попыток: 1)" in lines
    assert "Передано администратору: 1, без ответа: 1" in lines
    assert "Открытых заявок сейчас: 1 — /requests" in lines
    assert "Расход LLM: $0.05" in lines
