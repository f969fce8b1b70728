"""Prompt regression cases (PRODUCT.md §16.2): the YAML format and the checks of one turn.

A suite file:

    suite: booking
    cases:
      - name: all in one message
        requires: llm            # optional: "llm" (fake or configured model) or "fake" (scripted answers)
        crm_down: true           # optional: the fake CRM fails every request (L1; with llm_down, L3)
        llm_down: true           # optional, fake only: the model answers 500s (the breaker opens: L2)
        turns:
          - user: "запишите на хилс в чт в 20, Анна {phone}"   # or `tap: 1`, or `contact: true`
            model: {intent: booking, slots: {style_raw: хилс}, confidence: 0.9}   # fake: its answer(s)
            contains: ["Проверьте", ["20:00", "20.00"]]   # each item; a list item is one of its strings
            not_contains: ["Пт"]
            state: CONFIRM_BOOKING        # or a list of acceptable states
            tool_calls: [get_schedule]    # CRM calls this turn must include; [] = none at all
            llm_calls: 0                  # exactly this many LLM requests this turn
            admin_contains: ["Вопрос клиента"]
            booked: 1                     # the client's active reservations in the CRM after the turn
            when_rules: {contains: [...]} # overrides for rules-only runs
            when_llm: {contains: [...]}   # overrides for runs with a model

`model` is a JSON object (the fake answers it as JSON), a string (answered as text) or a list of either
(one per request of the turn). Without it the fake answers a neutral `{"intent": "unknown"}`.
Texts are compared case-insensitively. Every reply is also held to PRODUCT.md §5.5 (length, emoji, one
question, no AI talk) and must never show JSON, a prompt marker or the data block.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dancebot.llm.policy_rules import count_emoji, discloses_ai
from dancebot.llm.prompts import LEAK_MARKERS
from tests.prompt_regression.driver import Chat, Turn

__all__ = ["Case", "Expect", "Step", "Suite", "check_turn", "load_suites"]

MAX_LENGTH = 300
_JSON_LEAK = re.compile(r'[{\[]\s*"(?:intent|slots|confidence|answer)"')
Needle = str | list[str]


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contains: list[Needle] = Field(default_factory=list)
    not_contains: list[str] = Field(default_factory=list)
    state: str | list[str] | None = None
    tool_calls: list[str] | None = None
    llm_calls: int | None = None
    admin_contains: list[Needle] = Field(default_factory=list)
    booked: int | None = None


class Step(Expect):
    user: str | None = None
    tap: int | None = None
    contact: bool = False
    model: dict[str, Any] | str | list[dict[str, Any] | str] | None = None
    when_rules: Expect | None = None
    when_llm: Expect | None = None

    @model_validator(mode="after")
    def _one_input(self) -> Step:
        given = [self.user is not None, self.tap is not None, self.contact]
        if sum(given) != 1:
            raise ValueError("a turn is exactly one of `user`, `tap`, `contact`")
        return self

    def expect(self, with_llm: bool) -> Expect:
        override = self.when_llm if with_llm else self.when_rules
        base = Expect.model_validate(self.model_dump(include=set(Expect.model_fields)))
        if override is None:
            return base
        return base.model_copy(update=override.model_dump(exclude_unset=True))

    def answers(self) -> list[dict[str, Any] | str]:
        if self.model is None:
            return []
        return list(self.model) if isinstance(self.model, list) else [self.model]


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    requires: Literal["llm", "fake"] | None = None
    crm_down: bool = False
    llm_down: bool = False
    turns: list[Step] = Field(min_length=1)


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str
    cases: list[Case] = Field(min_length=1)
    path: str = ""


def load_suites(folder: Path, pattern: str = "*.yaml") -> list[Suite]:
    suites = []
    for path in sorted(folder.glob(pattern)):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        suites.append(Suite.model_validate({**data, "path": path.name}))
    return suites


def _has(haystack: str, needle: Needle) -> bool:
    options = [needle] if isinstance(needle, str) else needle
    return any(o.casefold() in haystack.casefold() for o in options)


def _hard_rules(text: str) -> list[str]:
    """PRODUCT.md §5.5 and §9.1 on one reply."""
    problems = []
    if len(text) > MAX_LENGTH:
        problems.append(f"{len(text)} characters > {MAX_LENGTH}")
    if count_emoji(text) > 2:
        problems.append(f"{count_emoji(text)} emoji")
    if text.count("?") > 1:
        problems.append("more than one question")
    if discloses_ai(text):
        problems.append("talks about being an AI")
    if any(m.casefold() in text.casefold() for m in LEAK_MARKERS) or _JSON_LEAK.search(text):
        problems.append("shows the prompt, the data block or raw JSON")
    return problems


async def check_turn(turn: Turn, expect: Expect, chat: Chat) -> list[str]:
    """Every expectation the turn missed, in words; [] when it passed."""
    failed = [f"reply {p}: {job.text!r}" for job in turn.replies for p in _hard_rules(job.text)]
    text = turn.text
    if not turn.replies:
        failed.append("no reply")
    failed += [f"missing {n!r}" for n in expect.contains if not _has(text, n)]
    failed += [f"unexpected {n!r}" for n in expect.not_contains if _has(text, n)]
    if expect.state is not None:
        allowed = [expect.state] if isinstance(expect.state, str) else expect.state
        state = await chat.state()
        if state not in allowed:
            failed.append(f"state {state}, expected {'/'.join(allowed)}")
    if expect.tool_calls is not None:
        if not expect.tool_calls and turn.tools:
            failed.append(f"CRM called: {turn.tools}")
        failed += [f"no CRM call {t}" for t in expect.tool_calls if t not in turn.tools]
    if expect.llm_calls is not None and len(turn.llm) != expect.llm_calls:
        failed.append(f"{len(turn.llm)} LLM calls, expected {expect.llm_calls}")
    admin = "\n".join(turn.admin)
    failed += [f"admin chat missing {n!r}" for n in expect.admin_contains if not _has(admin, n)]
    if expect.booked is not None and len(chat.bookings()) != expect.booked:
        failed.append(f"{len(chat.bookings())} bookings in the CRM, expected {expect.booked}")
    return failed
