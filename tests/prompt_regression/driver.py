"""Conversations in one process, through the product's own pipeline: real Telegram update JSON → the
inbound processor (gate, lock, understanding, engine, effects) of `dancebot.wiring.open_conversation` →
the outbound queue, read back per turn. Redis and PostgreSQL are real (embedded or configured); the CRM is
the in-process fake Impulse (PRODUCT.md §7.2); the LLM is whatever the runtime's settings say.

What each turn left is collected: the client's replies, the admin chat's messages, the CRM tools called
(`tool_calls` rows) and the LLM requests (`llm_calls` rows), read from the audit queue as the worker would.
Nothing is delivered and no worker runs: a turn is over when the processor returns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dancebot.channels import telegram
from dancebot.channels.message import UnifiedMessage
from dancebot.channels.telegram_updates import callback_update, contact_update, text_update
from dancebot.config import Settings
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime, open_runtime
from dancebot.storage import keys
from dancebot.storage.embedded import configured_or_embedded
from dancebot.wiring import Conversation, open_conversation

__all__ = ["NOW", "Chat", "Turn", "open_stack", "servers"]

# PRODUCT.md §6.3's reference moment: Wed 2026-12-02 15:00 in Vladivostok.
NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Vladivostok"))
ADMIN_CHAT_ID = -1001234567890
_ids = itertools.count(1)


@dataclass
class Turn:
    """What one client message caused."""

    said: str
    replies: list[OutboundJob] = field(default_factory=list)
    admin: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    llm: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(j.text for j in self.replies)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        last = [j for j in self.replies if j.buttons]
        return [(b.text, b.data) for row in last[-1].buttons for b in row] if last else []


class Chat:
    """One client of the bot: say, tap, share the contact; the replies of each turn come back."""

    def __init__(self, rt: Runtime, conv: Conversation, chat_id: int, *, first_name: str = "Гость") -> None:
        self.rt, self.conv, self.chat_id, self.first_name = rt, conv, chat_id, first_name
        self.turns: list[Turn] = []

    @property
    def phone(self) -> str:
        """A valid Russian mobile number of this chat's own, as a client types it."""
        return f"8914{self.chat_id % 10_000_000:07d}"

    @property
    def e164(self) -> str:
        return "+7" + self.phone[1:]

    @property
    def buttons(self) -> list[tuple[str, str]]:
        for turn in reversed(self.turns):
            if turn.replies:
                return turn.buttons
        return []

    def bookings(self) -> list[dict[str, Any]]:
        """This client's active reservations in the fake CRM (found by the phone it books with)."""
        fake = self.conv.fake_crm
        assert fake is not None, "the in-process fake CRM"
        digits = self.e164[1:]
        ids = [cid for cid, c in fake.clients.items() if digits in re.sub(r"\D", "", json.dumps(c.get("phone")))]
        return [r for cid in ids for r in fake.active_reservations(client_id=cid)]

    async def state(self) -> str:
        return (await self.rt.sessions.load("telegram", self.chat_id)).state

    def message(self, text: str) -> UnifiedMessage:
        """`text` as this chat's next Telegram message (not sent)."""
        n = next(_ids)
        msg = telegram.parse_update(text_update(n, self.chat_id, n, text, first_name=self.first_name))
        assert msg is not None
        return msg

    async def say(self, text: str) -> Turn:
        n = next(_ids)
        text = text.replace("{phone}", self.phone)
        return await self._send(text_update(n, self.chat_id, n, text, first_name=self.first_name), text)

    async def tap(self, number: int) -> Turn:
        """Press button `number` (from 1) under the last reply that had buttons."""
        buttons = self.buttons
        if not 0 < number <= len(buttons):
            raise AssertionError(f"no button {number}: {buttons}")
        label, data = buttons[number - 1]
        n = next(_ids)
        update = callback_update(n, self.chat_id, n, data, callback_id=str(n), first_name=self.first_name)
        return await self._send(update, f"[{label}]")

    async def share_contact(self) -> Turn:
        n = next(_ids)
        update = contact_update(n, self.chat_id, n, self.e164.removeprefix("+"), first_name=self.first_name)
        return await self._send(update, "[contact]")

    async def _send(self, update: dict[str, Any], said: str) -> Turn:
        redis = self.rt.redis
        await redis.delete(keys.spam("telegram", self.chat_id))  # a script types faster than a person
        msg = telegram.parse_update(update)
        assert msg is not None, update
        await self.conv.processor.process(msg)
        turn = Turn(said)
        raw_jobs = await redis.lrange(keys.OUTBOUND_QUEUE, 0, -1)
        await redis.delete(keys.OUTBOUND_QUEUE)
        for job in (OutboundJob.loads(raw) for raw in reversed(raw_jobs)):
            if job.kind != "message":
                continue
            if job.chat_id == self.chat_id:
                turn.replies.append(job)
            elif job.chat_id == self.rt.settings.admin_chat_id:
                turn.admin.append(job.text)
        # This turn's rows by its trace id (other rows, e.g. the log trail's, may be queued at any moment).
        for item in reversed(await redis.lrange(keys.AUDIT_QUEUE, 0, -1)):
            row = json.loads(item)
            if row["row"].get("trace_id") != msg.trace_id:
                continue
            if row["table"] == "tool_calls" and "." not in row["row"]["function"]:  # not a `telegram.send`
                turn.tools.append(row["row"]["function"])
            elif row["table"] == "llm_calls":
                turn.llm.append(row["row"])
        self.turns.append(turn)
        return turn

    def dump(self) -> str:
        lines = []
        for t in self.turns:
            lines.append(f"  > {t.said}")
            lines += [f"  < {line}" for j in t.replies for line in j.text.splitlines()]
            lines += [f"  [admin] {a.splitlines()[0]}" for a in t.admin]
        return "\n".join(lines)


@contextlib.contextmanager
def servers(tmp: Path, redis_url: str | None = None, database_url: str | None = None) -> Iterator[tuple[str, str]]:
    """Configured Redis and PostgreSQL when both URLs are given, else embedded ones in `tmp`."""
    with configured_or_embedded(redis_url, database_url, tmp) as srv:
        yield srv.redis_url, srv.database_url


@contextlib.asynccontextmanager
async def open_stack(settings: Settings) -> AsyncIterator[tuple[Runtime, Conversation]]:
    """A runtime on those servers with the clock at `NOW`, and a fresh conversation pipeline (fresh fake CRM)."""
    async with open_runtime(settings) as rt:
        rt.clock = lambda: NOW
        async with open_conversation(rt) as conv:
            yield rt, conv
