"""Outbound delivery under Telegram's limits (PRODUCT.md §10.1, issue 10).

    python benchmarks/outbound.py [--workers 2 --chats 300 --per-chat 3 --idle 100]

Starts embedded Redis and PostgreSQL (or REDIS_URL and DATABASE_URL), the fake Telegram Bot API behind
`TelegramGate` with Telegram's flood limits on (a 429 for more than ~30 messages a second, or a chat past
a burst of 3 at one a second), and `dancebot worker` processes (plus `dancebot serve`, unused). Then:

1. **idle**: `--idle` jobs enqueued one at a time, 0.2 s apart, each to a new chat: enqueue → the fake's
   receipt of the sendMessage (time.monotonic on one host), p50/p95.
2. **sustained**: `--chats` × `--per-chat` jobs enqueued at once: the send rate over the middle 90 % of
   the run, against the 30/s limit, and how many 429s the limiter provoked (target 0).

Figures are printed; the exit code is 0 either way.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from pathlib import Path

from redis import Redis as SyncRedis

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.e2e.stack and the fakes

from benchmarks.harness import bot_env, servers  # noqa: E402

from dancebot.outbound.messages import OutboundJob  # noqa: E402
from dancebot.outbound.ratelimit import TELEGRAM  # noqa: E402
from dancebot.storage import keys  # noqa: E402
from tests.e2e.stack import run_stack, serve_in_thread  # noqa: E402
from tests.fakes.telegram import SentMessage, create_fake_telegram  # noqa: E402
from tests.fakes.telegram_gate import TelegramGate  # noqa: E402

BOT_TOKEN = "123456789:AAE-bench-token-for-dancebot"
WEBHOOK_SECRET = "webhook-secret-for-the-benchmark-9d2e"
TARGET_IDLE_P95_MS = 50.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def enqueue(redis: SyncRedis, *jobs: OutboundJob) -> None:
    """What `outbound.queue.enqueue` does, synchronously."""
    pipe = redis.pipeline(transaction=True)
    pipe.lpush(keys.OUTBOUND_QUEUE, *(j.dumps() for j in jobs))
    pipe.lpush(keys.OUTBOUND_WAKE, 1)
    pipe.ltrim(keys.OUTBOUND_WAKE, 0, 0)
    pipe.execute()


def wait_for(sent: list[SentMessage], chats: set[int], count: int, timeout: float) -> list[SentMessage]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [m for m in list(sent) if m.chat_id in chats]
        if len(got) >= count:
            return got
        time.sleep(0.01)
    return [m for m in list(sent) if m.chat_id in chats]


def idle_latency(redis: SyncRedis, sent: list[SentMessage], base: int, n: int) -> list[float]:
    latencies = []
    for i in range(n):
        chat = base + i
        started = time.monotonic()
        enqueue(redis, OutboundJob(chat_id=chat, text=f"Здравствуйте! Ответ №{i}"))
        got = wait_for(sent, {chat}, 1, 10)
        if got:
            latencies.append((got[0].received_at - started) * 1000)
        time.sleep(0.2)
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes sharing the limits")
    parser.add_argument("--chats", type=int, default=300, help="chats of the sustained run")
    parser.add_argument("--per-chat", type=int, default=3, help="jobs per chat (within Telegram's burst)")
    parser.add_argument("--idle", type=int, default=100, help="jobs of the idle-latency run")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dancebot-bench-", dir="/tmp") as tmp_dir:
        tmp = Path(tmp_dir)
        fake = create_fake_telegram(BOT_TOKEN)
        gate = TelegramGate(fake.app, limits=True)
        with servers(tmp) as (redis_url, database_url), serve_in_thread(gate) as tg_url:
            env = bot_env(redis_url, database_url, tg_url, token=BOT_TOKEN, secret=WEBHOOK_SECRET, TEST_MODE="true")
            with run_stack(env, tmp, workers=args.workers), SyncRedis.from_url(redis_url) as redis:
                base = 7_900_000_000 + random.randrange(1_000_000) * 10_000
                idle = idle_latency(redis, fake.sent, base, args.idle)

                chats = [base + 100_000 + i for i in range(args.chats)]
                total = args.chats * args.per_chat
                jobs = [OutboundJob(chat_id=c, text=f"Сообщение {n}") for n in range(args.per_chat) for c in chats]
                flood_before = len(gate.flood)
                started = time.monotonic()
                enqueue(redis, *jobs)
                got = wait_for(fake.sent, set(chats), total, timeout=total / TELEGRAM.per_second * 3 + 30)
                times = sorted(m.received_at for m in got)
                cut = len(times) // 20
                middle = times[cut : len(times) - cut] if len(times) > 40 else times
                rate = (len(middle) - 1) / (middle[-1] - middle[0]) if len(middle) > 1 else math.nan
                busiest = max(sum(1 for u in times if t <= u < t + 1.0) for t in times) if times else 0
                flood = len(gate.flood) - flood_before

        print(f"outbound: {args.workers} worker process(es), Telegram limits on the fake Bot API")
        rows = [
            ("idle enqueue → send", f"p50 {percentile(idle, 50):.1f} / p95 {percentile(idle, 95):.1f} ms",
             f"target p95 < {TARGET_IDLE_P95_MS:g} ms ({len(idle)} jobs)"),
            ("sustained jobs", f"{len(got)} of {total}", f"{args.chats} chats × {args.per_chat}"),
            ("sustained rate", f"{rate:.2f} msg/s", f"limit {TELEGRAM.per_second:g}/s, within 5 % = "
             f"{TELEGRAM.per_second * 0.95:.1f}–{TELEGRAM.per_second:g}"),
            ("busiest second", f"{busiest} messages", f"limit {TELEGRAM.per_second + TELEGRAM.burst:g} (30/s + burst)"),
            ("all delivered in", f"{(times[-1] - started) if times else math.nan:.1f} s", ""),
            ("429 provoked", f"{flood}", "target 0"),
        ]  # fmt: skip
        for name, value, target in rows:
            print(f"  {name:<22} {value:>22}   {target}")
        ok = (
            percentile(idle, 95) < TARGET_IDLE_P95_MS
            and TELEGRAM.per_second * 0.95 <= rate <= TELEGRAM.per_second * 1.01
            and flood == 0
            and len(got) == total
        )
        print("verdict: all targets met" if ok else "verdict: missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
