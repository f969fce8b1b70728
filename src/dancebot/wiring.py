"""Composition root: the CRM, the engine, the inbound processor and the worker chores of a process.

The web app, the worker and `dancebot chat` all build their pieces here, so the console runs exactly
the pipeline that serves Telegram.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dancebot.conversation.engine import Engine
from dancebot.conversation.handoff import AdminCommands
from dancebot.conversation.inbound import InboundProcessor
from dancebot.conversation.runner import ConversationRunner
from dancebot.conversation.sweeps import sweep_sessions
from dancebot.crm.factory import build_impulse_client, tool_call_recorder
from dancebot.crm.service import CRMService
from dancebot.outbound import reminders
from dancebot.outbound.service import Chore
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.understanding.seam import Chain, RulesUnderstander

if TYPE_CHECKING:
    from dancebot.crm.fake import FakeImpulse

__all__ = ["Conversation", "open_conversation", "worker_chores"]


@dataclass
class Conversation:
    crm: CRMService
    engine: Engine
    runner: ConversationRunner
    processor: InboundProcessor
    fake_crm: FakeImpulse | None  # the in-process fake Impulse when no real CRM is configured


@contextlib.asynccontextmanager
async def open_conversation(rt: Runtime) -> AsyncIterator[Conversation]:
    client, fake, http = build_impulse_client(
        rt.settings, on_call=tool_call_recorder(rt.audit), tz=rt.tz, today=rt.now().date()
    )
    try:
        if fake is not None:  # a fresh in-process CRM: what Redis knew about the last one is not true of it
            for pattern in (keys.cache("*"), keys.idempotency("*")):
                async for key in rt.redis.scan_iter(match=pattern):
                    await rt.redis.delete(key)
        crm = CRMService(rt, client)
        engine = Engine(rt.kb, rt.catalogue, crm, Chain(RulesUnderstander(rt.kb)))
        runner = ConversationRunner(rt, engine, crm)
        processor = InboundProcessor(rt, runner, AdminCommands(rt, runner))
        yield Conversation(crm, engine, runner, processor, fake)
    finally:
        await http.aclose()


def worker_chores(rt: Runtime, runner: ConversationRunner) -> list[Chore]:
    async def due_reminders() -> None:
        await reminders.send_due(rt)

    async def timeouts() -> None:
        await sweep_sessions(rt, runner)

    return [due_reminders, timeouts]
