"""LLM usage over the whole conversation corpus (PRODUCT.md §16.3, issue 9).

    python benchmarks/llm_usage.py [-k EXPR]

Runs the conversation suite (`tests/conversations`: `dancebot serve` + `dancebot worker` as processes, the
fake Telegram and the fake Impulse CRM, clock frozen at Wed 2026-12-02 15:00) with the LLM layer switched
on: LLM_BASE_URL points at the project's fake OpenAI-compatible server, which answers every request with a
plausible extraction JSON and reports `usage` as a real endpoint would (about four characters a token). At
the end of the suite, before its database is dropped, the `messages`, `llm_calls` and `booking_attempts`
rows are read, and these figures printed next to the targets:

- LLM calls per user message (target ≤ 0.3);
- prompt tokens per call (target ≤ 2,000);
- tokens and cost per completed booking (target ≤ 2,500 tokens; prices 0.15 / 0.60 USD per 1M tokens).

The exit code is 0 whatever the figures (benchmarks are never timed assertions); the suite's own failures
are reported as a count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from dancebot.runtime import connect_redis  # noqa: E402
from dancebot.storage import db, keys  # noqa: E402
from dancebot.storage.tables import booking_attempts, llm_calls, messages  # noqa: E402
from tests.conftest import ADMIN_CHAT_ID, Servers  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402
from tests.fakes.llm import FakeLLM  # noqa: E402

KEY = "sk-benchmark"
PRICE_IN, PRICE_OUT = 0.15, 0.60  # USD per 1M tokens, a small hosted model
TARGET_CALLS_PER_MESSAGE, TARGET_PROMPT_TOKENS, TARGET_TOKENS_PER_BOOKING = 0.3, 2_000, 2_500
# What a model typically answers to a message the rules could not settle: nothing it can add for sure.
ANSWER = {
    "intent": "unknown",
    "slots": {
        "style_raw": None,
        "teacher_raw": None,
        "branch_raw": None,
        "date_text": None,
        "time_text": None,
        "name": None,
        "phone": None,
    },
    "confidence": 0.3,
    "answer": None,
}


class Collect:
    """A pytest plugin: reads the stack's rows at the end of the session, before the database goes."""

    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}
        self.failed = 0
        self.passed = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            self.passed += report.passed
            self.failed += report.failed

    async def read(self, servers: Servers) -> None:
        redis = connect_redis(servers.stack_redis_url)
        for _ in range(150):  # up to 30 s for the worker to write the last rows
            if not await redis.llen(keys.AUDIT_QUEUE):
                break
            await asyncio.sleep(0.2)
        await redis.aclose()
        engine = db.create_engine(servers.database_url)
        async with engine.connect() as conn:
            inbound = sa.and_(messages.c.direction == "in", messages.c.chat_id != ADMIN_CHAT_ID)
            self.figures["user_messages"] = (await conn.execute(sa.select(sa.func.count()).where(inbound))).scalar()
            self.figures["bookings"] = (
                await conn.execute(sa.select(sa.func.count()).where(booking_attempts.c.outcome == "booked"))
            ).scalar()
            rows = (await conn.execute(sa.select(llm_calls))).mappings().all()
            self.figures["calls"] = [dict(r) for r in rows]
        await engine.dispose()


COLLECT = Collect()


@pytest.fixture(scope="session", autouse=True)
async def _llm_usage(servers: Servers, stack: Stack) -> AsyncIterator[None]:
    """Torn down before the stack and the servers: the rows are read while they still exist."""
    yield
    await COLLECT.read(servers)


def report(c: Collect, seconds: float) -> None:
    f = c.figures
    if not f:
        print("no figures: the suite did not reach its end (see above)")
        return
    calls = [r for r in f["calls"] if r["status"] != "budget"]
    users, bookings = int(f["user_messages"] or 0), int(f["bookings"] or 0)
    prompt = sum(int(r["prompt_tokens"]) for r in calls)
    completion = sum(int(r["completion_tokens"]) for r in calls)
    cost = sum(float(r["cost_usd"]) for r in calls)
    per_message = len(calls) / users if users else float("nan")
    per_call = prompt / len(calls) if calls else 0.0
    per_booking = (prompt + completion) / bookings if bookings else float("nan")
    purposes = ", ".join(
        f"{p} {sum(1 for r in calls if r['purpose'] == p)}" for p in sorted({r["purpose"] for r in calls})
    )
    print(f"\nLLM usage over tests/conversations ({c.passed} passed, {c.failed} failed, {seconds:.0f} s)")
    print(f"  user messages            {users:>8}")
    print(f"  LLM calls                {len(calls):>8}   ({purposes or 'none'})")
    print(f"  completed bookings       {bookings:>8}")
    print(f"  calls per user message   {per_message:>8.3f}   target ≤ {TARGET_CALLS_PER_MESSAGE}")
    print(f"  prompt tokens per call   {per_call:>8.0f}   target ≤ {TARGET_PROMPT_TOKENS:,}")
    print(f"  tokens per booking       {per_booking:>8.0f}   target ≤ {TARGET_TOKENS_PER_BOOKING:,}")
    print(f"  cost per booking, USD    {cost / bookings if bookings else float('nan'):>8.5f}")
    met = (
        per_message <= TARGET_CALLS_PER_MESSAGE
        and per_call <= TARGET_PROMPT_TOKENS
        and per_booking <= TARGET_TOKENS_PER_BOOKING
    )
    print("verdict: all targets met" if met else "verdict: missed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-k", default=None, help="only the conversations matching this pytest expression")
    args = parser.parse_args(argv)
    fake = FakeLLM(api_key=KEY)
    fake.default = FakeLLM.json(ANSWER)
    collect = COLLECT
    with fake.serve_in_thread() as url:
        os.environ.update(
            {
                "LLM_BASE_URL": url,
                "LLM_API_KEY": KEY,
                "LLM_MODEL": "fake-model",
                "LLM_PRICE_INPUT_PER_1M_USD": str(PRICE_IN),
                "LLM_PRICE_OUTPUT_PER_1M_USD": str(PRICE_OUT),
            }
        )
        started = time.monotonic()
        pytest_args = ["-q", "-p", "no:cacheprovider", "-p", "no:xdist", str(ROOT / "tests" / "conversations")]
        pytest_args += ["-k", args.k] if args.k else []
        pytest.main(pytest_args, plugins=[collect, sys.modules[__name__]])
        report(collect, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
