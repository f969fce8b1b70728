"""CPU cost of one conversation turn in the pure engine (understanding + FSM + replies), no servers.

The load targets (docs/PERFORMANCE.md) leave a turn a few milliseconds of one core; this prints what a
turn costs today over the load benchmark's conversations (every message a new client would send, with
fresh phones and names), first and warm, so a change in the rules' cost shows up here before it shows
up as latency under load.

    python benchmarks/engine_turn.py [--rounds N] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import SCRIPTS

from dancebot.conversation.session import Profile, Session
from dancebot.logs import configure_logging
from tests.engine.pure import make_engine, say


async def run(rounds: int) -> list[float]:
    engine, _ = make_engine()
    timings: list[float] = []
    chat = 0
    for r in range(rounds):
        for script in SCRIPTS:
            chat += 1
            phone = f"8953{chat:07d}"
            session = Session(chat_id=chat, channel="telegram")
            profile = Profile()
            for line in script:
                text = line.lstrip("!").format(phone=phone, pretty=f"8 (953) {chat:03d}-00-{r % 100:02d}")
                started = time.perf_counter()
                await say(engine, session, text, profile)
                timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="times every script is played (new chats)")
    parser.add_argument("--profile", action="store_true", help="print the top functions by cumulative time")
    args = parser.parse_args()
    configure_logging(level="WARNING")  # as in production the INFO lines cost time too, but elsewhere
    started = time.perf_counter()
    first = asyncio.run(run(1))
    cold = time.perf_counter() - started
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    warm = asyncio.run(run(args.rounds))
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    warm.sort()
    print(f"engine turn: {len(warm)} messages over {args.rounds} rounds of {len(SCRIPTS)} conversations")
    print(f"  first round (cold caches)   {cold * 1000:8.1f} ms for {len(first)} messages")
    print(f"  mean / p50 / p95 / max      {statistics.mean(warm):.2f} / {warm[len(warm) // 2]:.2f} / "
          f"{warm[int(len(warm) * 0.95)]:.2f} / {warm[-1]:.2f} ms")  # fmt: skip
    print(f"  turns per second, one core  {1000 / statistics.mean(warm):8.0f}")


if __name__ == "__main__":
    main()
