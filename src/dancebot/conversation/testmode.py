"""Test mode (`TEST_MODE=true`, PRODUCT.md §13.2): commands a tester types in their own chat.

    /debug        state, slots (phone masked), what the bot waits for, degradation level, profile
    /trace [id]   every recorded event of a trace (default: this chat's previous message), in time order:
                  inbound and outbound messages, FSM transitions, CRM calls, LLM calls, booking attempts,
                  deliveries, errors, fallback requests, dead letters
    /reset        this chat's session and profile: the next message starts afresh
    /budget       the Budget Guard's counters and limits

`test_command` is hooked at the top of `ConversationRunner.handle`: with TEST_MODE off it returns None
at once and these words are ordinary text. In test mode it also remembers each message's trace id, for
`/trace` without an id. A trace is read from PostgreSQL plus the rows still waiting on `queue:audit`, so
a trace of a moment ago is whole. `RowEcho` (a worker chore in test mode) prints every audit row written
to PostgreSQL as a `trace.row` log line: the full trace goes to stdout too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections.abc import Iterable
from typing import Any, Final, Protocol, cast

import sqlalchemy as sa

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.session import Session
from dancebot.llm.health import degradation_level
from dancebot.llm.layer import budget_report, budget_text
from dancebot.logs import get_logger, mask_text
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.tables import TABLES_BY_NAME

__all__ = ["RowEcho", "test_command", "trace_events", "trace_lines"]

log = get_logger(__name__)

_COMMAND = re.compile(r"^/(debug|trace|reset|budget)(?:@\w+)?(?:\s+(\S+))?\s*$", re.I)
_TRACE_ID = re.compile(r"^[0-9a-fA-F-]{8,36}$")
_LAST_TRACE_TTL: Final = 24 * 3600
_MAX: Final = 3800  # characters per message (Telegram takes 4096)
_EMPTY_RETRIES: Final = 6
_TRACE_TABLES: Final = (
    "messages",
    "fsm_transitions",
    "tool_calls",
    "llm_calls",
    "booking_attempts",
    "errors",
    "fallback_requests",
    "dead_letter_messages",
)


class CRMHealth(Protocol):
    async def health(self) -> str: ...


async def test_command(rt: Runtime, crm: CRMHealth, msg: UnifiedMessage, session: Session) -> list[OutboundJob] | None:
    """The replies to a test-mode command; None when this is not one (or test mode is off)."""
    if not rt.settings.test_mode:
        return None
    m = _COMMAND.match((msg.text or "").strip()) if msg.text else None
    if m is None:
        await rt.redis.set(keys.last_trace(msg.channel, msg.chat_id), msg.trace_id, ex=_LAST_TRACE_TTL)
        return None
    command, arg = m.group(1).lower(), m.group(2)
    log.info("testmode.command", command=command)
    if command == "debug":
        texts = [await _debug(rt, crm, msg, session)]
    elif command == "reset":
        texts = [await _reset(rt, session)]
    elif command == "budget":
        texts = [await _budget(rt)]
    else:
        texts = await _trace(rt, msg, arg)
    return [OutboundJob(chat_id=msg.chat_id, channel=msg.channel, text=t, trace_id=msg.trace_id) for t in texts]


# ---- the commands ---------------------------------------------------------------------------------------


async def _debug(rt: Runtime, crm: CRMHealth, msg: UnifiedMessage, session: Session) -> str:
    try:
        crm_status = await crm.health()
    except Exception:
        crm_status = "down"
    llm = str((await budget_report(rt))["llm"])
    profile = await rt.sessions.load_profile(msg.channel, msg.chat_id)
    slots = {k: v for k, v in session.slots.model_dump(mode="json").items() if v not in (None, [], {}, False)}
    if session.slots.occurrence is not None:
        slots["occurrence"] = session.slots.occurrence.occurrence_id
    pending = session.pending
    waits = {
        "slot": pending.slot,
        "question": pending.question,
        "cancel": pending.cancel.step if pending.cancel else None,
        "freeze": pending.freeze.model_dump() if pending.freeze else None,
    }
    last = await rt.redis.get(keys.last_trace(msg.channel, msg.chat_id))
    lines = [
        f"state: {session.state} ({int(time.time() - session.state_since)} s)",
        f"slots: {_pairs(slots)}",
        f"pending: {_pairs({k: v for k, v in waits.items() if v})}",
        f"degradation: {degradation_level(crm_status, llm)} (crm {crm_status}, llm {llm})",
        f"profile: {_pairs(profile.model_dump(exclude_none=True))}",
        f"language: {session.language or rt.kb.tone.language}; history: {len(session.history)} messages",
        f"last trace: {last.decode() if isinstance(last, bytes) else '—'}",
    ]
    return mask_text("\n".join(lines))[:_MAX]


async def _reset(rt: Runtime, session: Session) -> str:
    fresh = Session(channel=session.channel, chat_id=session.chat_id)
    for name in type(session).model_fields:
        setattr(session, name, getattr(fresh, name))  # the caller saves this very object
    await rt.redis.delete(
        keys.profile(session.channel, session.chat_id), keys.last_trace(session.channel, session.chat_id)
    )
    return "Сессия сброшена: состояние IDLE, слоты и профиль пусты. Можно начинать заново."


async def _budget(rt: Runtime) -> str:
    report = await budget_report(rt)
    if report["llm"] == "not_configured":
        limits = rt.settings
        return (
            "LLM not configured — бот работает по правилам, без LLM.\n"
            f"Лимиты Budget Guard: {limits.max_tokens_per_hour} токенов/час, ${limits.max_cost_per_day_usd:g}/сутки, "
            f"{limits.max_requests_per_minute} запросов/мин, {limits.max_errors_per_hour} ошибок/час."
        )
    return budget_text(report)


async def _trace(rt: Runtime, msg: UnifiedMessage, arg: str | None) -> list[str]:
    if arg is None:
        last = await rt.redis.get(keys.last_trace(msg.channel, msg.chat_id))
        if not isinstance(last, bytes):
            return ["Укажите trace id: /trace 1b9d6bcd-… (он есть в /debug и в логах)."]
        arg = last.decode()
    if not _TRACE_ID.match(arg):
        return [f"Это не trace id: {arg}. Пример: /trace 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"]
    events = await trace_events(rt, arg)
    for _ in range(_EMPTY_RETRIES):  # the worker may be writing the batch: out of the queue, not yet committed
        if events:
            break
        await asyncio.sleep(0.5)
        events = await trace_events(rt, arg)
    if not events:
        return [f"Событий с trace {arg} нет (записи появляются в течение секунды)."]
    return _chunks([f"trace {arg}: {len(events)} событий", *trace_lines(events, rt.tz)])


# ---- a trace --------------------------------------------------------------------------------------------


async def trace_events(rt: Runtime, trace_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(table, row) of every audit row of the trace, written or still queued, oldest first."""
    found: list[tuple[str, dict[str, Any]]] = []
    async with rt.db.connect() as conn:
        for name in _TRACE_TABLES:
            table = TABLES_BY_NAME[name]
            rows = await conn.execute(sa.select(table).where(table.c.trace_id == trace_id).order_by(table.c.id))
            found += [(name, dict(row._mapping)) for row in rows]
    for raw in cast("list[bytes]", await rt.redis.lrange(keys.AUDIT_QUEUE, 0, -1)):
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        row = item.get("row") or {}
        if item.get("table") in _TRACE_TABLES and row.get("trace_id") == trace_id:
            row["created_at"] = dt.datetime.fromtimestamp(float(row.get("created_at", 0)), dt.UTC)
            found.append((str(item["table"]), row))
    return sorted(found, key=lambda e: e[1]["created_at"])


def trace_lines(events: Iterable[tuple[str, dict[str, Any]]], tz: dt.tzinfo) -> list[str]:
    return [
        f"{row['created_at'].astimezone(tz):%H:%M:%S.%f}"[:12] + " " + _describe(table, row) for table, row in events
    ]


def _describe(table: str, r: dict[str, Any]) -> str:
    if table == "messages":
        arrow = "⬅ in" if r["direction"] == "in" else "➡ out"
        what = (
            r.get("text")
            if r.get("message_type") in (None, "text", "callback", "contact")
            else f"[{r['message_type']}]"
        )
        return f"{arrow} {r['chat_id']} [{r.get('state')}] «{_short(what)}»"
    if table == "fsm_transitions":
        return f"fsm {r['state_from']} —{r['event']}→ {r['state_to']} ({r.get('action')})"
    if table == "tool_calls":
        if str(r["function"]).endswith(".send"):
            args = r.get("arguments") or {}
            channel = str(r["function"]).split(".")[0]
            return f"sent {channel} → {args.get('chat_id')} ({args.get('purpose')}) {r['latency_ms']} ms"
        return f"crm {r['function']} {r['status']} {r['latency_ms']} ms"
    if table == "llm_calls":
        tokens = int(r.get("prompt_tokens") or 0) + int(r.get("completion_tokens") or 0)
        cost = float(r.get("cost_usd") or 0)
        return f"llm {r.get('purpose')} {r['status']} {tokens} tok ${cost:.4f} {r.get('latency_ms')} ms"
    if table == "booking_attempts":
        return f"booking {r['occurrence_id']} → {r['outcome']} ({_short(r.get('detail'))})"
    if table == "errors":
        return f"error {r['source']}/{r['kind']}: {_short(r.get('message'))}"
    if table == "fallback_requests":
        return f"fallback {r['kind']} ({r['reason']}) status {r.get('status', 'new')}"
    return f"dead letter → {r['chat_id']} after {r['attempts']} attempts: {_short(r.get('last_error'))}"


# ---- stdout ---------------------------------------------------------------------------------------------


class RowEcho:
    """Test mode, in the worker: each round, every audit row PostgreSQL got since the last round is logged
    as one `trace.row` line with its trace id — the full trace on stdout (masked like every log line)."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._seen: dict[str, int] | None = None

    async def chore(self) -> None:
        seen = self._seen
        async with self._rt.db.connect() as conn:
            if seen is None:  # start after what is already there
                self._seen = {
                    n: int((await conn.execute(sa.select(sa.func.coalesce(sa.func.max(t.c.id), 0)))).scalar_one())
                    for n, t in TABLES_BY_NAME.items()
                }
                return
            for name, table in TABLES_BY_NAME.items():
                rows = await conn.execute(
                    sa.select(table).where(table.c.id > seen[name]).order_by(table.c.id).limit(1000)
                )
                for row in rows:
                    data = dict(row._mapping)
                    seen[name] = int(data["id"])
                    when = data.pop("created_at").astimezone(self._rt.tz)
                    log.info(
                        "trace.row", table=name, trace_id=data.pop("trace_id"), at=when.isoformat(), **_plain(data)
                    )


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as log fields: times as ISO text, money as a number, `event` (a transition's) renamed."""
    plain = {
        k: v.isoformat() if isinstance(v, dt.datetime) else float(v) if k == "cost_usd" else v for k, v in row.items()
    }
    if "event" in plain:
        plain["fsm_event"] = plain.pop("event")
    return plain


def _pairs(data: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in data.items()) or "—"


def _short(text: Any, limit: int = 80) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _chunks(lines: list[str]) -> list[str]:
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= _MAX:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line[:_MAX])
    return chunks
