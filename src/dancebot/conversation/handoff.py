"""The admin chat's commands (contract §14, SPEC §11): `/reply {chat_id} text` and `/close {chat_id}`.

Only messages from `ADMIN_CHAT_ID` reach this handler. WhatsApp clients are addressed as `wa:7999…`.
A malformed command or an unknown chat gets a usage reply in the admin chat and changes nothing.
"""

from __future__ import annotations

import re

from dancebot.channels.message import UnifiedMessage
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys

__all__ = ["AdminCommands", "parse_client_handle"]

_COMMAND = re.compile(r"^/(reply|close)(?:@\w+)?(?:\s+(\S+))?(?:\s+(.+))?$", re.S)


def parse_client_handle(handle: str) -> tuple[str, int] | None:
    """`12345` / `-100123` → Telegram; `wa:79991234567` → WhatsApp."""
    channel = "telegram"
    if handle.startswith("wa:"):
        channel, handle = "whatsapp", handle[3:]
    try:
        return channel, int(handle)
    except ValueError:
        return None


class AdminCommands:
    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    def _to_admin(self, msg: UnifiedMessage, text: str) -> OutboundJob:
        return OutboundJob(chat_id=msg.chat_id, channel=msg.channel, text=text, trace_id=msg.trace_id, purpose="admin")

    async def handle(self, msg: UnifiedMessage) -> list[OutboundJob]:
        m = _COMMAND.match((msg.text or "").strip())
        usage = self._rt.catalogue.text("admin_usage")
        if not m:
            return [self._to_admin(msg, usage)]
        command, handle, body = m.group(1), m.group(2), (m.group(3) or "").strip()
        target = parse_client_handle(handle or "")
        if target is None or (command == "reply" and not body):
            return [self._to_admin(msg, usage)]
        channel, chat_id = target
        if not await self._rt.redis.exists(keys.session(channel, chat_id)):
            return [self._to_admin(msg, f"Нет диалога с {handle}. " + usage)]
        session = await self._rt.sessions.load(channel, chat_id)
        lang = session.language or self._rt.kb.tone.language
        prefix = "Администратор" if lang == "ru" else "Administrator"
        if command == "reply":
            session.enter("ADMIN_RESPONDING")
            text = f"{prefix}: {body}"
            confirm = f"Отправлено клиенту {handle} ✅"
        else:
            session.enter("IDLE")
            session.slots.clear()
            session.pending.clear()
            text = (
                "Администратор завершил диалог. Если что-то понадобится — пишите 😊"
                if lang == "ru"
                else ("The administrator has closed the conversation. Write any time 😊")
            )
            confirm = f"Диалог с {handle} закрыт."
        await self._rt.sessions.save(session)
        client_job = OutboundJob(chat_id=chat_id, channel=channel, text=text, trace_id=msg.trace_id,  # type: ignore[arg-type]
                                 purpose="relay", state=session.state)  # fmt: skip
        return [client_job, self._to_admin(msg, confirm)]
