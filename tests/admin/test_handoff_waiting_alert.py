"""A handoff nobody answered for 2 hours: the second alert goes through the one de-duplicated alert
mechanism (PRODUCT.md §11.1, issue 12: cause "handoff waiting", saying what to do), once per handoff —
not on every sweep, not twice when a sweep is repeated after a crash, and still after a restart of the
worker, since the timeout lives in the session. The worker's sweep with an injected clock; real Redis
and PostgreSQL, the in-process fake CRM."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.sweeps import sweep_sessions
from dancebot.conversation.timeouts import ADMIN_EXPIRE, HANDOFF_REMIND
from dancebot.outbound.alerts import ALERT_WINDOW_S
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.wiring import Conversation, open_conversation
from tests.conftest import ADMIN_CHAT_ID
from tests.engine.conftest import NOW


@pytest.fixture
async def conv(rt: Runtime) -> AsyncIterator[Conversation]:
    rt.clock = lambda: NOW
    async with open_conversation(rt) as conversation:
        yield conversation


async def queued(rt: Runtime) -> list[OutboundJob]:
    return [OutboundJob.loads(raw) for raw in reversed(await rt.redis.lrange(keys.OUTBOUND_QUEUE, 0, -1))]


async def reminders_for(rt: Runtime, chat_id: int) -> list[OutboundJob]:
    return [
        j
        for j in await queued(rt)
        if j.chat_id == ADMIN_CHAT_ID and "уже 2 часа" in j.text and f"/reply {chat_id} " in j.text
    ]


async def handed_over(rt: Runtime, conv: Conversation, chat_id: int) -> float:
    """The client asks for a person; returns the moment the handoff began (the session's clock)."""
    session = await rt.sessions.load("telegram", chat_id)
    msg = UnifiedMessage(
        channel="telegram", chat_id=chat_id, message_id="1", timestamp=NOW, text="позовите администратора"
    )
    await conv.runner.handle(msg, session)
    assert session.state == "HANDOFF_TO_ADMIN"
    await rt.sessions.save(session)
    await rt.redis.delete(keys.OUTBOUND_QUEUE)  # the handoff's own context, not what this test is about
    return session.state_since


async def test_the_two_hour_alert_goes_through_the_alerts_once_per_handoff(rt: Runtime, conv: Conversation) -> None:
    since = await handed_over(rt, conv, 501)
    assert await sweep_sessions(rt, conv.runner, now=since + HANDOFF_REMIND - 60) == 0
    assert await reminders_for(rt, 501) == []

    assert await sweep_sessions(rt, conv.runner, now=since + HANDOFF_REMIND + 5) == 1
    [alert] = await reminders_for(rt, 501)
    assert alert.purpose == "alert"
    assert "Что сделать" in alert.text and "/close 501" in alert.text and "4 часа" in alert.text
    cause = keys.alert_sent("handoff_waiting:501")
    assert ALERT_WINDOW_S - 5 < await rt.redis.ttl(cause) <= ALERT_WINDOW_S  # the one mechanism's window

    for later in (10, 60, 1800):  # later sweeps: the session remembers the reminder
        assert await sweep_sessions(rt, conv.runner, now=since + HANDOFF_REMIND + later) == 0
    assert len(await reminders_for(rt, 501)) == 1
    assert (await rt.sessions.load("telegram", 501)).state == "HANDOFF_TO_ADMIN"


async def test_a_sweep_repeated_after_a_crash_does_not_alert_twice(rt: Runtime, conv: Conversation) -> None:
    since = await handed_over(rt, conv, 502)
    before = (await rt.sessions.load("telegram", 502)).model_dump_json()
    assert await sweep_sessions(rt, conv.runner, now=since + HANDOFF_REMIND + 5) == 1
    # The worker died after queuing the alert and before committing the session: the sweep finds it again.
    await rt.redis.set(keys.session("telegram", 502), before, keepttl=True)
    assert await sweep_sessions(rt, conv.runner, now=since + HANDOFF_REMIND + 30) == 1
    assert len(await reminders_for(rt, 502)) == 1
    assert (await rt.sessions.load("telegram", 502)).reprompted_confirm  # and now it is remembered


async def test_each_waiting_client_is_reminded_and_a_restarted_worker_still_reminds(
    rt: Runtime, conv: Conversation
) -> None:
    first = await handed_over(rt, conv, 503)
    second = await handed_over(rt, conv, 504)
    assert await sweep_sessions(rt, conv.runner, now=max(first, second) + HANDOFF_REMIND + 5) == 2
    assert len(await reminders_for(rt, 503)) == 1 and len(await reminders_for(rt, 504)) == 1  # one per client

    third = await handed_over(rt, conv, 505)
    async with contextlib.AsyncExitStack() as stack:  # a new worker process: nothing but Redis carries over
        restarted = await stack.enter_async_context(open_conversation(rt))
        assert await sweep_sessions(rt, restarted.runner, now=third + HANDOFF_REMIND + 5) == 1
        assert len(await reminders_for(rt, 505)) == 1
        assert await sweep_sessions(rt, restarted.runner, now=third + ADMIN_EXPIRE + 5) == 3  # 4 h: every client told
    assert len([j for j in await queued(rt) if "ответит чуть позже" in j.text]) == 3
    assert len(await reminders_for(rt, 505)) == 1
