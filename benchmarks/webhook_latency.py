"""Webhook → reply latency under sustained load, and the memory it costs (PRODUCT.md §16.3 and its targets).

    python benchmarks/webhook_latency.py [--chats 20 --rate 50 --seconds 20 --warmup 3]
    python benchmarks/webhook_latency.py --rate 100 --crm-delay 1        # a slow CRM (issue 10)
    python benchmarks/webhook_latency.py --overload --crm-delay 1        # twice the measured capacity
    python benchmarks/webhook_latency.py --overload --capacity 100 --crm-delay 1   # 200 msg/s, no ramp

Starts embedded Redis and PostgreSQL in a temp dir (or uses REDIS_URL and DATABASE_URL when both are set),
the fake Telegram Bot API in a thread, and `dancebot serve` + `dancebot worker` as processes; then
`--chats` concurrent senders POST real Telegram update JSON at a sustained total of `--rate` messages/s.

Spam limit: the gate drops a chat's 6th message within 10 s, and 50 msg/s from 20 chats would be 2.5
msg/s per chat. So each sender (one "concurrent chat" = one stream of requests) rotates through its own
pool of chat ids, sized so that one chat id gets a message at most every CHAT_GAP seconds (≤ 3 per 10 s):
with the defaults, 20 senders × 10 chat ids = 200 chat ids, each written every 4 s.

Latency of a message = the fake's `SentMessage.received_at` (time.monotonic, comparable across processes
on one host) minus the monotonic time just before the POST; the k-th reply in a chat answers the k-th
message sent to it. The webhook's own answer (the ack) is timed separately: since issue 10 it comes once
the message is durably accepted, before the turn. Sending is open-loop (on schedule, not after the
previous reply), so a slow server shows up as latency instead of a lower rate. The generator posts through
`lean_http.LeanClient` (keep-alive sockets, prepared bytes): httpx cost it half a core at 200 msg/s, taken
from the 2 cores the bot shares with it.

`--crm-delay S` makes the fake Impulse answer every call after S seconds, and `--crm-share` of the
messages (default 2 %: at 100 msg/s about two a second, within the 3 requests/s the CRM client allows
itself against Impulse) are schedule questions meeting a cold schedule cache (as after a booking
invalidated it), so their turns wait on the CRM; latencies are reported for them and the rest apart.

`--overload` first measures capacity — the highest steady rate at which the normal run's targets hold:
replies keep pace (≥ 95 %, no backlog 2 s after the last message), ack p95 < 20 ms and reply p95 < 100 ms
(every message of a step needs no CRM call; a rate whose replies take seconds each is not handled, its
backlog just grows more slowly than the ramp can see), found by a ramp from `--ramp-from` in steps of
×1.25 of `--step-seconds` each — then offers twice that rate for `--seconds` and reports the throughput
held and how fast acks stay. (A draining burst measured turns alone, without their acks: once the load
client stopped eating half a core it read 324 msg/s, a rate the bot cannot hold with its acks.)
`--capacity R` skips the ramp and offers 2R: the same overload at a fixed rate, to compare two versions
on a machine whose ramp result moves from run to run.

The worker runs with `--telegram-rate` (default 1000/s, Telegram's paid-broadcast ceiling) instead of the
30/s a bot gets by default: at 100 msg/s the replies would otherwise queue behind the Bot API's limit
(which `benchmarks/outbound.py` measures). Figures are printed next to the targets; the exit code is 0
either way (benchmarks are never timed assertions).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import itertools
import math
import multiprocessing
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.e2e.stack: the same process launcher as the e2e tests

from dancebot.crm.fake import create_fake_impulse  # noqa: E402
from tests.e2e.stack import run_stack, serve_in_thread  # noqa: E402

CRM_KEY = "bench-impulse-key"

from benchmarks.harness import bot_env, servers  # noqa: E402
from benchmarks.lean_http import LeanClient, LeanError  # noqa: E402

from dancebot.channels.telegram_updates import text_update  # noqa: E402
from dancebot.runtime import connect_redis  # noqa: E402
from dancebot.storage import keys  # noqa: E402
from tests.fakes.telegram import SentMessage, create_fake_telegram  # noqa: E402

BOT_TOKEN = "123456789:AAE-bench-token-for-dancebot"
WEBHOOK_SECRET = "webhook-secret-for-the-benchmark-9d2e"
ADMIN_CHAT_ID = -1009876543210
CHAT_GAP = 4.0  # seconds between two messages to one chat id: ≤ 3 per 10 s, under the spam limit of 5
REPLY_WAIT = 15.0  # seconds to wait for stragglers after the last message
TARGET_P95_MS, TARGET_RATE, TARGET_APP_MB, TARGET_WORKER_MB = 100.0, 50.0, 150.0, 100.0

CRM_TEXTS = (
    "какое расписание на хилс на завтра?",
    "когда ближайшая сальса?",
    "есть хип-хоп в субботу?",
    "что есть вечером в пятницу?",
)
TARGET_ACK_P95_MS = 20.0
# Questions the KB answers: one reply each. (One the KB cannot answer goes to the administrator, and the
# chat's next messages are relayed to the admin chat without a reply of their own.)
TEXTS = (
    "привет",
    "Здравствуйте!",
    "добрый вечер)",
    "что взять на первое занятие?",
    "где вы находитесь?",
    "скок стоит пробное занятие?",
    "а если я опоздаю минут на 5, пустят?",
    "есть парковка рядом?",
    "можно прийти совсем без опыта? я деревянная))",
    "спасибо!",
)


@dataclass
class Post:
    chat_id: int
    sent_at: float  # time.monotonic() just before the POST
    measured: bool  # False during the warm-up
    crm: bool = False  # a schedule question meeting a cold cache: its turn waits on the CRM
    status: int = 0
    result: str = ""
    ack_ms: float = 0.0


class RssSampler:
    """Peak resident memory of each process, sampled in a thread every `interval` s.

    Children are not counted: the worker's only child is the one-shot `dancebot migrate` it runs at start
    (about 65 MB for a second, gone before the load begins)."""

    def __init__(self, pids: dict[str, int], interval: float = 0.1) -> None:
        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.peak_mb: dict[str, float] = dict.fromkeys(pids, 0.0)
        self.first_mb: dict[str, float] = {}
        self.cpu_s: dict[str, float] = {}

    def _rss_mb(self, proc: psutil.Process) -> float:
        return float(proc.memory_info().rss) / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, proc in self._procs.items():
                with contextlib.suppress(psutil.Error):
                    mb = self._rss_mb(proc)
                    self.first_mb.setdefault(name, mb)
                    self.peak_mb[name] = max(self.peak_mb[name], mb)
            self._stop.wait(self._interval)

    def _cpu_s(self) -> dict[str, float]:
        out = {}
        for name, proc in self._procs.items():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                out[name] = times.user + times.system
        return out

    def __enter__(self) -> RssSampler:
        self._cpu_start = self._cpu_s()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        end = self._cpu_s()
        # CPU seconds each process spent over the run: per message it does not depend on what else the
        # machine runs, unlike latency, so it is the figure to compare two versions by.
        self.cpu_s = {name: end[name] - self._cpu_start.get(name, 0.0) for name in end}


def chat_pools(senders: int, rate: float) -> list[list[int]]:
    """Disjoint chat ids per sender, enough that each id is written at most every CHAT_GAP seconds."""
    interval = senders / rate  # seconds between two messages of one sender
    per_sender = max(1, math.ceil(CHAT_GAP / interval))
    base = 7_000_000_000 + random.randrange(1_000_000) * 10_000  # fresh ids: a shared Redis keeps dedup marks
    return [[base + s * per_sender + i for i in range(per_sender)] for s in range(senders)]


WEBHOOK_PATH = "/webhook/telegram"


async def _post(client: LeanClient, update: dict[str, object], post: Post) -> None:
    try:
        status, answer = await client.post_json(WEBHOOK_PATH, update)
        post.status = status
        post.result = answer.get("result", "") if status == 200 and isinstance(answer, dict) else ""
    except LeanError as exc:
        post.result = str(exc)
    post.ack_ms = (time.monotonic() - post.sent_at) * 1000


async def generate_load(
    base_url: str,
    pools: list[list[int]],
    rate: float,
    warmup: float,
    seconds: float,
    *,
    crm_share: float = 0.0,
    redis_url: str | None = None,
) -> list[Post]:
    """Each sender fires on its own fixed schedule; requests overlap freely (open loop)."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    posts: list[Post] = []
    tasks: list[asyncio.Task[None]] = []
    update_ids = itertools.count(1)
    message_ids: dict[int, int] = defaultdict(int)

    rng = random.Random(7)
    redis = connect_redis(redis_url) if redis_url and crm_share else None
    client = LeanClient(base_url, connections=len(pools) * 2, headers=headers)
    try:
        start = time.monotonic()
        measure_from, end = start + warmup, start + warmup + seconds

        async def sender(index: int, chat_ids: list[int]) -> None:
            interval = len(pools) / rate
            tick = start + index / rate  # senders interleave: one message every 1/rate s overall
            k = 0
            while tick < end:
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
                chat_id = chat_ids[k % len(chat_ids)]
                message_ids[chat_id] += 1
                crm = rng.random() < crm_share
                text = CRM_TEXTS[k % len(CRM_TEXTS)] if crm else TEXTS[(index + k) % len(TEXTS)]
                if crm and redis is not None:
                    await redis.delete(keys.cache("schedule"))  # a cold cache: this turn asks the CRM
                update = text_update(next(update_ids), chat_id, message_ids[chat_id], text)
                post = Post(chat_id, time.monotonic(), measured=tick >= measure_from, crm=crm)
                posts.append(post)
                tasks.append(asyncio.create_task(_post(client, update, post)))
                k += 1
                tick += interval

        await asyncio.gather(*(sender(i, ids) for i, ids in enumerate(pools)))
        await asyncio.gather(*tasks)
    finally:
        await client.aclose()
    if redis is not None:
        await redis.aclose()
    return posts


def _load_in_child(kind: str, *args: Any, **kwargs: Any) -> Any:
    """Run a load generator in a process of its own: the fake servers' threads in this one must not slow the
    client down (one GIL), or the client's own delays would show up as the server's latency."""
    fn = {"load": generate_load}[kind]
    return asyncio.run(fn(*args, **kwargs))  # type: ignore[operator]


def in_child(kind: str, *args: Any, **kwargs: Any) -> Any:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_load_in_child, kind, *args, **kwargs).result()


def wait_for_replies(sent: list[SentMessage], chats: set[int], expected: int, patience: float = REPLY_WAIT) -> None:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline and sum(1 for m in list(sent) if m.chat_id in chats) < expected:
        time.sleep(0.05)


def match(posts: list[Post], sent: list[SentMessage]) -> tuple[list[tuple[Post, SentMessage]], int, int]:
    """Measured messages with their replies (the k-th reply in a chat answers the k-th message), how many
    got no reply, and replies beyond one per message."""
    replies: dict[int, list[SentMessage]] = defaultdict(list)
    for m in sorted(sent, key=lambda m: m.seq):
        replies[m.chat_id].append(m)
    by_chat: dict[int, list[Post]] = defaultdict(list)
    for p in sorted(posts, key=lambda p: p.sent_at):
        if p.result == "pass":
            by_chat[p.chat_id].append(p)
    answered: list[tuple[Post, SentMessage]] = []
    lost = extra = 0
    for chat_id, chat_posts in by_chat.items():
        got = replies.get(chat_id, [])
        extra += max(0, len(got) - len(chat_posts))
        for k, post in enumerate(chat_posts):
            if k >= len(got):
                lost += int(post.measured)
            elif post.measured:
                answered.append((post, got[k]))
    return answered, lost, extra


def per_second(times: list[float]) -> float:
    """Events per second between the first and the last of `times`."""
    span = max(times) - min(times) if len(times) > 1 else 0.0
    return (len(times) - 1) / span if span > 0 else math.nan


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def report(args: argparse.Namespace, pools: list[list[int]], posts: list[Post], sent: list[SentMessage],
           rss: RssSampler) -> None:  # fmt: skip
    measured = [p for p in posts if p.measured]
    answered, lost, extra = match(posts, sent)
    plain = [(reply.received_at - post.sent_at) * 1000 for post, reply in answered if not post.crm]
    slow = [(reply.received_at - post.sent_at) * 1000 for post, reply in answered if post.crm]
    refused = [p for p in measured if p.result != "pass"]
    rate = per_second([p.sent_at for p in measured])
    reply_rate = per_second([reply.received_at for _, reply in answered])
    p95 = percentile(plain, 95)
    acks = [p.ack_ms for p in measured]
    ack_p95 = percentile(acks, 95)
    app_mb, worker_mb = rss.peak_mb["app"], rss.peak_mb["worker"]
    ids = sum(len(p) for p in pools)
    accepted = max(1, sum(p.result == "pass" for p in posts))  # warm-up too: the CPU figures cover it

    crm = (
        f", CRM {args.crm_delay:g} s per call, {args.crm_share:.0%} cold-cache schedule questions"
        if args.crm_delay
        else ""
    )
    print(f"webhook → reply: {args.chats} concurrent chats over {ids} chat ids, {args.seconds:g} s after "
          f"{args.warmup:g} s warm-up{crm}")  # fmt: skip
    rows = [
        ("messages sent", f"{len(measured)}", ""),
        ("sent rate", f"{rate:.1f} msg/s", f"target {args.rate:g} msg/s"),
        ("reply rate", f"{reply_rate:.1f} msg/s", ""),
        ("replies received", f"{len(answered)} of {len(measured)}", ""),
        ("lost", f"{lost}", "target 0"),
        ("not accepted", f"{len(refused)}", "target 0 (spam/duplicate/HTTP errors)"),
        ("extra replies", f"{extra}", ""),
        (
            "webhook ack p50/p95",
            f"{percentile(acks, 50):.1f} / {ack_p95:.1f} ms",
            f"target p95 < {TARGET_ACK_P95_MS:g} ms",
        ),
        ("webhook ack max", f"{max(acks, default=math.nan):.1f} ms", "(POST round trip)"),
        ("reply p50 (no CRM)", f"{percentile(plain, 50):.1f} ms", ""),
        ("reply p95 (no CRM)", f"{p95:.1f} ms", f"target < {TARGET_P95_MS:g} ms"),
        ("reply max (no CRM)", f"{max(plain, default=math.nan):.1f} ms", ""),
    ]
    if slow:
        rows.append(("reply p50/p95 (CRM)", f"{percentile(slow, 50):.0f} / {percentile(slow, 95):.0f} ms",
                     f"{len(slow)} schedule questions"))  # fmt: skip
    rows += [
        ("CPU per message", f"app {1000 * rss.cpu_s.get('app', 0) / accepted:.2f} ms, "
         f"worker {1000 * rss.cpu_s.get('worker', 0) / accepted:.2f} ms", "warm-up included"),
        ("app RSS peak", f"{app_mb:.1f} MB", f"target < {TARGET_APP_MB:g} MB (idle {rss.first_mb.get('app', 0):.1f})"),
        ("worker RSS peak", f"{worker_mb:.1f} MB",
         f"target < {TARGET_WORKER_MB:g} MB (idle {rss.first_mb.get('worker', 0):.1f})"),
    ]  # fmt: skip
    for name, value, target in rows:
        print(f"  {name:<20} {value:>18}   {target}")
    missed = [
        name
        for name, ok in (
            ("reply p95", p95 < TARGET_P95_MS),
            ("ack p95", ack_p95 < TARGET_ACK_P95_MS),
            ("rate", rate >= 0.95 * args.rate and reply_rate >= 0.95 * args.rate),
            ("lost replies", lost == 0 and not refused),
            ("app RSS", app_mb < TARGET_APP_MB),
            ("worker RSS", worker_mb < TARGET_WORKER_MB),
        )
        if not ok
    ]
    print("verdict: all targets met" if not missed else f"verdict: missed — {', '.join(missed)}")


def steady_rate(times: list[float], start: float, end: float) -> float:
    """Events per second within [start, end]."""
    inside = [t for t in times if start <= t <= end]
    return len(inside) / (end - start) if end > start else math.nan


def keeps_pace(args: argparse.Namespace, stack_url: str, sent: list[SentMessage], rate: float) -> tuple[bool, str]:
    """Offer `rate` for a few seconds: are the normal run's targets met? The replies keep pace (≥ 95 % of
    the rate, the backlog gone within 2 s of the last message), acks under their target, and replies as
    fast as the target for messages that need no CRM call (every message of a step is one). A rate whose
    replies keep pace only by taking seconds each is beyond capacity: its backlog is what grows."""
    pools = chat_pools(args.chats, rate)
    posts = in_child("load", stack_url, pools, rate, 1.0, args.step_seconds)
    chats = {c for pool in pools for c in pool}
    measured = [p for p in posts if p.measured]
    start, end = min(p.sent_at for p in measured), max(p.sent_at for p in measured)
    accepted = sum(p.result == "pass" for p in posts)
    wait_for_replies(sent, chats, accepted, patience=2.0)
    replies = sorted(m.received_at for m in list(sent) if m.chat_id in chats)
    held = steady_rate(replies, start, end)
    ack_p95 = percentile([p.ack_ms for p in measured], 95)
    caught_up = len(replies) >= accepted
    wait_for_replies(sent, chats, accepted, patience=120)  # the next step starts from an empty backlog
    answered, _, _ = match(posts, [m for m in list(sent) if m.chat_id in chats])
    reply_p95 = percentile([(reply.received_at - post.sent_at) * 1000 for post, reply in answered], 95)
    ok = held >= 0.95 * rate and caught_up and ack_p95 < TARGET_ACK_P95_MS and reply_p95 < TARGET_P95_MS
    line = f"{rate:.0f} msg/s offered: replies {held:.1f} msg/s, ack p95 {ack_p95:.1f} ms, reply p95 {reply_p95:.0f} ms"
    return ok, line + ("" if caught_up else ", backlog left")


def overload(args: argparse.Namespace, stack_url: str, sent: list[SentMessage], redis_url: str) -> None:
    """Capacity = the highest steady rate the replies keep pace with (a ramp), then twice that rate offered;
    throughput and acks reported."""
    capacity, rate = args.capacity or 0.0, args.ramp_from
    while not args.capacity:
        ok, line = keeps_pace(args, stack_url, sent, rate)
        print(f"  ramp: {line}{'' if ok else '  ← beyond capacity'}")
        if not ok:
            break
        capacity, rate = rate, rate * 1.25
    if not capacity:
        print(f"capacity: below {args.ramp_from:g} msg/s, nothing to overload")
        return
    print(f"capacity: {capacity:.1f} msg/s (the highest steady rate the replies kept pace with)")

    offered = 2 * capacity
    pools = chat_pools(args.chats, offered)
    posts = in_child("load", stack_url, pools, offered, args.warmup, args.seconds, crm_share=args.crm_share,
                     redis_url=redis_url)  # fmt: skip
    chats = {c for pool in pools for c in pool}
    measured = [p for p in posts if p.measured]
    start, end = min(p.sent_at for p in measured), max(p.sent_at for p in measured)
    wait_for_replies(sent, chats, sum(p.result == "pass" for p in posts), patience=180)
    replies = sorted(m.received_at for m in list(sent) if m.chat_id in chats)
    held = steady_rate(replies, start, end)
    acks = [p.ack_ms for p in measured]
    _, lost, extra = match(posts, [m for m in sent if m.chat_id in chats])
    print(f"overload: {offered:.1f} msg/s offered for {args.seconds:g} s (twice the capacity)")
    rows = [
        ("offered rate", f"{per_second([p.sent_at for p in measured]):.1f} msg/s", ""),
        ("throughput held", f"{held:.1f} msg/s", f"{held / capacity:.0%} of capacity (target ≥ 90 %)"),
        ("webhook ack p50/p95", f"{percentile(acks, 50):.1f} / {percentile(acks, 95):.1f} ms",
         f"target p95 < {TARGET_ACK_P95_MS:g} ms"),
        ("webhook ack max", f"{max(acks):.1f} ms", ""),
        ("not accepted", f"{sum(p.result != 'pass' for p in measured)}", "target 0"),
        ("lost / extra", f"{lost} / {extra}", "every message answered once, after the backlog drained"),
    ]  # fmt: skip
    for name, value, target in rows:
        print(f"  {name:<20} {value:>18}   {target}")
    ok = held >= 0.9 * capacity and percentile(acks, 95) < TARGET_ACK_P95_MS and lost == 0
    print("verdict: no collapse" if ok else "verdict: missed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=20, help="concurrent senders")
    parser.add_argument("--rate", type=float, default=50.0, help="total messages per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured duration")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured load before it")
    parser.add_argument("--crm-delay", type=float, default=0.0, help="seconds the fake CRM takes per call")
    parser.add_argument("--crm-share", type=float, default=None, help="share of cold-cache schedule questions (0.02)")
    parser.add_argument("--telegram-rate", type=float, default=1000.0, help="the worker's Telegram sends/s")
    parser.add_argument("--overload", action="store_true", help="measure capacity, then offer twice it")
    parser.add_argument("--ramp-from", type=float, default=100.0, help="first rate of the capacity ramp (×1.25)")
    parser.add_argument("--capacity", type=float, default=0.0, help="skip the ramp: offer twice this rate")
    parser.add_argument("--step-seconds", type=float, default=6.0, help="seconds of each ramp step")
    args = parser.parse_args(argv)
    if args.crm_share is None:
        args.crm_share = 0.02 if args.crm_delay else 0.0  # ~2 cold reads/s: within the client's 3 CRM req/s

    with tempfile.TemporaryDirectory(prefix="dancebot-bench-", dir="/tmp") as tmp_dir:
        tmp = Path(tmp_dir)
        fake = create_fake_telegram(BOT_TOKEN)
        # The CRM is a separate HTTP server, as in production: neither process hosts the fake Impulse.
        impulse = create_fake_impulse(api_key=CRM_KEY)
        with (
            servers(tmp) as (redis_url, database_url),
            fake.serve_in_thread() as tg_url,
            serve_in_thread(impulse.app) as impulse_url,
        ):
            env = bot_env(redis_url, database_url, tg_url, token=BOT_TOKEN, secret=WEBHOOK_SECRET,
                          admin_chat_id=ADMIN_CHAT_ID, IMPULSE_API_KEY=CRM_KEY,
                          IMPULSE_BASE_URL=f"{impulse_url}/api/public")  # fmt: skip
            worker_args = ("--telegram-rate", str(args.telegram_rate))
            with run_stack(env, tmp, worker_args=worker_args) as stack:
                if args.crm_delay:
                    impulse.hang_seconds = args.crm_delay
                    impulse.set_mode("hang")  # every call answers after the delay
                if args.overload:
                    overload(args, stack.base_url, fake.sent, redis_url)
                    return 0
                pids = {"app": stack.procs["serve"].pid, "worker": stack.procs["worker0"].pid}
                pools = chat_pools(args.chats, args.rate)
                with RssSampler(pids) as rss:
                    posts = in_child("load", stack.base_url, pools, args.rate, args.warmup, args.seconds,
                                     crm_share=args.crm_share, redis_url=redis_url)  # fmt: skip
                    chats = {c for pool in pools for c in pool}
                    wait_for_replies(fake.sent, chats, sum(p.result == "pass" for p in posts))
                report(args, pools, posts, [m for m in fake.sent if m.chat_id in chats], rss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
