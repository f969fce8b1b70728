"""Composition root: which conversation, admin handler and worker chores a process runs.

The web app, the worker and `dancebot chat` all build their pieces here, so the console runs exactly
the pipeline that serves Telegram.
"""

from __future__ import annotations

from dancebot.conversation.service import ConversationService

from dancebot.conversation.handoff import AdminCommands
from dancebot.conversation.inbound import InboundProcessor
from dancebot.outbound.service import Chore
from dancebot.runtime import Runtime

__all__ = ["build_processor", "worker_chores"]


def build_processor(rt: Runtime) -> InboundProcessor:
    return InboundProcessor(rt, ConversationService(rt), AdminCommands(rt))


def worker_chores(rt: Runtime) -> list[Chore]:
    return []
