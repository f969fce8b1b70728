"""The studio's numbers (`dancebot report`, the daily digest), from PostgreSQL only.

One SQL statement computes every figure over a period, in one snapshot; `render` prints them as a
table with Russian labels, `as_json` gives the same figures. The definitions, also in docs/DECISIONS.md:

- **conversation**: a chat's inbound messages (the admin chat's excluded) with no pause over 24 hours —
  the session's lifetime. An event belongs to the conversation of its trace's inbound message.
- **booking attempts**: `booking_attempts` rows, verification reads excluded; **completed bookings**: the
  traces that booked at least one class (a series counts once; a booking confirmed by a verification read
  counts); **success rate**: booked rows / attempts.
- **messages per completed booking**: the client's inbound messages of that conversation up to the
  message that booked, counted from the previous completed booking of the conversation.
- **handoff**: a transition into HANDOFF_TO_ADMIN (`fsm_transitions`); **admin response time**: from it to
  the first `admin_reply` of that chat before the chat was back in IDLE; never answered → counted apart.
- **"не понял"**: `unknown` events (outside a handoff) per inbound text message.
- **conversion**: conversations with a schedule, price or FAQ question (`schedule`/`price`/`info`
  events) that had a completed booking after the first such question.
- **LLM**: `llm_calls` rows; refusals by the Budget Guard (status `budget`) are its triggers, not calls.
- **inbound → reply delivered**: from the inbound row (a button tap's excluded: its answer is the tap's
  acknowledgement) to the first `{channel}.send` of a reply in its trace (`storage/trail.py`).
- **CRM errors**: `tool_calls` of the CRM whose status is not "ok"; **fallback rate**: conversations with a
  fallback request; **dead letters**: `dead_letter_messages` rows; **open requests**: fallback requests
  still "new" or "verify", whenever recorded.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["Period", "as_json", "compute", "period", "render"]

CONVERSATION_GAP: Final = dt.timedelta(hours=24)

_SQL = text(
    """
WITH inbound AS (
    SELECT m.id, m.created_at, m.trace_id, m.channel, m.chat_id, m.message_type,
           CASE WHEN lag(m.created_at) OVER w IS NULL OR m.created_at - lag(m.created_at) OVER w > :gap
                THEN 1 ELSE 0 END AS starts
    FROM messages m
    WHERE m.direction = 'in' AND m.created_at >= :start AND m.created_at < :end
      AND m.chat_id <> :admin AND coalesce(m.state, '') <> 'ADMIN'
    WINDOW w AS (PARTITION BY m.channel, m.chat_id ORDER BY m.created_at, m.id)
), numbered AS (
    SELECT i.*,
           sum(starts) OVER (PARTITION BY channel, chat_id ORDER BY created_at, id) AS conv
    FROM inbound i
), counted AS (
    SELECT n.*, row_number() OVER (PARTITION BY channel, chat_id, conv ORDER BY created_at, id) AS k
    FROM numbered n
), convs AS (
    SELECT channel, chat_id, conv, min(created_at) AS started FROM numbered GROUP BY channel, chat_id, conv
), spans AS (
    SELECT c.*, coalesce(lead(started) OVER (PARTITION BY channel, chat_id ORDER BY started), 'infinity')
           AS next_started
    FROM convs c
), traced AS (  -- the conversation (and position) of each trace that began with an inbound message
    SELECT DISTINCT ON (trace_id) trace_id, channel, chat_id, conv, k, created_at
    FROM counted WHERE trace_id IS NOT NULL ORDER BY trace_id, created_at
), attempts AS (
    SELECT outcome, coalesce(detail, '') LIKE 'verification read%' AS verification, trace_id
    FROM booking_attempts
    WHERE created_at >= :start AND created_at < :end AND chat_id <> :admin
), completed AS (
    SELECT t.trace_id, t.channel, t.chat_id, t.conv, t.k, t.created_at AS asked_at
    FROM (SELECT DISTINCT trace_id FROM attempts WHERE outcome = 'booked') b JOIN traced t USING (trace_id)
), per_booking AS (
    SELECT c.*, c.k - coalesce(lag(c.k) OVER (PARTITION BY channel, chat_id, conv ORDER BY asked_at), 0) AS msgs
    FROM completed c
), transitions AS (
    SELECT f.id, f.created_at, f.trace_id, f.channel, f.chat_id, f.state_from, f.event, f.state_to
    FROM fsm_transitions f
    WHERE f.created_at >= :start AND f.created_at < :end AND f.chat_id <> :admin
), handoffs AS (
    SELECT h.*,
           (SELECT min(r.created_at) FROM fsm_transitions r
             WHERE r.channel = h.channel AND r.chat_id = h.chat_id AND r.event = 'admin_reply'
               AND r.created_at > h.created_at
               AND r.created_at < coalesce(
                   (SELECT min(x.created_at) FROM fsm_transitions x
                     WHERE x.channel = h.channel AND x.chat_id = h.chat_id AND x.state_to = 'IDLE'
                       AND x.created_at > h.created_at), 'infinity')) AS answered_at
    FROM transitions h
    WHERE h.state_to = 'HANDOFF_TO_ADMIN' AND h.state_from NOT IN ('HANDOFF_TO_ADMIN', 'ADMIN_RESPONDING')
), questions AS (
    SELECT t.channel, t.chat_id, t.conv, min(t.created_at) AS first_at
    FROM transitions q JOIN traced t USING (trace_id)
    WHERE q.event IN ('schedule', 'price', 'info') AND q.state_from NOT IN ('HANDOFF_TO_ADMIN', 'ADMIN_RESPONDING')
    GROUP BY t.channel, t.chat_id, t.conv
), sends AS (
    SELECT trace_id, min(created_at) AS sent_at FROM tool_calls
    WHERE function LIKE '%.send' AND arguments ->> 'purpose' = 'reply'
      AND created_at >= :start AND created_at < :end + interval '1 hour'
    GROUP BY trace_id
), latency AS (
    SELECT extract(epoch FROM s.sent_at - n.created_at) * 1000 AS ms
    FROM numbered n JOIN sends s USING (trace_id)
    WHERE n.message_type <> 'callback' AND s.sent_at >= n.created_at
), fallbacks AS (
    SELECT f.channel, f.chat_id, f.created_at FROM fallback_requests f
    WHERE f.created_at >= :start AND f.created_at < :end AND f.chat_id <> :admin
), llm AS (
    SELECT * FROM llm_calls WHERE created_at >= :start AND created_at < :end
)
SELECT json_build_object(
  'conversations', (SELECT coalesce(json_object_agg(channel, n), '{}'::json)
                      FROM (SELECT channel, count(*) AS n FROM convs GROUP BY channel) x),
  'attempts', (SELECT coalesce(json_object_agg(outcome, n), '{}'::json)
                 FROM (SELECT outcome, count(*) AS n FROM attempts WHERE NOT verification GROUP BY outcome) x),
  'booked_rows', (SELECT count(*) FROM attempts WHERE outcome = 'booked'),
  'completed', (SELECT count(*) FROM per_booking),
  'msgs_avg', (SELECT avg(msgs) FROM per_booking),
  'msgs_p90', (SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY msgs) FROM per_booking),
  'handoffs', (SELECT count(*) FROM handoffs),
  'handoff_conversations', (SELECT count(DISTINCT (t.channel, t.chat_id, t.conv))
                              FROM handoffs h JOIN traced t USING (trace_id)),
  'unanswered', (SELECT count(*) FROM handoffs WHERE answered_at IS NULL),
  'response_median_s', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM answered_at - created_at))
                          FROM handoffs WHERE answered_at IS NOT NULL),
  'unknown', (SELECT count(*) FROM transitions
               WHERE event = 'unknown' AND state_from NOT IN ('HANDOFF_TO_ADMIN', 'ADMIN_RESPONDING')),
  'text_messages', (SELECT count(*) FROM numbered WHERE message_type = 'text'),
  'question_conversations', (SELECT count(*) FROM questions),
  'converted', (SELECT count(*) FROM questions q WHERE EXISTS (
                  SELECT 1 FROM completed c WHERE c.channel = q.channel AND c.chat_id = q.chat_id
                    AND c.conv = q.conv AND c.asked_at >= q.first_at)),
  'llm_calls', (SELECT count(*) FROM llm WHERE status <> 'budget'),
  'llm_tokens', (SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) FROM llm WHERE status <> 'budget'),
  'llm_cost', (SELECT coalesce(sum(cost_usd), 0) FROM llm),
  'budget_triggers', (SELECT count(*) FROM llm WHERE status = 'budget'),
  'latency_n', (SELECT count(*) FROM latency),
  'latency_p50', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM latency),
  'latency_p95', (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) FROM latency),
  'crm_calls', (SELECT count(*) FROM tool_calls WHERE created_at >= :start AND created_at < :end
                  AND function NOT LIKE '%.send'),
  'crm_errors', (SELECT count(*) FROM tool_calls WHERE created_at >= :start AND created_at < :end
                   AND function NOT LIKE '%.send' AND status <> 'ok'),
  'fallbacks', (SELECT count(*) FROM fallbacks),
  'fallback_conversations', (SELECT count(DISTINCT (s.channel, s.chat_id, s.conv)) FROM fallbacks f
                               JOIN spans s ON s.channel = f.channel AND s.chat_id = f.chat_id
                                AND f.created_at >= s.started AND f.created_at < s.next_started),
  'dead_letters', (SELECT count(*) FROM dead_letter_messages WHERE created_at >= :start AND created_at < :end),
  'open_requests', (SELECT count(*) FROM fallback_requests WHERE status IN ('new', 'verify'))
)
"""
)


@dataclass(frozen=True)
class Period:
    """Local calendar days `first`..`last` (inclusive) in the studio's zone."""

    first: dt.date
    last: dt.date
    tz: ZoneInfo

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), tzinfo=self.tz)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=self.tz)


def period(tz: ZoneInfo, today: dt.date, first: dt.date | None = None, last: dt.date | None = None) -> Period:
    """The report's days: `--from`/`--to` as given; by default the last 30 days up to today."""
    last = last or today
    return Period(first or last - dt.timedelta(days=29), last, tz)


async def compute(engine: AsyncEngine, when: Period, *, admin_chat_id: int | None = None) -> dict[str, Any]:
    """Every figure of the period (see the module doc), as the JSON `dancebot report --json` prints."""
    params = {"start": when.start, "end": when.end, "admin": admin_chat_id or 0, "gap": CONVERSATION_GAP}
    async with engine.connect() as conn:
        raw = (await conn.execute(_SQL, params)).scalar_one()
    r: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else dict(raw)
    conversations = sum(r["conversations"].values())
    attempts = sum(r["attempts"].values())
    completed = r["completed"]
    return {
        "period": {"from": when.first.isoformat(), "to": when.last.isoformat(), "tz": when.tz.key},
        "conversations": {"total": conversations, "by_channel": dict(sorted(r["conversations"].items()))},
        "bookings": {
            "attempts": attempts,
            "by_outcome": dict(sorted(r["attempts"].items())),
            "success_rate": _ratio(r["booked_rows"], attempts),
            "completed": completed,
            "messages_per_booking_avg": _round(r["msgs_avg"], 2),
            "messages_per_booking_p90": r["msgs_p90"],
        },
        "handoff": {
            "count": r["handoffs"],
            "rate": _ratio(r["handoff_conversations"], conversations),
            "median_response_s": _round(r["response_median_s"], 1),
            "unanswered": r["unanswered"],
        },
        "not_understood": {
            "count": r["unknown"],
            "text_messages": r["text_messages"],
            "rate": _ratio(r["unknown"], r["text_messages"]),
        },
        "conversion": {
            "question_conversations": r["question_conversations"],
            "booked": r["converted"],
            "rate": _ratio(r["converted"], r["question_conversations"]),
        },
        "llm": {
            "calls": r["llm_calls"],
            "tokens": int(r["llm_tokens"]),
            "cost_usd": _round(r["llm_cost"], 4),
            "cost_per_booking_usd": _round(float(r["llm_cost"]) / completed, 4) if completed else None,
            "budget_triggers": r["budget_triggers"],
        },
        "reply_latency_ms": {
            "messages": r["latency_n"],
            "p50": _round(r["latency_p50"], 0),
            "p95": _round(r["latency_p95"], 0),
        },
        "crm": {"calls": r["crm_calls"], "errors": r["crm_errors"]},
        "fallback": {
            "requests": r["fallbacks"],
            "rate": _ratio(r["fallback_conversations"], conversations),
            "open": r["open_requests"],
        },
        "dead_letters": r["dead_letters"],
    }


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


def render(report: dict[str, Any]) -> str:
    """The figures as a two-column terminal table with Russian labels."""
    b, h, n, c = report["bookings"], report["handoff"], report["not_understood"], report["conversion"]
    llm, lat, fb = report["llm"], report["reply_latency_ms"], report["fallback"]
    p = report["period"]
    rows: list[tuple[str, str]] = [("Период", f"{p['from']} — {p['to']} ({p['tz']})"), ("", "")]
    rows.append(("Диалогов", str(report["conversations"]["total"])))
    rows += [(f"  {channel}", str(count)) for channel, count in report["conversations"]["by_channel"].items()]
    rows.append(("Попыток записи", str(b["attempts"])))
    rows += [(f"  {_OUTCOMES.get(k, k)}", str(v)) for k, v in b["by_outcome"].items()]
    rows += [
        ("Успешных записей, доля", _pct(b["success_rate"])),
        ("Завершённых записей", str(b["completed"])),
        ("Сообщений клиента на запись: среднее", _num(b["messages_per_booking_avg"])),
        ("Сообщений клиента на запись: p90", _num(b["messages_per_booking_p90"])),
        ("Передано администратору", f"{h['count']} ({_pct(h['rate'])} диалогов)"),
        ("Ответ администратора, медиана", _duration(h["median_response_s"])),
        ("Передач без ответа", str(h["unanswered"])),
        ("«Не понял»", f"{n['count']} из {n['text_messages']} ({_pct(n['rate'])})"),
        ("Вопрос → запись (конверсия)", f"{c['booked']} из {c['question_conversations']} ({_pct(c['rate'])})"),
        ("Вызовов LLM", str(llm["calls"])),
        ("Токенов LLM", str(llm["tokens"])),
        ("Расход LLM, $", _num(llm["cost_usd"])),
        ("Расход LLM на запись, $", _num(llm["cost_per_booking_usd"])),
        ("Срабатываний Budget Guard", str(llm["budget_triggers"])),
        ("Сообщение → ответ доставлен, p50", _ms(lat["p50"])),
        ("Сообщение → ответ доставлен, p95", _ms(lat["p95"])),
        ("Ошибок CRM", f"{report['crm']['errors']} из {report['crm']['calls']} вызовов"),
        ("Заявок администратору (fallback)", f"{fb['requests']} ({_pct(fb['rate'])} диалогов)"),
        ("Недоставленных сообщений (DLQ)", str(report["dead_letters"])),
        ("Открытых заявок сейчас", str(fb["open"])),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" if label else "" for label, value in rows)


_OUTCOMES: Final = {
    "booked": "записан",
    "duplicate": "уже был записан",
    "rejected": "отказ CRM (мест нет, закрыто…)",
    "unavailable": "CRM недоступна",
    "unknown": "исход неизвестен (проверка)",
}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _num(value: float | int | None) -> str:
    return "—" if value is None else f"{value:g}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} мс"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} ч {minutes} мин" if hours else f"{minutes} мин {secs} с"
