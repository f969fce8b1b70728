"""The prompt regression suite (PRODUCT.md §16.2): every YAML case of `suites/`, each run 3 times.

    python -m tests.prompt_regression.runner                 # rules only (no LLM)
    python -m tests.prompt_regression.runner --llm fake      # the project's fake OpenAI-compatible server
    python -m tests.prompt_regression.runner --llm configured  # LLM_BASE_URL / LLM_API_KEY / LLM_MODEL

A case passes when at least 2 of its 3 runs pass; the suite passes at ≥ 90 % of the cases that apply to
the mode (a case that needs a model is skipped, and counted as skipped, in rules-only mode; one that needs
the fake's scripted answers is skipped with a configured model). Prints a summary table, the failures with
their transcripts, and a last line `regression: N passed, M failed, K skipped`; exits 0 when the suite
passes, 1 when not.

Conversations run in this process through the product's pipeline (`tests/prompt_regression/driver.py`):
real Redis and PostgreSQL (embedded ones, never REDIS_URL: every run starts by wiping its Redis database;
`--redis-url` and `--database-url` name servers that may be wiped), the in-process fake CRM started
afresh for every run, the conversation clock at Wed 2026-12-02 15:00.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from dancebot.config import Settings, load_settings
from dancebot.logs import configure_logging
from dancebot.runtime import Runtime, open_runtime
from dancebot.wiring import open_conversation
from tests.fakes.llm import FakeLLM
from tests.prompt_regression.cases import Case, Suite, check_turn, load_suites
from tests.prompt_regression.driver import ADMIN_CHAT_ID, NOW, Chat, servers

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[2]
SUITES = Path(__file__).with_name("suites")
FAKE_KEY = "sk-prompt-regression"
NEUTRAL = {"intent": "unknown", "slots": {}, "confidence": 0.0}
WARM_UP = "ну в общем мне бы что-нибудь для спины, сидячая работа"  # the rules cannot settle it
Mode = str  # "rules" | "fake" | "configured"
_chat_ids = itertools.count(7_000_001)


@dataclass
class Result:
    suite: str
    case: str
    runs: list[list[str]] = field(default_factory=list)  # per run: what failed ([] = passed)
    transcripts: list[str] = field(default_factory=list)
    llm: list[str] = field(default_factory=list)  # outcome of every LLM request of every run
    skipped: str = ""

    def passed(self, needed: int) -> bool:
        return sum(1 for r in self.runs if not r) >= needed


def applies(case: Case, mode: Mode) -> str:
    """Why the case does not apply to this mode ("" when it does)."""
    if case.requires == "llm" and mode == "rules":
        return "needs a model"
    if (case.requires == "fake" or case.llm_down) and mode != "fake":
        return "needs the fake model's scripted answers"
    return ""


async def run_once(
    rt: Runtime, case: Case, fake: FakeLLM | None, *, judge_as_rules: bool = False
) -> tuple[list[str], str, list[str]]:
    """One run of a case on a clean Redis and a fresh fake CRM: what failed, the transcript and the outcome
    of each LLM request the client's turns made.
    `judge_as_rules`: hold the conversation to the rules-only expectations even with a model."""
    await rt.redis.flushdb()
    async with open_conversation(rt) as conv:
        assert conv.fake_crm is not None
        with_llm = conv.llm is not None and not judge_as_rules
        if fake is not None:
            fake.reset()
            fake.default = FakeLLM.error(500) if case.llm_down else FakeLLM.json(NEUTRAL)
        if case.llm_down:  # three failed calls open the breaker: L2
            warm = Chat(rt, conv, next(_chat_ids))
            for _ in range(3):
                await warm.say(WARM_UP)
        if case.crm_down:
            conv.fake_crm.set_mode("500")
        chat = Chat(rt, conv, next(_chat_ids))
        failed: list[str] = []
        for n, step in enumerate(case.turns, 1):
            if fake is not None:
                fake.script(*(FakeLLM.json(a) if isinstance(a, dict) else FakeLLM.text(a) for a in step.answers()))
            try:
                if step.user is not None:
                    turn = await chat.say(step.user)
                elif step.tap is not None:
                    turn = await chat.tap(step.tap)
                else:
                    turn = await chat.share_contact()
            except AssertionError as exc:
                failed.append(f"turn {n}: {exc}")
                break
            if fake is not None:
                fake.drop_script()
            problems = await check_turn(turn, step.expect(with_llm), chat)
            failed += [f"turn {n}: {p}" for p in problems]
        conv.fake_crm.set_mode(None)
        return failed, chat.dump(), [str(row["status"]) for t in chat.turns for row in t.llm]


def settings_for(mode: Mode, redis_url: str, database_url: str, fake_url: str | None) -> Settings:
    base = load_settings() if mode == "configured" else Settings(_env_file=None)  # type: ignore[call-arg]
    update: dict[str, object] = {
        "redis_url": redis_url,
        "database_url": database_url,
        "kb_path": ROOT / "knowledge" / "studio.yaml",
        "admin_chat_id": ADMIN_CHAT_ID,
        "test_mode": True,
        "llm_rewrite": False,
        "dancebot_frozen_now": NOW,
    }
    if mode == "rules":
        update["llm_api_key"] = None
    elif mode == "fake":
        update |= {"llm_api_key": SecretStr(FAKE_KEY), "llm_base_url": fake_url, "llm_model": "fake-model"}
    elif not base.llm_configured:
        raise SystemExit("--llm configured: set LLM_API_KEY (and LLM_BASE_URL, LLM_MODEL)")
    return base.model_copy(update=update)


async def run_suites(
    settings: Settings,
    suites: list[Suite],
    mode: Mode,
    runs: int,
    fake: FakeLLM | None,
    *,
    judge_as_rules: bool = False,
) -> list[Result]:
    results: list[Result] = []
    async with open_runtime(settings) as rt:
        rt.clock = lambda: NOW
        for suite in suites:
            for case in suite.cases:
                result = Result(suite.suite, case.name, skipped=applies(case, mode))
                if not result.skipped:
                    for _ in range(runs):
                        failed, transcript, llm = await run_once(rt, case, fake, judge_as_rules=judge_as_rules)
                        result.runs.append(failed)
                        result.transcripts.append(transcript)
                        result.llm += llm
                results.append(result)
    return results


def report(results: list[Result], runs: int, threshold: float, mode: Mode, seconds: float) -> bool:
    needed = math.ceil(runs * 2 / 3)
    print(f"prompt regression — mode {mode}, {runs} runs a case, a case passes at {needed}/{runs}")
    print(f"{'suite':<16}{'cases':>7}{'passed':>8}{'failed':>8}{'skipped':>9}{'rate':>8}")
    totals = [0, 0, 0, 0]
    for name in dict.fromkeys(r.suite for r in results):
        rows = [r for r in results if r.suite == name]
        counts = _counts(rows, needed)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        print(_row(name, counts))
    print(_row("total", totals))
    requests = [o for r in results for o in r.llm]
    if requests:
        outcomes = ", ".join(f"{o} {requests.count(o)}" for o in sorted(set(requests)))
        print(f"LLM requests of the client's turns: {len(requests)} ({outcomes})")
    for r in results:
        if not r.skipped and not r.passed(needed):
            ok = sum(1 for x in r.runs if not x)
            first = next(x for x in r.runs if x)
            print(f"\nFAILED {r.suite} / {r.case} ({ok}/{len(r.runs)} runs passed): " + "; ".join(first[:4]))
            print(next(t for t, x in zip(r.transcripts, r.runs, strict=True) if x))
    _, passed, failed, skipped = totals
    rate = 100.0 * passed / (passed + failed) if passed + failed else 0.0
    ok = passed + failed > 0 and rate >= threshold
    print(f"\n{rate:.1f} % of {passed + failed} cases passed (threshold {threshold:g} %) in {seconds:.0f} s: "
          + ("PASS" if ok else "FAIL"))  # fmt: skip
    print(f"regression: {passed} passed, {failed} failed, {skipped} skipped")
    return ok


def _counts(rows: list[Result], needed: int) -> list[int]:
    skipped = sum(1 for r in rows if r.skipped)
    passed = sum(1 for r in rows if not r.skipped and r.passed(needed))
    return [len(rows), passed, len(rows) - skipped - passed, skipped]


def _row(name: str, counts: list[int]) -> str:
    cases, passed, failed, skipped = counts
    rate = f"{100 * passed / (passed + failed):.0f} %" if passed + failed else "—"
    return f"{name:<16}{cases:>7}{passed:>8}{failed:>8}{skipped:>9}{rate:>8}"


@contextlib.contextmanager
def _fake_model(mode: Mode) -> Iterator[tuple[FakeLLM | None, str | None]]:
    if mode != "fake":
        yield None, None
        return
    fake = FakeLLM(api_key=FAKE_KEY)
    with fake.serve_in_thread() as url:
        yield fake, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.prompt_regression.runner", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--llm", choices=["rules", "fake", "configured"], default="rules")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=90.0, help="percent of cases that must pass")
    parser.add_argument("--suites", default="*.yaml", help="glob of suite files under suites/")
    parser.add_argument("--log", default=os.devnull, help="where the bot's log lines go")
    parser.add_argument("--redis-url", help="a Redis the runner may wipe (default: an embedded one)")
    parser.add_argument("--database-url", help="with --redis-url: a PostgreSQL for the audit rows")
    args = parser.parse_args(argv)
    suites = load_suites(SUITES, args.suites)
    if not suites:
        print(f"no suite matches {args.suites!r} in {SUITES}", file=sys.stderr)
        return 1
    with open(args.log, "a", encoding="utf-8") as log_stream:
        configure_logging(stream=log_stream, level="WARNING")
        with (
            tempfile.TemporaryDirectory(prefix="dancebot-regression-") as tmp,
            servers(Path(tmp), args.redis_url, args.database_url) as (redis_url, db_url),
            _fake_model(args.llm) as (fake, fake_url),
        ):
            settings = settings_for(args.llm, redis_url, db_url, fake_url)
            started = time.monotonic()
            results = asyncio.run(run_suites(settings, suites, args.llm, args.runs, fake))
            ok = report(results, args.runs, args.threshold, args.llm, time.monotonic() - started)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
