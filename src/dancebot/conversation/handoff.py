"""The admin chat's commands (PRODUCT.md §11): `/reply {chat_id} text` and `/close {chat_id}`.

Only messages from `ADMIN_CHAT_ID` reach this handler. WhatsApp clients are addressed as `wa:7999…`.
A malformed command or an unknown chat gets a usage reply in the admin chat and changes nothing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dancebot.channels.handles import parse_handle
from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.effects import AdminText
from dancebot.conversation.states import Event, State
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys

if TYPE_CHECKING:
    from dancebot.conversation.runner import ConversationRunner

__all__ = ["AdminCommands"]

_COMMAND = re.compile(r"^/(reply|close)(?:@\w+)?(?:\s+(\S+))?(?:\s+(.+))?$", re.S)


class AdminCommands:
    def __init__(self, rt: Runtime, runner: ConversationRunner) -> None:
        self._rt = rt
        self._runner = runner

    def _to_admin(self, msg: UnifiedMessage, text: str) -> OutboundJob:
        return OutboundJob(chat_id=msg.chat_id, channel=msg.channel, text=text, trace_id=msg.trace_id, purpose="admin")

    async def handle(self, msg: UnifiedMessage) -> list[OutboundJob]:
        m = _COMMAND.match((msg.text or "").strip())
        usage = self._rt.catalogue.text("admin_usage")
        if not m:
            return [self._to_admin(msg, usage)]
        command, handle, body = m.group(1), m.group(2), (m.group(3) or "").strip()
        target = parse_handle(handle or "")
        if target is None or (command == "reply" and not body):
            return [self._to_admin(msg, usage)]
        channel, chat_id = target
        if not await self._rt.redis.exists(keys.session(channel, chat_id)):
            return [self._to_admin(msg, f"Нет диалога с {handle}. " + usage)]
        async with self._rt.redis.lock(keys.lock(channel, chat_id), timeout=30, blocking_timeout=30, sleep=0.02):
            session = await self._rt.sessions.load(channel, chat_id)
            if command == "reply":
                if session.state not in (State.HANDOFF_TO_ADMIN, State.ADMIN_RESPONDING):
                    session.reset()
                    session.enter(State.HANDOFF_TO_ADMIN)  # the admin takes over whatever was going on
                event, confirm = Event.ADMIN_REPLY, f"Отправлено клиенту {handle} ✅"
            else:
                event, confirm = Event.ADMIN_CLOSE, f"Диалог с {handle} закрыт."
                if session.state not in (State.HANDOFF_TO_ADMIN, State.ADMIN_RESPONDING):
                    session.enter(State.ADMIN_RESPONDING)
            jobs = await self._runner.system(session, event, trace_id=msg.trace_id, outcome=AdminText(body))
            await self._rt.sessions.save(session)
        relayed = [j.model_copy(update={"purpose": "relay"}) for j in jobs if j.chat_id == chat_id]
        return [*relayed, *(j for j in jobs if j.chat_id != chat_id), self._to_admin(msg, confirm)]
