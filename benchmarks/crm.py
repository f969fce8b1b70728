"""CRM layer figures (issue 3, PRODUCT.md §7.2): schedule expansion and finding a client by phone.

    python benchmarks/crm.py [--templates 300 --days 14 --clients 5000 --runs 20]

1. `occurrences.expand` over `--templates` weekly templates (the demo tenant's templates cloned with new
   ids, weekdays and times) for a `--days` window: median time per expansion and occurrences produced.
2. `find_client` over a fake Impulse tenant grown to `--clients` clients (the fake's own record format,
   phones in the five ways the CRM keeps them, some clients with two phones or none), through the real
   client on `httpx.ASGITransport`:
   - `ImpulseClient.find_client`: no cache, pages through every client on each call;
   - `CRMService.find_client` on the Redis phone index: cold (the index is built from all pages), warm
     (one HGET), and a warm miss (an unknown phone within a minute of a rebuild: no CRM call).
   The client runs with `max_rps=1000` so the rate limiter (default 3 req/s against the real tenant)
   does not dominate; what the limiter adds against a real tenant is printed next to it.
Embedded Redis and PostgreSQL start in a temp dir (`CRMService` needs a `Runtime`); the Redis database
is that private server's and is flushed between cold runs. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from dancebot.config import Settings
from dancebot.crm.client import ImpulseClient
from dancebot.crm.fake import FakeImpulse, create_fake_impulse
from dancebot.crm.fake_seed import build_seed
from dancebot.crm.models import Occurrence, ScheduleTemplate
from dancebot.crm.occurrences import expand
from dancebot.crm.service import CRMService, sticker_classifier
from dancebot.kb import KnowledgeBase, load_kb
from dancebot.logs import configure_logging
from dancebot.runtime import open_runtime
from dancebot.storage.embedded import embedded_servers

ROOT = Path(__file__).resolve().parents[1]
KB_PATH = ROOT / "knowledge" / "studio.yaml"
TZ = ZoneInfo("Asia/Vladivostok")
NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=TZ)  # PRODUCT.md §6.3's reference moment
BASE_URL = "http://impulse.bench/api/public"
API_KEY = "bench-key"
BENCH_RPS = 1000.0
REAL_RPS = 3.0  # ImpulseClient's default against the real tenant
PAGE_SIZE = 500  # ImpulseClient's default page size


# ---- 1. expansion -----------------------------------------------------------------------------------


def clone_templates(count: int) -> list[ScheduleTemplate]:
    """`count` weekly templates shaped like the demo tenant's: each a seed template with a new id, weekday
    and start time (08:00–21:45), keeping its group, hall, branch and sticker."""
    seed = [t for t in build_seed(NOW.date(), TZ).templates if t["regular"]]
    rng = random.Random(3)
    templates = []
    for i in range(count):
        begin = 8 * 60 + 15 * rng.randrange(56)
        raw = {**seed[i % len(seed)], "id": 10_000 + i, "day": i % 7 + 1, "minutesBegin": begin}
        raw["minutesEnd"] = begin + 60
        templates.append(ScheduleTemplate.model_validate(raw))
    return templates


def bench_expand(kb: KnowledgeBase, templates: list[ScheduleTemplate], days: int, runs: int) -> None:
    stickers = sticker_classifier(kb.stickers)
    timings: list[float] = []
    occurrences: list[Occurrence] = []
    for _ in range(runs):
        started = time.perf_counter()
        occurrences = expand(
            templates,
            today_local=NOW.date(),
            now_local=NOW,
            days=days,
            holidays=lambda day: kb.holiday_on(day) is not None,
            sticker_status=stickers,
        )
        timings.append((time.perf_counter() - started) * 1000)
    bookable = sum(o.is_bookable for o in occurrences)
    print(f"1. expand: {len(templates)} weekly templates × {days} days, median of {runs} runs")
    print(f"   {statistics.median(timings):.1f} ms per expansion (min {min(timings):.1f}, max {max(timings):.1f})")
    print(f"   {len(occurrences)} occurrences ({bookable} bookable; past, holiday and cancelled ones removed)")


# ---- 2. find_client ---------------------------------------------------------------------------------


def _written(national: str, style: int) -> str:
    a, b, c, d = national[:3], national[3:6], national[6:8], national[8:]
    return [f"8 ({a}) {b}-{c}-{d}", f"+7{national}", f"7{national}", f"+7 {a} {b}-{c}-{d}", f"8{national}"][style]


def grow_clients(fake: FakeImpulse, total: int) -> list[str]:
    """Adds clients up to `total` in the fake's record format; returns the phones of the added ones as a
    client would type them (in another format than the CRM keeps)."""
    typed: list[str] = []
    first_id = max(fake.clients) + 1
    for n, client_id in enumerate(range(first_id, first_id + total - len(fake.clients))):
        national = f"901{n:07d}"  # 901 is not among the seed's prefixes: no clash with its clients
        phone: Any = _written(national, n % 5)
        if n % 10 == 0:
            phone = [phone, _written(f"902{n:07d}", (n + 1) % 5)]
        elif n % 97 == 0:
            phone = None
        if phone is not None:
            typed.append(_written(national, (n + 2) % 5))
        fake.clients[client_id] = {
            "id": client_id,
            "name": "Анна",
            "lastName": "Иванова",
            "middleName": None,
            "phone": phone,
            "email": None,
            "status": {"id": 2, "name": "Постоянный клиент"},
            "deposit": 0,
            "bonus": 0,
        }
    return typed


def check(ok: bool, what: str) -> None:
    """The figures mean nothing if the lookups went wrong; stop instead of printing them."""
    if not ok:
        raise SystemExit(f"benchmark broken: {what}")


async def timed(
    fake: FakeImpulse, runs: int, call: Callable[[], Awaitable[Any]], before: Callable[[], Awaitable[None]] | None
) -> tuple[float, int, list[Any]]:
    """(median ms, CRM requests per call, results) of `runs` calls, `before` run untimed ahead of each."""
    timings, results = [], []
    requests_before = len(fake.requests)
    for _ in range(runs):
        if before is not None:
            await before()
        started = time.perf_counter()
        results.append(await call())
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), (len(fake.requests) - requests_before) // runs, results


def row(label: str, ms: float, requests: int, runs: int) -> None:
    print(f"   {label:38} {ms:9.2f} ms  {requests:3d} CRM requests  (median of {runs})")


async def bench_find(tmp: Path, total: int, cold_runs: int, warm_runs: int) -> None:
    fake = create_fake_impulse(api_key=API_KEY, today=NOW.date())
    typed = grow_clients(fake, total)
    last, unknown = typed[-1], "+7 (950) 000-00-00"
    rng = random.Random(5)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as http:
        client = ImpulseClient(http, base_url=BASE_URL, api_key=API_KEY, max_rps=BENCH_RPS, tz=TZ)
        pages = -(-len(fake.clients) // PAGE_SIZE)
        spacing_ms = (pages - 1) / REAL_RPS * 1000
        print(
            f"\n2. find_client over {len(fake.clients)} clients ({pages} pages of {PAGE_SIZE}), max_rps={BENCH_RPS:g}"
        )
        print(f"   (at the real tenant's {REAL_RPS:g} req/s the limiter alone adds ≈{spacing_ms:.0f} ms to each")
        print("    call that reads every page: the no-cache and cold rows)")

        ms, reqs, found = await timed(fake, cold_runs, lambda: client.find_client(last), None)
        check(found[-1] is not None, "the client did not find a known phone")
        row("ImpulseClient.find_client, no cache", ms, reqs, cold_runs)

        with embedded_servers(tmp / "servers") as servers:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                redis_url=servers.redis_url,
                database_url=servers.database_url,
                kb_path=KB_PATH,
            )
            async with open_runtime(settings) as rt:
                rt.clock = lambda: NOW
                service = CRMService(rt, client)

                async def forget() -> None:
                    await rt.redis.flushdb()

                ms, reqs, found = await timed(fake, cold_runs, lambda: service.find_client(last), forget)
                check(found[-1] is not None, "the cold index did not find a known phone")
                row("CRMService.find_client, cold (build)", ms, reqs, cold_runs)

                ms, reqs, found = await timed(fake, warm_runs, lambda: service.find_client(rng.choice(typed)), None)
                check(all(found), "the warm index missed a known phone")
                row("CRMService.find_client, warm (cached)", ms, reqs, warm_runs)

                ms, reqs, found = await timed(fake, warm_runs, lambda: service.find_client(unknown), None)
                check(not any(found), "an unknown phone was found")
                row("CRMService.find_client, warm miss", ms, reqs, warm_runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--templates", type=int, default=300)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--runs", type=int, default=20, help="expansion runs (the median is printed)")
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--warm-runs", type=int, default=500)
    args = parser.parse_args(argv)
    configure_logging(level="WARNING")  # the index build logs at INFO on every cold run
    kb = load_kb(KB_PATH).kb
    bench_expand(kb, clone_templates(args.templates), args.days, args.runs)
    with tempfile.TemporaryDirectory(prefix="dancebot-bench-crm-", dir="/tmp") as tmp:
        asyncio.run(bench_find(Path(tmp), args.clients, args.cold_runs, args.warm_runs))


if __name__ == "__main__":
    main()
