"""`dancebot chat`: a console conversation over the real pipeline, with no configuration at all.

What you type becomes a real Telegram update JSON, parsed by the same code as the webhook, processed by
the same engine, queued in Redis and delivered by the same worker — only the last hop prints instead of
calling Telegram. `--channel whatsapp` plays a WhatsApp client instead: each line becomes a real Cloud API
webhook payload from the number WA_PHONE (so the bot knows the phone without asking), replies obey
WhatsApp's 200 characters, and buttons show as WhatsApp would draw them (reply buttons or a list),
numbered. With REDIS_URL/DATABASE_URL unset it starts embedded Redis and PostgreSQL (PRODUCT.md §15) in
a state folder and keeps them between runs so the conversation and its audit trail survive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dancebot.channels import telegram, whatsapp
from dancebot.channels import whatsapp_payloads as wa
from dancebot.channels.message import Channel, UnifiedMessage
from dancebot.channels.telegram_updates import callback_update, text_update
from dancebot.config import Settings
from dancebot.logs import configure_logging
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.senders import ConsoleSender, Sender
from dancebot.outbound.whatsapp import build_message
from dancebot.outbound.worker import OutboundWorker
from dancebot.runtime import Runtime, open_runtime
from dancebot.storage import keys
from dancebot.storage.audit import flush_audit
from dancebot.storage.embedded import configured_or_embedded, default_state_dir
from dancebot.wiring import Conversation, open_conversation, worker_chores

__all__ = ["WA_PHONE", "WhatsAppConsoleSender", "run_chat"]

CHAT_ID = 100_000_001  # the console's own Telegram-like chat
WA_PHONE = "79140000001"  # the console's WhatsApp client: +7 914 000-00-01
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


WA_BANNER = (
    f"DanceBot — чат в консоли как клиент WhatsApp (+{WA_PHONE}).\n"
    "Пишите как клиент студии. Цифра — нажать кнопку или пункт списка из последнего ответа.\n"
    "«/admin /reply wa:{номер} текст» — ответить как администратор. /quit — выход.\n"
)


class WhatsAppConsoleSender:
    """Prints a WhatsApp job as the client's phone would show it: the text, then reply buttons or a list's
    rows, numbered (the same Cloud API body the real sender posts)."""

    def __init__(self, write: Callable[[str], object] = print) -> None:
        self._write = write
        self.choices: list[tuple[str, str, str]] = []  # (button_reply | list_reply, id, title) last shown

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, job: OutboundJob) -> None:
        if job.kind != "message":
            return
        body = build_message(job)
        lines = ["🤖 " + job.text]
        interactive = body.get("interactive")
        if interactive and interactive["type"] == "button":
            self.choices = [
                ("button_reply", b["reply"]["id"], b["reply"]["title"]) for b in interactive["action"]["buttons"]
            ]
            lines += [f"   [{i}] {title}" for i, (_, _, title) in enumerate(self.choices, 1)]
        elif interactive:
            rows = [r for section in interactive["action"]["sections"] for r in section["rows"]]
            self.choices = [("list_reply", r["id"], r["title"]) for r in rows]
            lines.append(f"   ☰ {interactive['action']['button']}")
            lines += [
                f"   [{i}] {r['title']}" + (f" — {r['description']}" if r.get("description") else "")
                for i, r in enumerate(rows, 1)
            ]
        self._write("\n".join(lines))


def _with_console_admin(settings: Settings) -> Settings:
    """Without a configured admin chat, the console plays it: alerts and handoffs are printed."""
    if settings.admin_chat_id is not None:
        return settings
    return settings.model_copy(update={"admin_chat_id": ADMIN_CHAT_ID})


class ConsoleChat:
    def __init__(
        self,
        rt: Runtime,
        conversation: Conversation,
        sender: ConsoleSender,
        *,
        channel: Channel = "telegram",
        wa_sender: WhatsAppConsoleSender | None = None,
    ) -> None:
        self._rt = rt
        self._sender = sender
        self._channel: Channel = channel
        self._client = int(WA_PHONE) if channel == "whatsapp" else CHAT_ID
        self._wa = wa_sender or WhatsAppConsoleSender()
        self._processor = conversation.processor
        self._chores = worker_chores(rt, conversation.runner)
        senders: dict[str, Sender] = {"telegram": sender, "whatsapp": self._wa}
        self._worker = OutboundWorker(rt.redis, senders, rt.audit)
        self._ids = itertools.count(int(time.time() * 1000) % 1_000_000_000)

    async def say(self, line: str) -> None:
        """One client line (or a button number) through the whole pipeline, replies printed."""
        n = next(self._ids)
        msgs: list[UnifiedMessage | None]
        if line.startswith("/admin "):
            admin = self._rt.settings.admin_chat_id or ADMIN_CHAT_ID
            msgs = [
                telegram.parse_update(
                    text_update(n, admin, n, line.removeprefix("/admin ").strip(), first_name="Админ")
                )
            ]
        elif self._channel == "whatsapp":
            msgs = list(whatsapp.parse_payload(self._wa_payload(line)).messages)
        elif line.isdigit() and 0 < int(line) <= len(self._sender.last_buttons):
            data = self._sender.last_buttons[int(line) - 1]
            msgs = [telegram.parse_update(callback_update(n, CHAT_ID, n, data, callback_id=str(n), first_name="Гость"))]
        else:
            msgs = [telegram.parse_update(text_update(n, CHAT_ID, n, line, first_name="Гость"))]
        # One person at a keyboard is no spammer, but piped input arrives faster than 5 per 10 s.
        await self._rt.redis.delete(keys.spam(self._channel, self._client))
        for msg in msgs:
            if msg is not None:
                await self._processor.process(msg)
        await self.tick()

    def _wa_payload(self, line: str) -> dict[str, Any]:
        """The webhook payload Meta would POST for this line: a tap on a shown choice, or text."""
        choices = self._wa.choices
        if line.isdigit() and 0 < int(line) <= len(choices):
            kind, choice_id, title = choices[int(line) - 1]
            builder = wa.button_reply if kind == "button_reply" else wa.list_reply
            item = builder(WA_PHONE, choice_id, title)
        else:
            item = wa.text(WA_PHONE, line)
        return wa.payload([item], names={WA_PHONE: "Гость"})

    async def tick(self) -> None:
        """The worker's share of a turn: due reminders and timeouts, delivery, audit rows."""
        for chore in self._chores:
            await chore()
        await self._worker.drain()
        await flush_audit(self._rt.redis, self._rt.db)

    async def reset(self) -> None:
        await self._rt.sessions.delete(self._channel, self._client)
        await self._rt.redis.delete(keys.profile(self._channel, self._client))


async def _loop(settings: Settings, fresh: bool, channel: Channel) -> None:
    async with open_runtime(settings) as rt, open_conversation(rt) as conversation:
        chat = ConsoleChat(rt, conversation, ConsoleSender(CHAT_ID), channel=channel)
        if fresh:
            await chat.reset()
        print(WA_BANNER if channel == "whatsapp" else BANNER)
        while True:
            try:
                line = (await asyncio.to_thread(input, "вы> ")).strip()
            except EOFError:
                break
            if line in {"/quit", "/exit", "/q"}:
                break
            if line:
                await chat.say(line)


def run_chat(settings: Settings, *, fresh: bool = False, debug: bool = False, channel: Channel = "telegram") -> int:
    state_dir = default_state_dir()
    state_dir.mkdir(parents=True, exist_ok=True)
    if debug:
        configure_logging(stream=sys.stderr)
    else:
        configure_logging(stream=(state_dir / "chat.log").open("a", encoding="utf-8"))
    with _servers(settings, state_dir) as ready:
        try:
            asyncio.run(_loop(_with_console_admin(ready), fresh, channel))
        except KeyboardInterrupt:
            pass
    print("\nДо встречи!")
    return 0
