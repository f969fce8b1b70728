"""`dancebot chat`: a console conversation over the real pipeline, with no configuration at all.

What you type becomes a real Telegram update JSON, parsed by the same code as the webhook, processed by
the same engine, queued in Redis and delivered by the same worker — only the last hop prints instead of
calling Telegram. With REDIS_URL/DATABASE_URL unset it starts embedded Redis and PostgreSQL (PRODUCT.md §15) in
a state folder and keeps them between runs so the conversation and its audit trail survive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from dancebot.channels import telegram
from dancebot.channels.telegram_updates import callback_update, text_update
from dancebot.config import Settings
from dancebot.logs import configure_logging
from dancebot.outbound.senders import ConsoleSender
from dancebot.outbound.worker import OutboundWorker
from dancebot.runtime import Runtime, open_runtime
from dancebot.storage import keys
from dancebot.storage.audit import flush_audit
from dancebot.storage.embedded import configured_or_embedded, default_state_dir
from dancebot.wiring import Conversation, open_conversation, worker_chores

__all__ = ["run_chat"]

CHAT_ID = 100_000_001  # the console's own Telegram-like chat
ADMIN_CHAT_ID = 100_000_002  # the administrator's chat when ADMIN_CHAT_ID is not configured
BANNER = (
    "DanceBot — чат в консоли (тот же конвейер, что и для Telegram).\n"
    "Пишите как клиент студии. Цифра — нажать кнопку из последнего ответа.\n"
    "«/admin /reply {chat} текст» — ответить как администратор. /quit — выход.\n"
)


@contextlib.contextmanager
def _servers(settings: Settings, state_dir: Path) -> Iterator[Settings]:
    if not (settings.redis_url and settings.database_url):
        print(f"Запускаю встроенные Redis и PostgreSQL в {state_dir} …", file=sys.stderr)
    with configured_or_embedded(settings.redis_url, settings.database_url, state_dir, persist=True) as srv:
        yield settings.model_copy(update={"redis_url": srv.redis_url, "database_url": srv.database_url})


def _with_console_admin(settings: Settings) -> Settings:
    """Without a configured admin chat, the console plays it: alerts and handoffs are printed."""
    if settings.admin_chat_id is not None:
        return settings
    return settings.model_copy(update={"admin_chat_id": ADMIN_CHAT_ID})


class ConsoleChat:
    def __init__(self, rt: Runtime, conversation: Conversation, sender: ConsoleSender) -> None:
        self._rt = rt
        self._sender = sender
        self._processor = conversation.processor
        self._chores = worker_chores(rt, conversation.runner)
        self._worker = OutboundWorker(rt.redis, {"telegram": sender}, rt.audit)
        self._ids = itertools.count(int(time.time() * 1000) % 1_000_000_000)

    async def say(self, line: str) -> None:
        """One client line (or a button number) through the whole pipeline, replies printed."""
        n = next(self._ids)
        if line.startswith("/admin "):
            admin = self._rt.settings.admin_chat_id or ADMIN_CHAT_ID
            update = text_update(n, admin, n, line.removeprefix("/admin ").strip(), first_name="Админ")
        elif line.isdigit() and 0 < int(line) <= len(self._sender.last_buttons):
            data = self._sender.last_buttons[int(line) - 1]
            update = callback_update(n, CHAT_ID, n, data, callback_id=str(n), first_name="Гость")
        else:
            update = text_update(n, CHAT_ID, n, line, first_name="Гость")
        msg = telegram.parse_update(update)
        # One person at a keyboard is no spammer, but piped input arrives faster than 5 per 10 s.
        await self._rt.redis.delete(keys.spam("telegram", CHAT_ID))
        if msg is not None:
            await self._processor.process(msg)
        await self.tick()

    async def tick(self) -> None:
        """The worker's share of a turn: due reminders and timeouts, delivery, audit rows."""
        for chore in self._chores:
            await chore()
        await self._worker.drain()
        await flush_audit(self._rt.redis, self._rt.db)

    async def reset(self) -> None:
        await self._rt.sessions.delete("telegram", CHAT_ID)
        await self._rt.redis.delete(keys.profile("telegram", CHAT_ID))


async def _loop(settings: Settings, fresh: bool) -> None:
    async with open_runtime(settings) as rt, open_conversation(rt) as conversation:
        chat = ConsoleChat(rt, conversation, ConsoleSender(CHAT_ID))
        if fresh:
            await chat.reset()
        print(BANNER)
        while True:
            try:
                line = (await asyncio.to_thread(input, "вы> ")).strip()
            except EOFError:
                break
            if line in {"/quit", "/exit", "/q"}:
                break
            if line:
                await chat.say(line)


def run_chat(settings: Settings, *, fresh: bool = False, debug: bool = False) -> int:
    state_dir = default_state_dir()
    state_dir.mkdir(parents=True, exist_ok=True)
    if debug:
        configure_logging(stream=sys.stderr)
    else:
        configure_logging(stream=(state_dir / "chat.log").open("a", encoding="utf-8"))
    with _servers(settings, state_dir) as ready:
        try:
            asyncio.run(_loop(_with_console_admin(ready), fresh))
        except KeyboardInterrupt:
            pass
    print("\nДо встречи!")
    return 0
