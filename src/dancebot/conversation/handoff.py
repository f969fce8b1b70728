"""The admin chat's commands (PRODUCT.md §11): answering clients and working through what waits.

    /reply {handle} text   the client gets "Администратор: text"; the bot stays quiet until /close
    /close {handle}        the conversation returns to the bot (IDLE), the client is told
    /requests              open fallback requests, numbered: client, class, cause
    /done N                request N of the last /requests is handled: off the list (its row → "done")
    /dlq                   dead letters: messages the worker gave up on
    /help                  the list of commands

Only messages from `ADMIN_CHAT_ID` reach this handler (`inbound.py`); a client typing "/reply …" is just
a client's message. WhatsApp clients are addressed as `wa:7999…`. A malformed command, an unknown
command or a chat without a conversation gets a usage reply in the admin chat and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final, cast

import structlog

from dancebot.channels.handles import format_handle, parse_handle
from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.effects import AdminText
from dancebot.conversation.fallback import OpenRequest, open_requests, request_line, resolve
from dancebot.conversation.states import Event, State
from dancebot.logs import get_logger
from dancebot.outbound import dlq
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys

if TYPE_CHECKING:
    from dancebot.conversation.runner import ConversationRunner

__all__ = ["AdminCommands"]

log = get_logger(__name__)

_COMMAND = re.compile(r"^/([a-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.S | re.I)
_LISTED: Final = 20  # requests shown by /requests (the rest are counted)
_DEAD_SHOWN: Final = 10
_LISTING_TTL: Final = 24 * 3600
_MAX: Final = 4000  # a Telegram message holds 4096 characters
HELP: Final = (
    "Команды администратора:\n"
    "/reply ID текст — ответить клиенту (бот молчит, пока вы не закроете диалог)\n"
    "/close ID — вернуть клиента боту\n"
    "/requests — открытые заявки, по номерам\n"
    "/done N — заявка N из последнего /requests выполнена\n"
    "/dlq — сообщения, которые не удалось доставить\n"
    "/help — эта справка\n"
    "ID — число из сообщения о клиенте (WhatsApp: wa:7999…)."
)


class AdminCommands:
    def __init__(self, rt: Runtime, runner: ConversationRunner) -> None:
        self._rt = rt
        self._runner = runner
        self._commands: dict[str, Callable[[UnifiedMessage, str], Awaitable[list[OutboundJob]]]] = {
            "reply": self._reply_or_close,
            "close": self._reply_or_close,
            "requests": self._requests,
            "done": self._done,
            "dlq": self._dead_letters,
            "help": self._help,
            "start": self._help,
        }

    async def handle(self, msg: UnifiedMessage) -> list[OutboundJob]:
        m = _COMMAND.match((msg.text or "").strip())
        command = self._commands.get(m.group(1).lower()) if m else None
        if m is None or command is None:
            return [self._to_admin(msg, self._usage())]
        return await command(msg, m.group(0))

    # ---- answering a client -------------------------------------------------------------------------

    async def _reply_or_close(self, msg: UnifiedMessage, text: str) -> list[OutboundJob]:
        m = re.match(r"^/(reply|close)(?:@\w+)?(?:\s+(\S+))?(?:\s+(.+))?$", text, re.S | re.I)
        if m is None:
            return [self._to_admin(msg, self._usage())]
        command, handle, body = m.group(1).lower(), m.group(2), (m.group(3) or "").strip()
        target = parse_handle(handle or "")
        if target is None or (command == "reply" and not body) or (command == "close" and body):
            return [self._to_admin(msg, self._usage())]
        channel, chat_id = target
        if not await self._rt.redis.exists(keys.session(channel, chat_id)):
            return [self._to_admin(msg, f"Нет диалога с {handle}. " + self._usage())]
        async with self._rt.redis.lock(keys.lock(channel, chat_id), timeout=30, blocking_timeout=30, sleep=0.02):
            session = await self._rt.sessions.load(channel, chat_id)
            if command == "reply":
                if session.state not in (State.HANDOFF_TO_ADMIN, State.ADMIN_RESPONDING):
                    session.reset()
                    session.enter(State.HANDOFF_TO_ADMIN)  # the admin takes over whatever was going on
                event, confirm = Event.ADMIN_REPLY, f"Отправлено клиенту {handle} ✅"
            else:
                event, confirm = Event.ADMIN_CLOSE, f"Диалог с {handle} закрыт, клиент снова говорит с ботом."
                if session.state not in (State.HANDOFF_TO_ADMIN, State.ADMIN_RESPONDING):
                    session.enter(State.ADMIN_RESPONDING)
            # the client's transitions are logged (and recorded) under the client's chat, not the admin's
            structlog.contextvars.bind_contextvars(channel=channel, chat_id=chat_id)
            try:
                jobs = await self._runner.system(session, event, trace_id=msg.trace_id, outcome=AdminText(body))
            finally:
                structlog.contextvars.bind_contextvars(channel=msg.channel, chat_id=msg.chat_id)
            await self._rt.sessions.save(session)
        relayed = [j.model_copy(update={"purpose": "relay"}) for j in jobs if j.chat_id == chat_id]
        return [*relayed, *(j for j in jobs if j.chat_id != chat_id), self._to_admin(msg, confirm)]

    # ---- the work list --------------------------------------------------------------------------------

    async def _requests(self, msg: UnifiedMessage, text: str) -> list[OutboundJob]:
        if _argument(text) is not None:
            return [self._to_admin(msg, self._usage())]
        waiting = await open_requests(self._rt)
        redis = self._rt.redis
        await redis.delete(keys.ADMIN_LISTING)
        if not waiting:
            return [self._to_admin(msg, "Открытых заявок нет ✅")]
        shown = waiting[:_LISTED]
        await redis.hset(keys.ADMIN_LISTING, mapping={str(n): r.raw for n, r in enumerate(shown, 1)})
        await redis.expire(keys.ADMIN_LISTING, _LISTING_TTL)
        lines = [f"Открытые заявки ({len(waiting)}):", *(request_line(n, r) for n, r in enumerate(shown, 1))]
        if len(waiting) > len(shown):
            lines.append(f"…и ещё {len(waiting) - len(shown)}: отметьте эти, затем снова /requests.")
        lines.append("Выполнили — /done N. Ответить клиенту — /reply ID текст.")
        return self._chunks(msg, lines)

    async def _done(self, msg: UnifiedMessage, text: str) -> list[OutboundJob]:
        arg = _argument(text)
        if arg is None or not arg.isdigit():
            return [self._to_admin(msg, "Укажите номер заявки из /requests, например: /done 2")]
        raw = await self._rt.redis.hget(keys.ADMIN_LISTING, arg)
        if raw is None:
            return [self._to_admin(msg, f"Заявки {arg} нет в последнем списке. Посмотрите список: /requests")]
        request = OpenRequest.parse(cast("bytes", raw))
        if request is None or not await resolve(self._rt, request):
            return [self._to_admin(msg, f"Заявка {arg} уже закрыта. Список: /requests")]
        await self._rt.redis.hdel(keys.ADMIN_LISTING, arg)
        left = int(await self._rt.redis.llen(keys.FALLBACK_QUEUE))
        log.info("admin.request_done", number=arg, kind=request.kind, left=left)
        line = request_line(int(arg), request).split(". ", 1)[1]
        return [self._to_admin(msg, f"✅ Заявка {arg} выполнена: {line}\nОткрытых заявок: {left}")]

    async def _dead_letters(self, msg: UnifiedMessage, text: str) -> list[OutboundJob]:
        if _argument(text) is not None:
            return [self._to_admin(msg, self._usage())]
        letters = await dlq.list_dead(self._rt.redis)
        if not letters:
            return [self._to_admin(msg, "Недоставленных сообщений нет ✅")]
        lines = [f"Недоставленных сообщений: {len(letters)} (последние {min(len(letters), _DEAD_SHOWN)}):"]
        for d in letters[-_DEAD_SHOWN:]:
            job = d.job
            said = " ".join(job.text.split())[:60] or f"({job.kind})"
            lines.append(
                f"• {d.when} → {format_handle(job.channel, job.chat_id)} ({job.purpose}): «{said}» — "
                f"{d.error[:80]} [{job.job_id}]"
            )
        lines.append(
            "Клиенты их не получили. Отправить заново (на сервере): dancebot dlq requeue ID или --all; "
            "важное лучше продублировать через /reply."
        )
        return self._chunks(msg, lines)

    async def _help(self, msg: UnifiedMessage, text: str) -> list[OutboundJob]:
        return [self._to_admin(msg, HELP)]

    # ---- helpers --------------------------------------------------------------------------------------

    def _usage(self) -> str:
        return self._rt.catalogue.text("admin_usage")

    def _to_admin(self, msg: UnifiedMessage, text: str) -> OutboundJob:
        return OutboundJob(chat_id=msg.chat_id, channel=msg.channel, text=text, trace_id=msg.trace_id, purpose="admin")

    def _chunks(self, msg: UnifiedMessage, lines: list[str]) -> list[OutboundJob]:
        """Lines as few messages as fit Telegram's limit, never splitting a line."""
        chunks: list[str] = []
        for line in lines:
            if chunks and len(chunks[-1]) + 1 + len(line) <= _MAX:
                chunks[-1] += "\n" + line
            else:
                chunks.append(line[:_MAX])
        return [self._to_admin(msg, chunk) for chunk in chunks]


def _argument(text: str) -> str | None:
    """What follows the command word, or None."""
    parts = text.split(None, 1)
    return parts[1].strip() if len(parts) > 1 and parts[1].strip() else None
