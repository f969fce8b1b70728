"""`dancebot report`: every figure of a known set of conversations, exactly (docs/DECISIONS.md "Report").

The conversations are written as the bot writes them (tests/admin/seed.py) on two days in October, in a
database of their own: a client who sends only a sticker and a voice message, a booking after a
correction, a booking that became a fallback request, a handoff never answered, a complaint the admin
answered after ten minutes, gibberish then a price question then a booking by button, a WhatsApp
greeting whose reply died, a client back after more than a day, an unknown outcome the verification
found booked — and the admin chat's own rows, which count for nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.storage import report
from tests.admin.seed import Seed, Turn
from tests.conftest import ADMIN_CHAT_ID, KB_PATH, ROOT

TZ = ZoneInfo("Asia/Vladivostok")
DAY = dt.date(2026, 10, 14)
WHEN = report.Period(DAY, DAY + dt.timedelta(days=1), TZ)


def at(hour: int, minute: int = 0, second: float = 0, day: int = 0) -> dt.datetime:
    base = dt.datetime.combine(DAY + dt.timedelta(days=day), dt.time(hour, minute), tzinfo=TZ)
    return base + dt.timedelta(seconds=second)


H, B, C, I, N, CI, BIP = (  # noqa: E741 — the states, short
    "HANDOFF_TO_ADMIN",
    "BROWSING_SCHEDULE",
    "CONFIRM_BOOKING",
    "IDLE",
    "COLLECTING_INTENT",
    "COLLECTING_INTENT",
    "BOOKING_IN_PROGRESS",
)
LATENCIES: list[float] = []  # seconds inbound → reply delivered of every non-tap message, as seeded


def _turn(t: Turn) -> Turn:
    if t.reply_after is not None and t.message_type != "callback":
        LATENCIES.append(t.reply_after)
    return t


def seed_conversations() -> Seed:
    LATENCIES.clear()
    s = Seed(ADMIN_CHAT_ID)
    tg = "telegram"
    # A: only non-text messages — a conversation, no understanding, no transition
    s.turn(tg, 101, _turn(Turn(at(10), "", message_type="sticker", reply_after=0.3)))
    s.turn(tg, 101, _turn(Turn(at(10, 1), "", message_type="voice", reply_after=0.5)))
    # B: a booking after a correction (3 messages), one LLM call
    s.turn(
        tg,
        102,
        _turn(
            Turn(
                at(11),
                "хочу на хилс в чт, Анна, 89141234567",
                transitions=[(I, "booking", C)],
                crm=[("get_schedule", "ok")],
                llm=[(200, 100, 0.0012, "ok")],
            )
        ),
    )
    s.turn(tg, 102, _turn(Turn(at(11, 1), "нет, в субботу", state=C, transitions=[(C, "no", C)])))
    s.turn(
        tg,
        102,
        _turn(
            Turn(
                at(11, 2),
                "да",
                state=C,
                transitions=[(C, "yes", BIP), (BIP, "crm_ok", I)],
                crm=[("find_client", "ok"), ("create_booking", "ok")],
                attempts=[("booked", "create: stored", 0.5)],
                reply_after=1.0,
            )
        ),
    )
    # C: a schedule question, then a booking the CRM could not take: a fallback request
    s.turn(
        tg,
        103,
        _turn(
            Turn(
                at(12),
                "какое расписание на субботу?",
                transitions=[(I, "schedule", B)],
                crm=[("get_schedule", "ok")],
                reply_after=0.3,
            )
        ),
    )
    s.turn(
        tg,
        103,
        _turn(
            Turn(
                at(12, 1),
                "запишите на хилс в сб 14:00, Олег 89147654321",
                state=B,
                transitions=[(B, "booking", C)],
                reply_after=0.3,
            )
        ),
    )
    s.turn(
        tg,
        103,
        _turn(
            Turn(
                at(12, 2),
                "да",
                state=C,
                transitions=[(C, "yes", BIP), (BIP, "crm_unavailable", I)],
                crm=[("find_client", "CRMUnavailable")],
                attempts=[("unavailable", "CRMUnavailable", 0.1)],
                fallback=("booking", "unavailable", "new"),
                reply_after=0.4,
            )
        ),
    )
    # D: a handoff never answered: the 2 h reminder, the 4 h expiry
    s.turn(
        tg,
        104,
        _turn(
            Turn(at(13), "позовите администратора", transitions=[(I, "admin", H)], admin_alert="🙋 Нужен администратор")
        ),
    )
    s.system(tg, 104, at(15, 0, 5), (H, "timeout_reprompt", H))
    s.system(tg, 104, at(17, 0, 10), (H, "timeout_expire", I))
    # E: a complaint answered after 10 minutes, then closed
    s.turn(
        tg,
        105,
        _turn(
            Turn(
                at(14),
                "хочу пожаловаться на тренера",
                transitions=[(I, "complaint", H)],
                admin_alert="🙋 Нужен администратор: жалоба",
            )
        ),
    )
    s.admin_command(at(14, 10), "/reply 105 Извините, разберёмся")
    s.system(tg, 105, at(14, 10, 0.01), (H, "admin_reply", "ADMIN_RESPONDING"))
    s.admin_command(at(14, 20), "/close 105")
    s.system(tg, 105, at(14, 20, 0.01), ("ADMIN_RESPONDING", "admin_close", I))
    # F: gibberish ("не понял"), a price question, a booking confirmed by the Yes button (4 messages)
    s.turn(tg, 106, _turn(Turn(at(16), "ыва", transitions=[(I, "unknown", N)])))
    s.turn(tg, 106, _turn(Turn(at(16, 1), "сколько стоит хилс?", state=N, transitions=[(N, "price", CI)])))
    s.turn(
        tg,
        106,
        _turn(
            Turn(
                at(16, 2),
                "запишите на хилс в пт 19:00, Ира 89145550011",
                state=CI,
                transitions=[(CI, "booking", C)],
                llm=[(0, 0, 0.0, "budget")],
                reply_after=0.25,
            )
        ),
    )
    s.turn(
        tg,
        106,
        _turn(
            Turn(
                at(16, 3),
                "yes",
                state=C,
                message_type="callback",
                transitions=[(C, "yes", BIP), (BIP, "crm_ok", I)],
                crm=[("find_client", "ok"), ("create_booking", "ok")],
                attempts=[("booked", "create: stored", 0.5)],
                reply_after=0.9,
            )
        ),
    )
    # G: WhatsApp, a greeting; a reply to it died (a dead letter)
    s.turn("whatsapp", 79990000001, _turn(Turn(at(18), "привет", transitions=[(I, "greeting", I)], reply_after=0.6)))
    s.dead_letter("whatsapp", 79990000001, at(18, 5))
    # B again 25 hours later: a new conversation
    s.turn(tg, 102, _turn(Turn(at(12, 0, 0, day=1), "спасибо!", transitions=[(I, "thanks", I)], reply_after=0.15)))
    # H: an unknown outcome, then a verification read finds it booked (2 messages)
    s.turn(
        tg,
        108,
        _turn(
            Turn(
                at(10, 0, 0, day=1),
                "запишите на сальсу в ср 19:00, Петя 89140001122",
                transitions=[(I, "booking", C)],
                reply_after=0.35,
            )
        ),
    )
    s.turn(
        tg,
        108,
        _turn(
            Turn(
                at(10, 1, 0, day=1),
                "да",
                state=C,
                transitions=[(C, "yes", BIP), (BIP, "crm_unverified", I)],
                crm=[("create_booking", "CRMUnknownOutcome"), ("list_bookings", "CRMUnavailable")],
                attempts=[
                    ("unknown", "create: outcome unknown; re-read failed", 0.5),
                    ("booked", "verification read #1: stored", 20.0),
                ],
                reply_after=0.45,
            )
        ),
    )
    # outside the period: they change only the requests still open (whenever recorded)
    s.fallback(tg, 109, at(9, 0, 0, day=-3), "cancel", "CRMUnavailable", "new", None)
    s.fallback(tg, 110, at(9, 0, 0, day=-3), "booking", "unavailable", "done", None)
    s.dead_letter(tg, 109, at(9, 0, 0, day=-3))
    s.turn(tg, 111, Turn(at(9, 0, 0, day=5), "привет", transitions=[(I, "greeting", I)]))
    return s


def percentile_cont(values: list[float], q: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


EXPECTED_TEXT_MESSAGES = 15  # every typed message above inside the period (stickers, voice, the tap excluded)


async def test_every_figure_of_a_known_set_of_conversations(own_engine: AsyncEngine) -> None:
    await seed_conversations().write(own_engine)
    r = await report.compute(own_engine, WHEN, admin_chat_id=ADMIN_CHAT_ID)
    p50, p95 = (round(percentile_cont(LATENCIES, q) * 1000) for q in (0.5, 0.95))
    assert r == {
        "period": {"from": "2026-10-14", "to": "2026-10-15", "tz": "Asia/Vladivostok"},
        "conversations": {"total": 9, "by_channel": {"telegram": 8, "whatsapp": 1}},
        "bookings": {
            "attempts": 4,
            "by_outcome": {"booked": 2, "unavailable": 1, "unknown": 1},
            "success_rate": 0.75,  # booked rows, the verification's included, per attempt
            "completed": 3,
            "messages_per_booking_avg": 3.0,  # 3 (after a correction), 4 (gibberish, price, booking, tap), 2
            "messages_per_booking_p90": 4,
        },
        "handoff": {"count": 2, "rate": round(2 / 9, 4), "median_response_s": 600.0, "unanswered": 1},
        "not_understood": {"count": 1, "text_messages": EXPECTED_TEXT_MESSAGES, "rate": round(1 / 15, 4)},
        "conversion": {"question_conversations": 2, "booked": 1, "rate": 0.5},
        "llm": {"calls": 1, "tokens": 300, "cost_usd": 0.0012, "cost_per_booking_usd": 0.0004, "budget_triggers": 1},
        "reply_latency_ms": {"messages": len(LATENCIES), "p50": p50, "p95": p95},
        "crm": {"calls": 9, "errors": 3},
        "fallback": {"requests": 1, "rate": round(1 / 9, 4), "open": 2},
        "dead_letters": 1,
    }
    assert len(LATENCIES) == 17 and p50 == 300 and p95 == 680  # the seed itself, as a reader would count


async def test_an_empty_period_reports_zeros_and_no_rates(own_engine: AsyncEngine) -> None:
    r = await report.compute(own_engine, WHEN, admin_chat_id=ADMIN_CHAT_ID)
    assert r["conversations"] == {"total": 0, "by_channel": {}}
    assert r["bookings"]["success_rate"] is None and r["handoff"]["median_response_s"] is None
    assert "—" in report.render(r)


@pytest.mark.e2e
async def test_the_command_prints_the_table_and_the_same_figures_as_json(
    own_engine: AsyncEngine, own_database: str
) -> None:
    await seed_conversations().write(own_engine)
    expected = await report.compute(own_engine, WHEN, admin_chat_id=ADMIN_CHAT_ID)
    env = {
        **os.environ,
        "DATABASE_URL": own_database,
        "KB_PATH": str(KB_PATH),
        "ADMIN_CHAT_ID": str(ADMIN_CHAT_ID),
    }
    command = [sys.executable, "-m", "dancebot.cli", "report", "--from", "2026-10-14", "--to", "2026-10-15"]
    as_json, table = await asyncio.gather(
        asyncio.to_thread(subprocess.run, [*command, "--json"], env=env, cwd=ROOT, capture_output=True, text=True),
        asyncio.to_thread(subprocess.run, command, env=env, cwd=ROOT, capture_output=True, text=True),
    )
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == expected
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert any(line.startswith("Диалогов") and line.endswith(" 9") for line in lines)
    assert any(line.startswith("Передано администратору") and "2 (22.2 % диалогов)" in line for line in lines)
    assert any(line.startswith("Ответ администратора, медиана") and "10 мин 0 с" in line for line in lines)
    bad = await asyncio.to_thread(
        subprocess.run, [*command[:4], "--from", "14.10.2026"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
