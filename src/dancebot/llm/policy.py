"""The Policy Enforcer (PRODUCT.md §9.1): every text the LLM path wants to send passes `enforce` first.

Pure: text, the KB and the facts of this turn in, a verdict out. A violation is `ok=False` with the rule
that failed (the first by priority; `violations` lists all of them); the caller logs it and sends its
deterministic text instead. Only `tool_failed` comes with its own replacement: the "checking with the
administrator" text in the studio's language, which is what the contract prescribes for that case.

Priority: empty → tool_failed → prompt_leak → ai_disclosure → teacher_comparison → no_tool_data →
price_not_in_kb → too_long → too_many_emoji.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from dancebot.kb import KnowledgeBase
from dancebot.llm.policy_rules import (
    count_emoji,
    discloses_ai,
    find_prices,
    free_claims,
    kb_prices,
    leaks_prompt,
    schedule_mentions,
    states_booking,
    stray_currency,
    teacher_comparison,
)
from dancebot.llm.prompts import BASE_SYSTEM_PROMPT
from dancebot.logs import get_logger

__all__ = [
    "CHANNEL_LIMITS",
    "MAX_EMOJI",
    "TOOL_FAILED_TEXT",
    "PolicyVerdict",
    "Rule",
    "channel_limit",
    "enforce",
]

log = get_logger(__name__)

CHANNEL_LIMITS: dict[str, int] = {"telegram": 300, "whatsapp": 200}
DEFAULT_LIMIT = 300
MAX_EMOJI = 2
TOOL_FAILED_TEXT: dict[str, str] = {
    "ru": "Уточню у администратора и вернусь с ответом ⏳",
    "en": "I'll check with the administrator and get back to you ⏳",
}


class Rule(StrEnum):
    EMPTY = "empty"
    TOOL_FAILED = "tool_failed"
    PROMPT_LEAK = "prompt_leak"
    AI_DISCLOSURE = "ai_disclosure"
    TEACHER_COMPARISON = "teacher_comparison"
    NO_TOOL_DATA = "no_tool_data"
    PRICE_NOT_IN_KB = "price_not_in_kb"
    TOO_LONG = "too_long"
    TOO_MANY_EMOJI = "too_many_emoji"
    POLICY_ERROR = "policy_error"


@dataclass(frozen=True)
class PolicyVerdict:
    """`ok` → send `text` (the reply, stripped). Not ok → `rule` failed; send `text` if given, else your own."""

    ok: bool
    text: str | None
    rule: Rule | None
    violations: tuple[Rule, ...] = field(default=())
    detail: str = ""


def channel_limit(channel: str) -> int:
    return CHANNEL_LIMITS.get(channel, DEFAULT_LIMIT)


def enforce(
    text: str | None,
    *,
    kb: KnowledgeBase,
    channel: str,
    tool_data_this_turn: bool = False,
    tool_failed: bool = False,
    schedule_or_booking: bool = False,
    user_text: str | None = None,
    system_prompts: Sequence[str] = (BASE_SYSTEM_PROMPT,),
    lang: str | None = None,
) -> PolicyVerdict:
    """Check one outgoing LLM text.

    `tool_data_this_turn`: a tool (CRM) answered in this turn and its data was given to the LLM.
    `tool_failed`: a tool was called this turn and failed. `schedule_or_booking`: the turn is about the
    schedule or a booking (from the caller's intent); schedule/booking content is also detected in the text.
    `user_text`: the client's message — a request to compare teachers is refused whatever the reply says.
    `system_prompts`: the prompts used this turn; a reply repeating one of them is a leak.
    """
    language = lang or kb.tone.language
    try:
        found = _violations(
            text,
            kb=kb,
            channel=channel,
            tool_data=tool_data_this_turn,
            tool_failed=tool_failed,
            schedule_or_booking=schedule_or_booking,
            user_text=user_text,
            system_prompts=system_prompts,
        )
    except Exception as exc:  # a checker bug must not let an unchecked text through, nor crash the turn
        log.error("llm.policy_error", error=type(exc).__name__)
        found = [(Rule.POLICY_ERROR, type(exc).__name__)]
    if not found:
        return PolicyVerdict(ok=True, text=(text or "").strip(), rule=None)
    rule, detail = found[0]
    replacement = TOOL_FAILED_TEXT.get(language, TOOL_FAILED_TEXT["ru"]) if rule is Rule.TOOL_FAILED else None
    log.info("llm.policy_violation", rule=rule.value, detail=detail, violations=[r.value for r, _ in found])
    return PolicyVerdict(ok=False, text=replacement, rule=rule, violations=tuple(r for r, _ in found), detail=detail)


def _violations(
    text: str | None,
    *,
    kb: KnowledgeBase,
    channel: str,
    tool_data: bool,
    tool_failed: bool,
    schedule_or_booking: bool,
    user_text: str | None,
    system_prompts: Sequence[str],
) -> list[tuple[Rule, str]]:
    if not isinstance(text, str) or not text.strip():
        return [(Rule.EMPTY, "")]
    text = text.strip()
    found: list[tuple[Rule, str]] = []
    if tool_failed:
        found.append((Rule.TOOL_FAILED, "a tool failed this turn"))
    if leaks_prompt(text, system_prompts):
        found.append((Rule.PROMPT_LEAK, ""))
    if discloses_ai(text):
        found.append((Rule.AI_DISCLOSURE, ""))
    if teacher_comparison(text, kb) or (user_text and teacher_comparison(user_text, kb)):
        found.append((Rule.TEACHER_COMPARISON, ""))
    if not tool_data:
        if schedule_or_booking:
            found.append((Rule.NO_TOOL_DATA, "schedule/booking turn"))
        elif states_booking(text):
            found.append((Rule.NO_TOOL_DATA, "booking or availability stated"))
        elif mentions := schedule_mentions(text, kb):
            found.append((Rule.NO_TOOL_DATA, "schedule: " + ", ".join(sorted(mentions))))
    known = kb_prices(kb)
    unknown = [p for p in find_prices(text) if p not in known]
    if unknown:
        found.append((Rule.PRICE_NOT_IN_KB, ", ".join(str(p) for p in unknown)))
    elif stray_currency(text):
        found.append((Rule.PRICE_NOT_IN_KB, "an amount without digits"))
    elif free := free_claims(text, kb):
        found.append((Rule.PRICE_NOT_IN_KB, "free: " + ", ".join(sorted(free))))
    if len(text) > channel_limit(channel):
        found.append((Rule.TOO_LONG, f"{len(text)} > {channel_limit(channel)}"))
    emoji = count_emoji(text)
    if emoji > MAX_EMOJI:
        found.append((Rule.TOO_MANY_EMOJI, f"{emoji} > {MAX_EMOJI}"))
    return found
