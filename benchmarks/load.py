"""Load: 200 simulated clients holding whole booking conversations against `dancebot serve` + `dancebot worker`
on this machine, in rules mode (PRODUCT.md §16.3; issue 13's targets; figures go in docs/PERFORMANCE.md).

    python benchmarks/load.py [--clients 200 --seconds 60 --warmup 10 --think 0.6:1.2]
    python benchmarks/load.py --crm-rps 3 --telegram-rate 30     # production-shaped: Impulse's and Telegram's limits

Starts embedded Redis and PostgreSQL in a temp dir (or uses REDIS_URL and DATABASE_URL when both are set),
the fake Telegram Bot API (an HTTP server in a thread of this process), the fake Impulse CRM (an HTTP
server in a process of its own), and `dancebot serve` + `dancebot worker` as processes, with the
conversation clock at Wed 2026-12-02 15:00 Vladivostok.

By default it measures the bot itself: the CRM is asked at up to 1,000 requests/s (IMPULSE_MAX_RPS) and
the worker sends up to 1,000 messages/s (`--telegram-rate`). With Impulse's 3 requests/s and Telegram's
30 messages/s no bot gets near 150 messages/s of booking conversations: a booking is a few CRM requests,
and every message's reply passes through Telegram's limit. The production-shaped run shows how the bot
behaves against those limits (nothing lost, acks fast, bookings queued).

Each client is a loop: it picks a booking conversation (Russian, several phrasings: everything in one
message, a question first, a side question in the middle, typos), writes as a new person (a new chat id and
phone), sends a message, waits for the bot's first reply, thinks `--think` seconds (uniform), sends the next;
when the script ends it starts another conversation. Closed loop: a slow bot shows up as a lower rate and a
higher latency. A chat writes at most 4 messages in ~4 s, under the spam limit (5 in 10 s).

Figures, over the measured window (after `--warmup`):
- sustained messages/s (accepted by the webhook) and replies/s;
- reply latency (the first reply to a message, from just before its POST) p50/p95/p99, separately for the
  messages that need no CRM call (greetings, questions, the request itself once the schedule is cached) and
  for the confirmations, which book in the CRM;
- webhook ack (POST round trip) p50/p95;
- errors (HTTP errors, refused messages), lost replies (a message with no reply 15 s after the run),
  duplicated replies (a turn's reply made twice, or a chat sent more messages than the bot committed),
  duplicate reservations (a phone booked twice);
- RSS (peak) and CPU (average % of one core) of the app, the worker, Redis, PostgreSQL and this process (the
  load generator and the two fakes).

Everything stays on loopback; the run stops by itself after warm-up + seconds + the reply wait. Figures
are printed next to the targets; the exit code is 0 either way (benchmarks are never timed assertions).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.*: the same process launcher and fakes as the end-to-end tests

from benchmarks.harness import bot_env, servers  # noqa: E402
from benchmarks.lean_http import LeanClient, LeanError  # noqa: E402

from dancebot.channels.telegram_updates import text_update  # noqa: E402
from dancebot.crm.fake import create_fake_impulse  # noqa: E402
from dancebot.crm.models import normalize_phone  # noqa: E402
from dancebot.storage import db  # noqa: E402
from dancebot.storage.tables import booking_attempts, messages  # noqa: E402
from tests.e2e.stack import Stack, free_port  # noqa: E402
from tests.e2e.stack import _wait_healthy as wait_healthy  # noqa: E402
from tests.fakes.telegram import FakeTelegram, SentMessage, create_fake_telegram  # noqa: E402
from tests.stack_fixtures import NOW  # noqa: E402

BOT_TOKEN = "123456789:AAE-load-token-for-dancebot"
WEBHOOK_SECRET = "webhook-secret-for-the-load-test-5b1e"
ADMIN_CHAT_ID = -1009876543219
CRM_KEY = "load-impulse-key"
REPLY_TIMEOUT = 15.0
TARGET_RATE, TARGET_P95_MS, TARGET_APP_MB, TARGET_WORKER_MB = 150.0, 250.0, 150.0, 100.0

# Whole conversations that end in a booking in rules mode. "!" marks the confirmation, which books in the
# CRM; {phone} is typed as people type it (8953…), {pretty} as «8 (953) 123-45-67».
SCRIPTS: list[list[str]] = [
    ["хилс чт 20, Анна {phone}", "!да"],
    ["Здравствуйте! Запишите, пожалуйста, на сальсу в пятницу. Меня зовут Ирина, телефон {pretty}", "!да, всё верно"],
    ["запишите к Диме на хип-хоп в четверг, меня зовут Артём, {phone}", "!ок"],
    ["привет! что взять на первое занятие?", "хип-хоп в пн в 18:00, Егор, {phone}", "!да"],
    ["скок стоит пробное?", "запишите на контемп во вторник в 19:30, Оля {phone}", "а где это?", "!да"],
    ["здраствуйте, хачу на хилз в субботу, меня зовут Настя, {phone}", "!да"],
    ["сальса на следующей неделе в среду, Игорь, {phone}", "!да"],
    ["Добрый вечер) можно к Кате на контемп в пятницу в 19:30? Лена, {phone}", "!подтверждаю"],
    ["запишите на стретчинг во вторник в 8 утра, Алла {phone}", "сколько стоит?", "!да"],
]  # fmt: skip


@dataclass
class Sent:
    chat_id: int
    step: str  # "plain" (no CRM call) or "crm" (the confirmation, which books)
    sent_at: float
    measured: bool
    status: int = 0
    verdict: str = ""
    ack_ms: float = math.nan
    reply_ms: float = math.nan


@dataclass
class Conversation:
    chat_id: int
    phone: str
    script: list[str]
    done: bool = False


@dataclass
class Run:
    sent: list[Sent] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    started_at: float = 0.0
    measure_from: float = 0.0
    ends_at: float = 0.0


class Replies:
    """The fake Telegram's deliveries, per chat, as awaitable events (one scan of new deliveries for all)."""

    def __init__(self, fake: FakeTelegram) -> None:
        self._fake = fake
        self._seen = 0
        self._by_chat: dict[int, list[SentMessage]] = defaultdict(list)
        self._waiters: dict[int, list[tuple[int, asyncio.Future[SentMessage]]]] = defaultdict(list)

    def count(self, chat_id: int) -> int:
        return len(self._by_chat[chat_id])

    def of(self, chat_id: int) -> list[SentMessage]:
        return self._by_chat[chat_id]

    def wait(self, chat_id: int, index: int) -> asyncio.Future[SentMessage]:
        """The chat's `index`-th delivery (0-based), when it comes."""
        future: asyncio.Future[SentMessage] = asyncio.get_running_loop().create_future()
        if len(self._by_chat[chat_id]) > index:
            future.set_result(self._by_chat[chat_id][index])
        else:
            self._waiters[chat_id].append((index, future))
        return future

    async def pump(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            sent = self._fake.sent
            new, self._seen = sent[self._seen : len(sent)], len(sent)
            for m in new:
                self._by_chat[m.chat_id].append(m)
                waiting = self._waiters.get(m.chat_id)
                if waiting:
                    have = len(self._by_chat[m.chat_id])
                    for item in [w for w in waiting if w[0] < have]:
                        waiting.remove(item)
                        if not item[1].done():
                            item[1].set_result(self._by_chat[m.chat_id][item[0]])
            await asyncio.sleep(0.002)


class ProcessSampler:
    """Peak RSS and CPU time of named process groups, sampled every `interval` s in a thread."""

    def __init__(self, groups: dict[str, list[psutil.Process]], interval: float = 0.25) -> None:
        self._groups = groups
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self.peak_mb: dict[str, float] = dict.fromkeys(groups, 0.0)
        self._cpu_start: dict[str, float] = {}
        self._cpu_end: dict[str, float] = {}
        self._t0 = self._t1 = 0.0

    def _cpu(self, name: str) -> float:
        total = 0.0
        for p in self._groups[name]:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, procs in self._groups.items():
                mb = 0.0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        mb += p.memory_info().rss / 2**20
                self.peak_mb[name] = max(self.peak_mb[name], mb)
            self._stop.wait(self._interval)

    def start_measuring(self) -> None:
        self._t0 = time.monotonic()
        self._cpu_start = {name: self._cpu(name) for name in self._groups}

    def stop_measuring(self) -> None:
        self._t1 = time.monotonic()
        self._cpu_end = {name: self._cpu(name) for name in self._groups}

    def cpu_percent(self, name: str) -> float:
        span = self._t1 - self._t0
        return 100 * (self._cpu_end[name] - self._cpu_start[name]) / span if span > 0 else math.nan

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


_chat_ids = itertools.count(9_100_000_001)


def new_conversation(rng: random.Random) -> Conversation:
    chat_id = next(_chat_ids)
    digits = f"953{chat_id % 10_000_000:07d}"
    phone = f"8{digits}"
    pretty = f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
    script = [line.format(phone=phone, pretty=pretty) for line in rng.choice(SCRIPTS)]
    return Conversation(chat_id, phone, script)


async def client_loop(
    index: int, http: LeanClient, path: str, replies: Replies, run: Run, think: tuple[float, float]
) -> None:
    rng = random.Random(index)
    update_ids = itertools.count(index * 1_000_000 + 1)
    await asyncio.sleep(rng.uniform(0, think[1]))  # clients start spread out, not in one burst
    while time.monotonic() < run.ends_at:
        conv = new_conversation(rng)
        run.conversations.append(conv)
        for n, line in enumerate(conv.script, start=1):
            if time.monotonic() >= run.ends_at:
                return
            crm, text = line.startswith("!"), line.removeprefix("!")
            before = replies.count(conv.chat_id)
            sent = Sent(conv.chat_id, "crm" if crm else "plain", time.monotonic(), time.monotonic() >= run.measure_from)
            run.sent.append(sent)
            waiter = replies.wait(conv.chat_id, before)
            try:
                status, answer = await http.post_json(path, text_update(next(update_ids), conv.chat_id, n, text))
                sent.status = status
                sent.verdict = str(answer.get("result", "")) if status == 200 and isinstance(answer, dict) else ""
            except LeanError as exc:
                sent.verdict = str(exc)
            sent.ack_ms = (time.monotonic() - sent.sent_at) * 1000
            if sent.verdict != "pass":
                waiter.cancel()
                break  # the conversation cannot go on without this message
            try:
                first = await asyncio.wait_for(waiter, REPLY_TIMEOUT)
                sent.reply_ms = (first.received_at - sent.sent_at) * 1000
            except TimeoutError:
                break
            await asyncio.sleep(rng.uniform(*think))
        else:
            conv.done = True


async def generate(base_url: str, fake: FakeTelegram, clients: int, warmup: float, seconds: float,
                   think: tuple[float, float], sampler: ProcessSampler) -> tuple[Run, Replies]:  # fmt: skip
    path = "/webhook/telegram"
    replies = Replies(fake)
    stop = asyncio.Event()
    pump = asyncio.create_task(replies.pump(stop))
    run = Run()
    run.started_at = time.monotonic()
    run.measure_from = run.started_at + warmup
    run.ends_at = run.measure_from + seconds
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}

    async def measure() -> None:
        await asyncio.sleep(max(0.0, run.measure_from - time.monotonic()))
        sampler.start_measuring()
        await asyncio.sleep(max(0.0, run.ends_at - time.monotonic()))
        sampler.stop_measuring()

    http = LeanClient(base_url, connections=clients, headers=headers, timeout=30)  # httpx cost half a core
    try:
        await asyncio.gather(measure(), *(client_loop(i, http, path, replies, run, think) for i in range(clients)))
    finally:
        await http.aclose()
    deadline = time.monotonic() + REPLY_TIMEOUT  # stragglers
    while time.monotonic() < deadline and any(math.isnan(s.reply_ms) and s.verdict == "pass" for s in run.sent):
        await asyncio.sleep(0.1)
        for s in run.sent:
            if math.isnan(s.reply_ms) and s.verdict == "pass":
                got = [m for m in replies.of(s.chat_id) if m.received_at >= s.sent_at]
                if got:
                    s.reply_ms = (got[0].received_at - s.sent_at) * 1000
    stop.set()
    await pump
    return run, replies


@contextlib.contextmanager
def run_stack(env: dict[str, str], log_dir: Path, *, worker_args: list[str]) -> Iterator[Stack]:
    """tests.e2e.stack.run_stack with arguments for the worker (its send rate)."""
    port = free_port()
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    commands = {"serve": ["serve", "--host", "127.0.0.1", "--port", str(port)], "worker0": ["worker", *worker_args]}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = [log_dir / f"{name}.log" for name in commands]
    try:
        for (name, cmd), log in zip(commands.items(), logs, strict=True):
            procs[name] = subprocess.Popen([sys.executable, "-m", "dancebot.cli", *cmd], stdout=log.open("wb"),
                                           stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, procs, logs)
        yield Stack(url, env["TELEGRAM_WEBHOOK_SECRET"], logs, env["REDIS_URL"], procs)
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


async def booked_by_chat(database_url: str, chats: set[int]) -> Counter[int]:
    """Bookings the bot made per chat (its `booking_attempts` rows with outcome "booked"; each conversation is
    its own chat and books one class, so a count above 1 is a duplicate reservation)."""
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(booking_attempts.c.chat_id, sa.func.count())
                .where(booking_attempts.c.outcome == "booked")
                .group_by(booking_attempts.c.chat_id)
            )
            return Counter({chat: n for chat, n in rows.all() if chat in chats})
    finally:
        await engine.dispose()


async def doubled_replies(database_url: str, delivered: Counter[int]) -> int:
    """Replies delivered twice. The bot may rightly say the same text twice in a chat (the summary again
    after a side question), so text alone proves nothing; instead: a turn that made the same reply twice
    (two `messages` out rows with one trace id and one text), and a chat that received more messages than
    the bot ever committed (a job sent twice). Waits for the audit queue to reach Postgres first."""
    engine = db.create_engine(database_url)
    try:
        for _ in range(100):  # the worker writes the audit rows in batches; give it up to 10 s
            async with engine.connect() as conn:
                rows = await conn.execute(
                    sa.select(messages.c.chat_id, sa.func.count())
                    .where(messages.c.direction == "out", messages.c.chat_id.in_(list(delivered)))
                    .group_by(messages.c.chat_id)
                )
                recorded = Counter({chat: n for chat, n in rows.all()})
            if sum(recorded.values()) >= sum(delivered.values()):
                break
            await asyncio.sleep(0.1)
        async with engine.connect() as conn:
            twice = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .where(messages.c.direction == "out", messages.c.chat_id.in_(list(delivered)))
                    .group_by(messages.c.chat_id, messages.c.trace_id, messages.c.text)
                    .having(sa.func.count() > 1)
                )
            ).scalars()
            made_twice = sum(n - 1 for n in twice)
            if os.environ.get("LOAD_SHOW_DUPLICATES"):
                shown = await conn.execute(
                    sa.select(messages.c.chat_id, messages.c.text, sa.func.count())
                    .where(messages.c.direction == "out", messages.c.chat_id.in_(list(delivered)))
                    .group_by(messages.c.chat_id, messages.c.trace_id, messages.c.text)
                    .having(sa.func.count() > 1)
                )
                for chat, text, n in shown.all():
                    print("made twice", chat, n, (text or "")[:80], file=sys.stderr)
    finally:
        await engine.dispose()
    sent_twice = sum(max(0, n - recorded.get(chat, 0)) for chat, n in delivered.items())
    if os.environ.get("LOAD_SHOW_DUPLICATES"):
        for chat, n in delivered.items():
            if n > recorded.get(chat, 0):
                print("sent more than committed", chat, n, recorded.get(chat, 0), file=sys.stderr)
    return made_twice + sent_twice


def crm_duplicates(crm: dict[str, list[dict]], phones: set[str]) -> int:
    """Active reservations of the same class and day for one of our phones, in the CRM itself (http mode):
    `crm` is what the fake CRM's process left at exit (`clients`, `reservations`)."""
    phone_of = {}
    for c in crm["clients"]:
        raw = c.get("phone")
        for p in raw if isinstance(raw, list) else [raw]:
            if (e164 := normalize_phone(p)) in phones:
                phone_of[c["id"]] = e164
    seen = Counter(
        (phone_of[r["client"]["id"]], r["schedule"]["id"], r["date"])
        for r in crm["reservations"]
        if r["client"]["id"] in phone_of and not r["deleted"] and not r["archived"]
    )
    return sum(n - 1 for n in seen.values() if n > 1)


def _serve_crm(port: int, dump: str, stop: Any) -> None:
    """The child process of `crm_process`: the fake Impulse on `port` until `stop` is set, then its data to
    `dump`. (Served from a thread: uvicorn in the main thread would re-raise SIGTERM and die before the dump.)"""
    crm = create_fake_impulse(api_key=CRM_KEY, today=NOW.date())
    for template in crm.collections["schedule"].values():  # thousands of bookings: no class may fill up
        group = template.get("group") or {}
        if isinstance(group.get("placeCount"), int) and group["placeCount"] > 2:
            group["placeCount"] = 1_000_000
    config = uvicorn.Config(crm.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    stop.wait()
    server.should_exit = True
    thread.join(10)
    data = {"clients": list(crm.clients.values()), "reservations": list(crm.reservations.values())}
    Path(dump).write_text(json.dumps(data, default=str), encoding="utf-8")


@contextlib.contextmanager
def crm_process(dump: Path) -> Iterator[tuple[str, psutil.Process, dict[str, list[dict]]]]:
    """The fake Impulse (http mode) in a process of its own, started before any thread of this one: its CPU
    is neither the load generator's nor the bot's, and the bot reaches it over HTTP as it reaches Impulse.
    Yields (base URL, the process, a dict filled at exit with the CRM's clients and reservations)."""
    port = free_port()
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    child = context.Process(target=_serve_crm, args=(port, str(dump), stop), daemon=True)
    child.start()
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            break
        if time.monotonic() > deadline or not child.is_alive():
            raise RuntimeError("the fake CRM did not start")
        time.sleep(0.05)
    data: dict[str, list[dict]] = {}
    try:
        yield f"http://127.0.0.1:{port}", psutil.Process(child.pid), data
    finally:
        stop.set()
        child.join(20)
        child.terminate()
        if dump.exists():
            data.update(json.loads(dump.read_text(encoding="utf-8")))


def report(
    args: argparse.Namespace, run: Run, replies: Replies, booked: Counter[int], doubled: int,
    sampler: ProcessSampler, crm: dict[str, list[dict]] | None,
) -> None:  # fmt: skip
    measured = [s for s in run.sent if s.measured and s.sent_at < run.ends_at]
    accepted = [s for s in measured if s.verdict == "pass"]
    rate = len(accepted) / args.seconds
    answered = [s for s in accepted if not math.isnan(s.reply_ms)]
    lost = len(accepted) - len(answered)
    errors = Counter(s.verdict or f"HTTP {s.status}" for s in measured if s.verdict != "pass")
    plain = [s.reply_ms for s in answered if s.step == "plain"]
    crm_steps = [s.reply_ms for s in answered if s.step == "crm"]
    every = [s.reply_ms for s in answered]
    acks = [s.ack_ms for s in measured]
    replies_in_window = sum(
        1 for chat in {s.chat_id for s in measured} for m in replies.of(chat) if run.measure_from <= m.received_at
        and m.received_at < run.ends_at
    )  # fmt: skip
    duplicates = sum(n - 1 for n in booked.values() if n > 1)
    if crm is not None:
        duplicates = max(duplicates, crm_duplicates(crm, {normalize_phone(c.phone) or "" for c in run.conversations}))
    finished = [c for c in run.conversations if c.done]
    completed = sum(1 for c in finished if booked.get(c.chat_id, 0) >= 1)

    def ms(values: list[float]) -> str:
        return " / ".join(f"{percentile(values, q):.0f}" for q in (50, 95, 99)) + " ms"

    crm_label = args.crm + (f" at {args.crm_rps:g} req/s" if args.crm == "http" else "")
    print(f"load: {args.clients} clients, {args.seconds:g} s measured after {args.warmup:g} s warm-up, think "
          f"{args.think} s, rules mode, CRM {crm_label}, Telegram {args.telegram_rate:g}/s, "
          f"{os.cpu_count()} cores")  # fmt: skip
    rows = [
        ("messages accepted", f"{len(accepted)}", ""),
        ("sustained rate", f"{rate:.1f} msg/s", f"target ≥ {TARGET_RATE:g}"),
        ("replies delivered", f"{replies_in_window / args.seconds:.1f} msg/s", ""),
        ("conversations", f"{len(finished)} finished, {completed} booked", "each books once"),
        ("reply p50/p95/p99", ms(every), "all messages"),
        ("  no CRM call", ms(plain), f"p95 target < {TARGET_P95_MS:g} ms ({len(plain)} messages)"),
        ("  booking (CRM)", ms(crm_steps), f"({len(crm_steps)} confirmations)"),
        ("webhook ack p50/p95", f"{percentile(acks, 50):.1f} / {percentile(acks, 95):.1f} ms", "POST round trip"),
        ("errors", f"{sum(errors.values())}", ", ".join(f"{k}: {v}" for k, v in errors.items()) or "target 0"),
        ("lost replies", f"{lost}", "target 0"),
        ("duplicated replies", f"{doubled}", "target 0"),
        ("duplicate bookings", f"{duplicates}", "target 0"),
    ]
    for name, value, note in rows:
        print(f"  {name:<20} {value:>24}   {note}")
    print("  process              RSS peak    CPU (avg, % of one core)")
    for name in sampler.peak_mb:
        target = {"app": f"   target < {TARGET_APP_MB:g} MB", "worker": f"   target < {TARGET_WORKER_MB:g} MB"}
        print(
            f"  {name:<20} {sampler.peak_mb[name]:>6.1f} MB   {sampler.cpu_percent(name):>5.0f} %{target.get(name, '')}"
        )
    missed = [
        name
        for name, ok in (
            ("rate", rate >= TARGET_RATE),
            ("p95 without CRM", percentile(plain, 95) < TARGET_P95_MS),
            ("lost", lost == 0 and not errors),
            ("duplicates", doubled == 0 and duplicates == 0),
            ("app RSS", sampler.peak_mb["app"] < TARGET_APP_MB),
            ("worker RSS", sampler.peak_mb["worker"] < TARGET_WORKER_MB),
        )
        if not ok
    ]
    print("verdict: all targets met" if not missed else f"verdict: missed — {', '.join(missed)}")


def server_processes(tmp: Path) -> dict[str, list[psutil.Process]]:
    """The embedded Redis and PostgreSQL: processes whose command line names this run's temp dir (none when
    REDIS_URL and DATABASE_URL are set)."""
    groups: dict[str, list[psutil.Process]] = {"redis": [], "postgres": []}
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            cmd = " ".join(p.cmdline())
            if str(tmp) not in cmd:
                continue
            if "redis-server" in cmd:
                groups["redis"].append(p)
            elif "postgres" in cmd:
                groups["postgres"].append(p)
    return {k: v for k, v in groups.items() if v}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured duration")
    parser.add_argument("--warmup", type=float, default=10.0, help="unmeasured load before it")
    parser.add_argument("--think", default="0.6:1.2", help="a client's pause between messages, min:max seconds")
    parser.add_argument(
        "--crm", choices=("http", "inprocess"), default="http",
        help="http: the fake Impulse as an HTTP server in a process of its own, reached like the real one "
        "(at --crm-rps); inprocess: TEST_MODE's in-process fake in each process (100 requests/s)",
    )  # fmt: skip
    parser.add_argument(
        "--crm-rps", type=float, default=1000.0,
        help="http mode: the bot's requests/s to the CRM (IMPULSE_MAX_RPS); the default measures the bot "
        "itself, 3 is Impulse's limit",
    )  # fmt: skip
    parser.add_argument("--logs", help="keep the app's and the worker's logs in this folder")
    parser.add_argument(
        "--telegram-rate", type=float, default=1000.0,
        help="the worker's overall Telegram sends/s (`dancebot worker --telegram-rate`); every reply passes "
        "through it. Telegram allows a bot about 30/s unless paid broadcasts are on",
    )  # fmt: skip
    args = parser.parse_args(argv)
    low, high = (float(x) for x in args.think.split(":"))

    with tempfile.TemporaryDirectory(prefix="dancebot-load-", dir="/tmp") as tmp_dir, contextlib.ExitStack() as stack:
        tmp = Path(tmp_dir)
        crm: dict[str, list[dict]] | None = None
        env: dict[str, str] = {"TEST_MODE": "true"}
        crm_group: dict[str, list[psutil.Process]] = {}
        if args.crm == "http":  # first: the fake CRM's process is forked before this one starts any thread
            impulse_url, crm_proc, crm = stack.enter_context(crm_process(tmp / "crm.json"))
            env = {"IMPULSE_API_KEY": CRM_KEY, "IMPULSE_BASE_URL": f"{impulse_url}/api/public",
                   "IMPULSE_MAX_RPS": str(args.crm_rps)}  # fmt: skip
            crm_group = {"crm fake": [crm_proc]}
        fake = create_fake_telegram(BOT_TOKEN)
        redis_url, database_url = stack.enter_context(servers(tmp))
        tg_url = stack.enter_context(fake.serve_in_thread())
        env = bot_env(redis_url, database_url, tg_url, token=BOT_TOKEN, secret=WEBHOOK_SECRET,
                      admin_chat_id=ADMIN_CHAT_ID, DANCEBOT_FROZEN_NOW=NOW.isoformat(), **env)  # fmt: skip
        log_dir = Path(args.logs) if args.logs else tmp
        log_dir.mkdir(parents=True, exist_ok=True)
        with run_stack(env, log_dir, worker_args=["--telegram-rate", str(args.telegram_rate)]) as bot:
            groups = {
                "app": [psutil.Process(bot.procs["serve"].pid)],
                "worker": [psutil.Process(bot.procs["worker0"].pid)],
                **server_processes(tmp),
                **crm_group,
                "load+fakes (this)": [psutil.Process()],
            }
            with ProcessSampler(groups) as sampler:
                run, replies = asyncio.run(
                    generate(bot.base_url, fake, args.clients, args.warmup, args.seconds, (low, high), sampler)
                )
            booked = asyncio.run(booked_by_chat(database_url, {c.chat_id for c in run.conversations}))
            delivered = Counter({c.chat_id: len(replies.of(c.chat_id)) for c in run.conversations})
            doubled = asyncio.run(doubled_replies(database_url, delivered))
        stack.close()  # the fake CRM writes what it holds as it stops
        report(args, run, replies, booked, doubled, sampler, crm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
