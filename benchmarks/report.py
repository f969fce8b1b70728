"""`dancebot report` over a studio's busy quarter (issue 12): 90 days × 300 conversations a day.

    python benchmarks/report.py [--days 90 --per-day 300 --runs 5 --seed 7]

Synthetic audit rows in the shapes the bot writes (tests/admin/seed.py): schedule questions, bookings
(some after a correction, some by button, some whose CRM failed into a fallback request, some unknown
outcomes verified later), handoffs (most answered), gibberish, stickers, a few dead letters, LLM calls and
Budget Guard refusals. Embedded PostgreSQL in a temp dir, migrated (so with the report's indexes),
`ANALYZE`d. Prints the rows written and the report's run time over the whole period and over the last 30
days (median of `--runs`, and the slowest); the target is under 2 s. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from dancebot.storage import db, report  # noqa: E402
from dancebot.storage.embedded import embedded_servers  # noqa: E402
from tests.admin.seed import Seed, Turn  # noqa: E402

TZ = ZoneInfo("Asia/Vladivostok")
ADMIN = -1001234567890
I, B, C, N, H, R, BIP = (  # noqa: E741 — the states, short
    "IDLE",
    "BROWSING_SCHEDULE",
    "CONFIRM_BOOKING",
    "COLLECTING_INTENT",
    "HANDOFF_TO_ADMIN",
    "ADMIN_RESPONDING",
    "BOOKING_IN_PROGRESS",
)


def conversation(s: Seed, rnd: random.Random, chat: int, start: dt.datetime) -> None:
    """One conversation of a random kind, its turns a minute or two apart."""
    t = start
    channel = "whatsapp" if rnd.random() < 0.2 else "telegram"

    def turn(say: str, state: str, *changes: tuple[str, str, str], **kw: Any) -> None:
        nonlocal t
        latency = rnd.uniform(0.05, 1.5)
        s.turn(channel, chat, Turn(t, say, state=state, transitions=list(changes), reply_after=latency, **kw))
        t += dt.timedelta(seconds=rnd.randint(20, 180))

    kind = rnd.random()
    if kind < 0.05:
        turn("", I, message_type="sticker")
        return
    if rnd.random() < 0.5:
        turn("какое расписание на субботу?", I, (I, "schedule", B), crm=[("get_schedule", "ok")])
    if kind < 0.35:
        turn("а сколько стоит?", B, (B, "price", B), llm=[(900, 120, 0.0004, "ok")])
        return
    if kind < 0.42:
        turn("ыва", I, (I, "unknown", N))
        turn("позовите администратора", N, (N, "admin", H), admin_alert="🙋")
        if rnd.random() < 0.8:
            s.system(channel, chat, t + dt.timedelta(minutes=rnd.randint(2, 90)), (H, "admin_reply", R))
            s.system(channel, chat, t + dt.timedelta(minutes=100), (R, "admin_close", I))
        return
    turn("хочу на хилс в чт, Анна 89141234567", I, (I, "booking", C), crm=[("get_schedule", "ok")])
    if rnd.random() < 0.3:
        turn("нет, в субботу", C, (C, "no", C))
    roll = rnd.random()
    if roll < 0.06:
        turn(
            "да",
            C,
            (C, "yes", BIP),
            (BIP, "crm_unavailable", I),
            crm=[("find_client", "CRMUnavailable")],
            attempts=[("unavailable", "CRMUnavailable", 0.2)],
            fallback=("booking", "unavailable", "new"),
        )
    elif roll < 0.08:
        turn(
            "да",
            C,
            (C, "yes", BIP),
            (BIP, "crm_unverified", I),
            crm=[("create_booking", "CRMUnknownOutcome")],
            attempts=[("unknown", "create: outcome unknown", 0.5), ("booked", "verification read #1: stored", 20.0)],
        )
    else:
        turn(
            "yes",
            C,
            (C, "yes", BIP),
            (BIP, "crm_ok", I),
            message_type="callback" if rnd.random() < 0.5 else "text",
            crm=[("find_client", "ok"), ("create_booking", "ok")],
            attempts=[("booked", "create: stored", 0.4)],
            llm=[(0, 0, 0.0, "budget")] if rnd.random() < 0.01 else [],
        )
    if rnd.random() < 0.002:
        s.dead_letter(channel, chat, t)


async def build(database_url: str, days: int, per_day: int, seed: int) -> int:
    engine = db.create_engine(database_url)
    await db.migrate(engine)
    rnd = random.Random(seed)
    first = dt.date(2026, 9, 1)
    written = 0
    try:
        for d in range(days):
            s = Seed(ADMIN)
            day = first + dt.timedelta(days=d)
            for _ in range(per_day):
                chat = 1_000_000 + rnd.randint(0, per_day * days // 3)  # some clients come back
                start = dt.datetime.combine(day, dt.time(9), tzinfo=TZ) + dt.timedelta(minutes=rnd.randint(0, 720))
                conversation(s, rnd, chat, start)
            written += await s.write(engine)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return written


async def measure(database_url: str, when: report.Period, runs: int) -> tuple[list[float], dict[str, Any]]:
    engine = db.create_engine(database_url)
    times: list[float] = []
    figures: dict[str, Any] = {}
    try:
        for _ in range(runs):
            started = time.perf_counter()
            figures = await report.compute(engine, when, admin_chat_id=ADMIN)
            times.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return times, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="dancebot-bench-report-") as tmp,
        embedded_servers(Path(tmp), persist=False) as servers,
    ):
        started = time.perf_counter()
        rows = asyncio.run(build(servers.database_url, args.days, args.per_day, args.seed))
        print(
            f"synthetic data: {args.days} days × {args.per_day} conversations = {args.days * args.per_day} "
            f"conversations, {rows} audit rows, written in {time.perf_counter() - started:.1f} s"
        )
        last = dt.date(2026, 9, 1) + dt.timedelta(days=args.days - 1)
        for label, first in (("whole period", dt.date(2026, 9, 1)), ("last 30 days", last - dt.timedelta(days=29))):
            times, figures = asyncio.run(measure(servers.database_url, report.Period(first, last, TZ), args.runs))
            print(
                f"report, {label}: median {statistics.median(times):.3f} s, slowest {max(times):.3f} s "
                f"over {args.runs} runs (target < 2 s)"
            )
        print()
        print(report.render(figures))


if __name__ == "__main__":
    main()
