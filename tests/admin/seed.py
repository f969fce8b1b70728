"""Audit rows of whole conversations, in the shapes the running bot writes them, at chosen moments — so
the report's every figure can be known in advance (tests) or measured at scale (benchmarks/report.py).

A `Turn` is what one inbound message leaves behind: its `messages` row (state before), the engine's
transitions (`fsm_transitions`), CRM calls (`tool_calls`), booking attempts, an LLM call, a fallback
request, and the reply — its `messages` row and the `{channel}.send` row the worker leaves when the reply
reached the client (storage/trail.py). System events (timeouts, the admin's /reply) are `System` rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.storage.tables import (
    booking_attempts,
    dead_letter_messages,
    fallback_requests,
    fsm_transitions,
    llm_calls,
    messages,
    tool_calls,
)

Transition = tuple[str, str, str]  # state from, event, state to


@dataclass
class Turn:
    at: dt.datetime
    text: str
    state: str = "IDLE"  # before the message
    transitions: list[Transition] = field(default_factory=list)
    message_type: str = "text"
    reply_after: float | None = 0.2  # seconds until the reply was delivered; None: no reply
    reply_state: str | None = None  # default: the last transition's target
    crm: list[tuple[str, str]] = field(default_factory=list)  # (function, status)
    attempts: list[tuple[str, str | None, float]] = field(default_factory=list)  # (outcome, detail, +seconds)
    llm: list[tuple[int, int, float, str]] = field(default_factory=list)  # (prompt, completion, cost, status)
    fallback: tuple[str, str, str] | None = None  # (kind, reason, status)
    admin_alert: str | None = None  # a message to the admin chat in the same trace


@dataclass
class Seed:
    admin_chat_id: int
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def _add(self, table: str, **row: Any) -> None:
        self.rows.setdefault(table, []).append(row)

    def turn(self, channel: str, chat_id: int, t: Turn) -> str:
        """One inbound message and everything it caused; returns its trace id."""
        trace = str(uuid.uuid4())
        self._add(
            "messages", created_at=t.at, trace_id=trace, channel=channel, chat_id=chat_id, direction="in",
            message_id=trace[:8], message_type=t.message_type, text=t.text, state=t.state, is_edit=False,
        )  # fmt: skip
        step = dt.timedelta(milliseconds=5)
        for i, (state_from, event, state_to) in enumerate(t.transitions, 1):
            self.transition(channel, chat_id, t.at + i * step, (state_from, event, state_to), trace)
        for i, (function, status) in enumerate(t.crm, 1):
            self._add(
                "tool_calls", created_at=t.at + i * step, trace_id=trace, function=function,
                arguments={"client_id": 1}, status=status, latency_ms=40,
            )  # fmt: skip
        for outcome, detail, after in t.attempts:
            self._add(
                "booking_attempts", created_at=t.at + dt.timedelta(seconds=after), trace_id=trace, channel=channel,
                chat_id=chat_id, occurrence_id="302:2026-10-15", fingerprint=uuid.uuid4().hex * 2, client_id=1,
                phone_masked="+7914****567", outcome=outcome, detail=detail,
            )  # fmt: skip
        for prompt, completion, cost, status in t.llm:
            self._add(
                "llm_calls", created_at=t.at + step, trace_id=trace, model="m", purpose="extract",
                prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost, latency_ms=300, status=status,
            )  # fmt: skip
        if t.fallback is not None:
            kind, reason, status = t.fallback
            self.fallback(channel, chat_id, t.at + step, kind, reason, status, trace)
        if t.admin_alert is not None:
            self._add(
                "messages", created_at=t.at + step, trace_id=trace, channel="telegram", chat_id=self.admin_chat_id,
                direction="out", message_type="text", text=t.admin_alert, state=t.state, is_edit=False,
            )  # fmt: skip
            self.send("telegram", self.admin_chat_id, t.at + 2 * step, trace, "handoff")
        if t.reply_after is not None:
            state = t.reply_state or (t.transitions[-1][2] if t.transitions else t.state)
            self._add(
                "messages", created_at=t.at + step, trace_id=trace, channel=channel, chat_id=chat_id,
                direction="out", message_type="text", text="ответ", state=state, is_edit=False,
            )  # fmt: skip
            self.send(channel, chat_id, t.at + dt.timedelta(seconds=t.reply_after), trace, "reply")
        return trace

    def transition(self, channel: str, chat_id: int, at: dt.datetime, change: Transition, trace: str) -> None:
        state_from, event, state_to = change
        self._add(
            "fsm_transitions", created_at=at, trace_id=trace, channel=channel, chat_id=chat_id,
            state_from=state_from, event=event, state_to=state_to, action="x.y",
        )  # fmt: skip

    def system(self, channel: str, chat_id: int, at: dt.datetime, change: Transition) -> str:
        """A timeout or an admin command for the chat: its transition, in a trace of its own."""
        trace = str(uuid.uuid4())
        self.transition(channel, chat_id, at, change, trace)
        return trace

    def admin_command(self, at: dt.datetime, text: str) -> None:
        trace = str(uuid.uuid4())
        self._add(
            "messages", created_at=at, trace_id=trace, channel="telegram", chat_id=self.admin_chat_id,
            direction="in", message_type="text", text=text, state="ADMIN", is_edit=False,
        )  # fmt: skip

    def send(self, channel: str, chat_id: int, at: dt.datetime, trace: str, purpose: str) -> None:
        self._add(
            "tool_calls", created_at=at, trace_id=trace, function=f"{channel}.send",
            arguments={"chat_id": chat_id, "job": uuid.uuid4().hex, "purpose": purpose}, status="ok", latency_ms=30,
        )  # fmt: skip

    def fallback(
        self, channel: str, chat_id: int, at: dt.datetime, kind: str, reason: str, status: str, trace: str | None
    ) -> None:
        self._add(
            "fallback_requests", created_at=at, trace_id=trace, channel=channel, chat_id=chat_id, kind=kind,
            reason=reason, payload={"name": "Олег"}, status=status,
        )  # fmt: skip

    def dead_letter(self, channel: str, chat_id: int, at: dt.datetime) -> None:
        self._add(
            "dead_letter_messages", created_at=at, trace_id=None, channel=channel, chat_id=chat_id,
            payload={"text": "ответ"}, attempts=4, last_error="Forbidden: bot was blocked by the user",
        )  # fmt: skip

    async def write(self, engine: AsyncEngine, *, batch: int = 20_000) -> int:
        """Insert every row (in batches); returns how many."""
        tables = {
            t.name: t
            for t in (
                messages, fsm_transitions, tool_calls, booking_attempts, llm_calls, fallback_requests,
                dead_letter_messages,
            )
        }  # fmt: skip
        total = 0
        async with engine.begin() as conn:
            for name, rows in self.rows.items():
                columns = {key for row in rows for key in row}
                rows = [{**dict.fromkeys(columns), **row} for row in rows]  # one statement needs one shape
                for chunk in _chunks(rows, batch):
                    await conn.execute(insert(tables[name]), chunk)
                    total += len(chunk)
        self.rows.clear()
        return total


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]
