"""What waits for the administrator, on a stack of the test's own (its Redis holds only this test's
requests, alerts and dead letters): one alert per cause however many clients hit it, `/requests`,
`/done N` (the PostgreSQL row follows), `/dlq`; and the handoff timeouts, which the worker's sweep fires
from the session's own age — across a restart of the worker too."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from redis import Redis as SyncRedis
from sqlalchemy import select

from dancebot.storage import db, keys
from dancebot.storage.tables import fallback_requests, fsm_transitions
from tests.conftest import ADMIN_CHAT_ID
from tests.conversations.harness import Client, text_of
from tests.pipeline.conftest import Pipeline, PipelineFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # a stack of each test's own
HOUR = 3600.0


def admin_since(p: Pipeline, since: int) -> list[str]:
    return [m.text for m in p.tg.sent_to(ADMIN_CHAT_ID, since)]


async def admin(c: Client, command: str) -> str:
    """The administrator types `command`; what the admin chat got back."""
    since = c.mark()
    await c.admin(command)
    return "\n".join(m.text for m in c.tg.sent_to(ADMIN_CHAT_ID, since))


def age_session(p: Pipeline, chat_id: int, seconds: float) -> None:
    """Move the chat's session `seconds` into the past — what the passing of time does to it (the sweep
    measures a state's age from `state_since`); the TTL is kept."""
    with SyncRedis.from_url(p.redis.url) as r:
        key = keys.session("telegram", chat_id)
        data: dict[str, Any] = json.loads(r.get(key) or b"{}")
        data["state_since"] -= seconds
        r.set(key, json.dumps(data), keepttl=True)


def state_of(p: Pipeline, chat_id: int) -> str:
    with SyncRedis.from_url(p.redis.url) as r:
        return str(json.loads(r.get(keys.session("telegram", chat_id)) or b"{}").get("state"))


async def rows_of(database_url: str, chat_id: int, want: Callable[[list[Any]], bool], timeout: float = 10) -> list[Any]:
    engine = db.create_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            async with engine.connect() as conn:
                query = select(fallback_requests).where(fallback_requests.c.chat_id == chat_id)
                rows = list((await conn.execute(query)).all())
            if want(rows) or time.monotonic() > deadline:
                return rows
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()


async def transitions_of(database_url: str, chat_id: int, count: int, timeout: float = 10) -> list[tuple[str, ...]]:
    """The chat's recorded FSM transitions (storage/trail.py), once `count` are in PostgreSQL."""
    engine = db.create_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            t = fsm_transitions
            async with engine.connect() as conn:
                query = select(t.c.state_from, t.c.event, t.c.state_to).where(t.c.chat_id == chat_id).order_by(t.c.id)
                found = [tuple(r) for r in (await conn.execute(query)).all()]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()


async def test_one_alert_per_cause_then_requests_and_done(pipeline: PipelineFactory, chat: Callable[[], int]) -> None:
    with pipeline() as p:
        anna, boris = Client(p.stack, p.tg, p.crm, chat()), Client(p.stack, p.tg, p.crm, chat())
        await anna.say(f"хочу на хилс в чт, меня зовут Анна, {anna.phone}")
        await boris.say(f"запишите на хилс в четверг, Борис, {boris.phone}")
        since = anna.mark()
        p.crm.set_mode("500")
        try:
            assert "администратор" in text_of(await anna.say("да"))
            assert "администратор" in text_of(await boris.say("да"))
        finally:
            p.crm.set_mode(None)
        alerts = [m for m in admin_since(p, since) if "Заявка на запись" in m]
        assert len(alerts) == 1, alerts  # one per cause per 10 minutes, however many clients
        [alert] = alerts
        assert "Анна" in alert and "Что сделать" in alert and "/requests" in alert and "/done N" in alert
        assert "Заявок в очереди: 1" in alert

        listing = await admin(anna, "/requests")
        assert "Открытые заявки (2)" in listing
        first, second = (next(line for line in listing.splitlines() if line.startswith(f"{n}. ")) for n in (1, 2))
        assert "Анна" in first and "High Heels" in first and "CRM не отвечает" in first and str(anna.chat_id) in first
        assert "Борис" in second and str(boris.chat_id) in second

        done = await admin(anna, "/done 1")
        assert "Заявка 1 выполнена" in done and "Анна" in done and "Открытых заявок: 1" in done
        assert "нет в последнем списке" in await admin(anna, "/done 1")
        listing = await admin(anna, "/requests")
        assert "Открытые заявки (1)" in listing and "1. " in listing and "Борис" in listing and "Анна" not in listing

        rows = await rows_of(p.database_url, anna.chat_id, lambda rows: bool(rows) and rows[0].status == "done")
        assert [(r.status, r.resolved_at is not None) for r in rows] == [("done", True)]
        [row] = await rows_of(p.database_url, boris.chat_id, bool)
        assert row.status == "new"


async def test_dead_letters_are_listed_in_the_admin_chat(pipeline: PipelineFactory, chat: Callable[[], int]) -> None:
    with pipeline() as p:
        c = Client(p.stack, p.tg, p.crm, chat())
        assert "Недоставленных сообщений нет" in await admin(c, "/dlq")
        p.tg.block(c.chat_id)  # the client blocked the bot: the reply dies at once (403)
        await c.say("привет", silent=True)
        deadline = time.monotonic() + 10
        while "Недоставленных сообщений: 1" not in (listing := await admin(c, "/dlq")):
            assert time.monotonic() < deadline, listing
            await asyncio.sleep(0.3)
        assert str(c.chat_id) in listing and "Forbidden" in listing and "dancebot dlq requeue" in listing


async def test_handoff_timeouts_come_from_the_sweep_and_survive_a_restart(
    pipeline: PipelineFactory, chat: Callable[[], int]
) -> None:
    with pipeline() as p:
        waiting, answered = Client(p.stack, p.tg, p.crm, chat()), Client(p.stack, p.tg, p.crm, chat())
        await waiting.say("позовите администратора")
        await answered.say("позовите администратора")
        await answered.admin(f"/reply {answered.chat_id} Сейчас посмотрю")
        changes = await transitions_of(p.database_url, answered.chat_id, 2)  # the report's handoff and answer
        assert changes == [
            ("IDLE", "admin", "HANDOFF_TO_ADMIN"),
            ("HANDOFF_TO_ADMIN", "admin_reply", "ADMIN_RESPONDING"),
        ]

        since = waiting.mark()
        age_session(p, waiting.chat_id, 2 * HOUR - 60)
        await asyncio.sleep(1.5)  # a few sweeps: under two hours nothing happens
        assert not [m for m in admin_since(p, since) if "уже 2 часа" in m]
        age_session(p, waiting.chat_id, 120)
        await p.tg.wait_for(ADMIN_CHAT_ID, 1, 10, since=since)
        [reminder] = [m for m in admin_since(p, since) if "уже 2 часа" in m]
        assert f"/reply {waiting.chat_id}" in reminder and f"/close {waiting.chat_id}" in reminder
        await asyncio.sleep(1.5)
        assert len([m for m in admin_since(p, since) if "уже 2 часа" in m]) == 1  # once
        assert state_of(p, waiting.chat_id) == "HANDOFF_TO_ADMIN"

        p.stack.stop("worker0")  # the timeouts live in the sessions, not in the worker
        age_session(p, waiting.chat_id, 2 * HOUR)
        age_session(p, answered.chat_id, 4 * HOUR + 60)
        mark = waiting.mark()
        p.stack.start("worker0")
        later = await waiting.wait_for_message("ответит чуть позже", 20, since=mark)
        assert any("ответит чуть позже" in m for m in later)
        await answered.wait_for_message("ответит чуть позже", 10, since=mark)
        assert state_of(p, waiting.chat_id) == "IDLE" and state_of(p, answered.chat_id) == "IDLE"
        reply = text_of(await waiting.say("сколько стоит разовое занятие?"))
        assert "₽" in reply  # the bot talks again
