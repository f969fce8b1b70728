"""Composition root: the CRM, the engine, the inbound processor and the worker chores of a process.

The web app, the worker and `dancebot chat` all build their pieces here, so the console runs exactly
the pipeline that serves Telegram.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dancebot.conversation.engine import Engine
from dancebot.conversation.handoff import AdminCommands
from dancebot.conversation.inbound import InboundProcessor
from dancebot.conversation.runner import ConversationRunner
from dancebot.conversation.sweeps import sweep_sessions
from dancebot.conversation.verify import run_due_verifications
from dancebot.crm.factory import build_impulse_client, tool_call_recorder
from dancebot.crm.service import CRMService
from dancebot.llm.health import WithLLMHealth
from dancebot.llm.layer import LLMLayer, open_llm
from dancebot.outbound import reminders
from dancebot.outbound.admin import admin_chores
from dancebot.outbound.service import Chore
from dancebot.runtime import Runtime
from dancebot.storage import keys, trail
from dancebot.understanding.seam import Chain, RulesUnderstander, Understander

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
    llm: LLMLayer | None = None  # None: no LLM_API_KEY, rules only (PRODUCT.md §6.2)


@contextlib.asynccontextmanager
async def open_conversation(rt: Runtime) -> AsyncIterator[Conversation]:
    trail.install(rt.redis)  # transitions and deliveries become audit rows (storage/trail.py)
    client, fake, http = build_impulse_client(
        rt.settings, on_call=tool_call_recorder(rt.audit), tz=rt.tz, today=rt.now().date()
    )
    crm: CRMService | None = None
    try:
        if fake is not None:  # a fresh in-process CRM: what Redis knew about the last one is not true of it
            for pattern in (keys.cache("*"), keys.idempotency("*")):
                async for key in rt.redis.scan_iter(match=pattern):
                    await rt.redis.delete(key)
        crm = CRMService(rt, client)
        async with open_llm(rt) as llm:
            understander: Understander = Chain(RulesUnderstander(rt.kb))
            if llm is not None:  # the LLM only for what the rules cannot settle; every message marked L2 or not
                understander = WithLLMHealth(Chain(RulesUnderstander(rt.kb), llm.extractor), llm.health)
            engine = Engine(rt.kb, rt.catalogue, crm, understander)
            runner = ConversationRunner(rt, engine, crm, rewriter=llm.rewriter if llm else None)
            processor = InboundProcessor(rt, runner, AdminCommands(rt, runner))
            yield Conversation(crm, engine, runner, processor, fake, llm)
    finally:
        if crm is not None:
            await crm.aclose()
        await http.aclose()


def worker_chores(rt: Runtime, runner: ConversationRunner) -> list[Chore]:
    async def due_reminders() -> None:
        await reminders.send_due(rt, crm=runner.crm)  # the reservation is re-checked before a reminder

    async def timeouts() -> None:
        await sweep_sessions(rt, runner)

    async def verifications() -> None:
        await run_due_verifications(rt, runner.crm, now=time.time())

    return [due_reminders, timeouts, verifications, *admin_chores(rt, runner.crm)]  # CRM watch, /done, digest
