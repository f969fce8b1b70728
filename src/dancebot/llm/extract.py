"""The LLM behind the rules (PRODUCT.md §6.2): an `Understander` asked only for what the rules could not
settle (`understanding.seam.Chain`), in one call.

The call: the short system prompt with the task; a data block with the names clients use for the studio's
styles, teachers and branches, what the bot is waiting for, and the KB passages retrieved for the message
(never the schedule); the client's text alone in the `user` role. The answer is one JSON object:

    {"intent": "booking", "slots": {"style_raw": "на каблуки", "teacher_raw": null, "branch_raw": null,
     "date_text": "по четвергам", "time_text": null, "name": null, "phone": null},
     "confidence": 0.8, "answer": null}

What is used of it, and how:
- every raw slot must be the client's own words (found in the message, allowing a typo); the rest is
  dropped as invented. The words go through the rules' resolvers and temporal parser (`from_raw`), so the
  model never computes a date, a price or availability; a slot it leaves out keeps what the rules found;
- the intent only when the model is sure enough (`MIN_CONFIDENCE`) and names one we know;
- `answer` (PRODUCT.md §6.2, FAQ from KB passages) only for a question about the studio the rules' FAQ
  match did not settle, only when passages were given, and only when it passes the Policy Enforcer and
  is composed of those passages (its numbers, words and word pairs are theirs): it becomes the understanding's FAQ
  answer, so the engine says it like any KB answer and stays pure.

Anything else — no call allowed (budget, breaker), an error, garbage, an object of the wrong shape — and
the rules' understanding comes back unchanged. Nothing raises out of `understand`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dancebot.channels.message import UnifiedMessage
from dancebot.kb.schema import KnowledgeBase
from dancebot.llm.client import LLMClient
from dancebot.llm.health import LLMHealth
from dancebot.llm.passages import Passage, content_lemmas, content_sequence, kb_names, retrieve
from dancebot.llm.policy import enforce
from dancebot.llm.prompts import data_block, system_prompt
from dancebot.logs import get_logger
from dancebot.understanding.faq import FaqHit
from dancebot.understanding.fuzzy import Levenshtein, fuzz
from dancebot.understanding.intents import GOOD, Intent, IntentScore, rank_intents
from dancebot.understanding.raw import RawSlots, from_raw
from dancebot.understanding.rules import Understanding
from dancebot.understanding.seam import Hints, RulesUnderstander
from dancebot.understanding.text import normalize

__all__ = [
    "EXTRACT_TASK",
    "MAX_USER_CHARS",
    "MIN_CONFIDENCE",
    "PURPOSE",
    "LLMUnderstander",
    "Reading",
    "grounded_answer",
    "read_reply",
]

log = get_logger(__name__)

PURPOSE = "understand"
MIN_CONFIDENCE = 0.6
MAX_USER_CHARS = 1_500  # a longer message is cut: the prompt stays bounded whatever the client pastes
MAX_REPLY_TOKENS = 256  # the JSON and a two-sentence answer; a runaway model is cut here
FAQ_SETTLED = 0.75  # an FAQ match of the rules this good is not second-guessed
ANSWER_GROUNDED = 0.75  # share of an answer's content words that must come from the passages
ANSWER_PAIRS = 0.5  # share of its pairs of neighbouring content words that must stand so in a passage
_SLOTS = ("style_raw", "teacher_raw", "branch_raw", "date_text", "time_text", "name", "phone")
_INTENTS: dict[str, Intent] = {i.value: i for i in Intent} | {
    "book": Intent.BOOKING,
    "signup": Intent.BOOKING,
    "series": Intent.SERIAL_BOOKING,
    "serial": Intent.SERIAL_BOOKING,
    "faq": Intent.INFO,
    "question": Intent.INFO,
    "prices": Intent.PRICE,
    "handoff": Intent.ADMIN,
    "human": Intent.ADMIN,
    "late": Intent.LATENESS,
    "hello": Intent.GREETING,
}
# Words any natural answer may add to the passages' own.
_COURTESY = frozenset(
    "да нет конечно здравствуйте добрый день пожалуйста спасибо подсказать уточнить администратор вопрос "
    "студия у нас можно нужно вам ваш свой хороший рад радый ждать ждём".split()
)

EXTRACT_TASK = """Read the client's message (the user message). Reply with exactly one JSON object and nothing else:
{"intent": "...", "slots": {"style_raw": null, "teacher_raw": null, "branch_raw": null, "date_text": null,
"time_text": null, "name": null, "phone": null}, "confidence": 0.0, "answer": null}
- intent, one of: booking (wants to sign up for a class), serial_booking (several classes at once), schedule
  (asks when classes are), price, info (a question about the studio), cancel, reschedule, my_bookings,
  lateness (running late), greeting, thanks, admin (wants a human), abort (drops the booking being made), unknown.
- slots: the client's own words for each, copied exactly from the message ("на каблуки", "по четвергам",
  "в 8 вечера", "Лена", "8 914 123-45-67"), else null. Never convert, complete or invent a value: no dates,
  ids, prices or times of your own. The styles, teachers and branches of the studio, with the words clients
  use for them, are in the data block.
- confidence: from 0 to 1, how sure you are of the intent.
- answer: only for intent info: at most two short sentences made only from the passages in the data block;
  null when they do not answer the question. Never give a schedule, free places or a price they do not state.
- waiting_for in the data block is what the bot asked the client last; a short message usually answers it."""


@dataclass(frozen=True)
class Reading:
    """The model's JSON, read leniently: unknown keys ignored, wrong types dropped, never an exception."""

    intent: Intent | None
    confidence: float
    slots: RawSlots
    answer: str | None


def _confidence(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]  # anything: a failure is caught below
    except (TypeError, ValueError, OverflowError):
        return 0.0
    if number != number:  # NaN
        return 0.0
    if number > 1:
        number /= 100  # "80" meant 80 %
    return min(1.0, max(0.0, number))


def _text(value: object, limit: int = 200) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)  # a phone given as a number
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:limit] if value and value.lower() not in ("null", "none", "n/a", "-") else None


def read_reply(data: Mapping[str, Any]) -> Reading:
    """`{intent, slots{…}, confidence, answer}` → `Reading`; slots may also sit at the top level."""
    raw_slots = data.get("slots")
    slots: Mapping[str, Any] = raw_slots if isinstance(raw_slots, Mapping) else data
    intent_name = _text(data.get("intent"), 40)
    intent = _INTENTS.get(intent_name.lower().replace("-", "_")) if intent_name else None
    values = {name: _text(slots.get(name)) for name in _SLOTS}
    return Reading(
        intent=intent,
        confidence=_confidence(data.get("confidence")),
        slots=RawSlots(**values),
        answer=_text(data.get("answer"), 2_000),
    )


# -- grounding: only the client's own words, only the passages' facts ---------------------------------------

_SPACES = re.compile(r"[^\w+]+")


def _plain(text: str) -> str:
    return _SPACES.sub(" ", normalize(text)).strip()


def _said(value: str, text: str) -> bool:
    """`value` is (nearly) a piece of the message: a typo fixed is fine ("хилз" → "хилс": one letter in a
    word, or a close phrase), a word of its own is not."""
    v, t = _plain(value), _plain(text)
    if not v:
        return False
    if v in t:
        return True
    if " " not in v:
        return len(v) >= 4 and any(Levenshtein.distance(v, w) <= 1 for w in t.split())
    return fuzz.partial_ratio(v, t) >= 85


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _grounded_slots(raw: RawSlots, text: str) -> tuple[RawSlots, list[str]]:
    """The slots the client really wrote, and the names of those dropped as invented."""
    kept: dict[str, str | None] = {}
    dropped: list[str] = []
    for name in _SLOTS:
        value = getattr(raw, name)
        if value is None:
            kept[name] = None
            continue
        if name == "phone":
            ok = len(_digits(value)) >= 5 and _digits(value) in _digits(text)
        else:
            ok = _said(value, text)
        kept[name] = value if ok else None
        if not ok:
            dropped.append(name)
    return RawSlots(**kept), dropped


def _pairs(lemmas: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(lemmas))


def grounded_answer(answer: str, passages: Sequence[Passage]) -> bool:
    """Composed of the passages, not of the client's words: every number is theirs, most content words are
    theirs, and so are most pairs of neighbouring content words ("занятия бесплатные" is not in a passage
    that says "бесплатная парковка")."""
    source = " ".join(p.render() for p in passages)
    numbers = set(re.findall(r"\d+", source))
    if any(n not in numbers for n in re.findall(r"\d+", answer)):
        return False
    said = [w for w in content_sequence(answer) if w not in _COURTESY]
    if not said:
        return False
    known = content_lemmas(source)
    if sum(1 for w in said if w in known) / len(said) < ANSWER_GROUNDED:
        return False
    pairs = _pairs(said)
    known_pairs = {pair for p in passages for pair in _pairs(content_sequence(p.render()))}
    return not pairs or len(pairs & known_pairs) / len(pairs) >= ANSWER_PAIRS


# -- the understander ----------------------------------------------------------------------------------------


class LLMUnderstander:
    """The fallback of `Chain`: one JSON call for a message the rules could not settle."""

    def __init__(
        self,
        kb: KnowledgeBase,
        client: LLMClient,
        health: LLMHealth,
        *,
        rules: RulesUnderstander | None = None,
    ) -> None:
        self._kb = kb
        self._client = client
        self._health = health
        self._rules = rules or RulesUnderstander(kb)
        self._names = kb_names(kb)

    def system_prompt(self, lang: str) -> str:
        return system_prompt(EXTRACT_TASK, tone=self._kb.tone.style_notes, language=lang)

    def data(self, hints: Hints, found: Sequence[Passage]) -> str:
        sections: dict[str, Any] = {**self._names, "waiting_for": hints.state_hint or "nothing"}
        if found:
            sections["passages"] = "\n".join(p.render() for p in found)
        return data_block(sections)

    async def understand(self, msg: UnifiedMessage, hints: Hints) -> Understanding:
        base = hints.rules or self._rules.read(msg, hints)
        try:
            return await self._understand(msg, hints, base)
        except Exception as exc:  # the LLM path never breaks a conversation (PRODUCT.md §9.1)
            log.error("llm.understand_failed", trace_id=msg.trace_id, error=type(exc).__name__)
            return base

    async def _understand(self, msg: UnifiedMessage, hints: Hints, base: Understanding) -> Understanding:
        text = (msg.text or "").strip()
        if not text or msg.callback_data or msg.contact_phone or base.gibberish:
            return base  # a button, a shared contact or keyboard mashing: nothing for a model to read
        if await self._health.status(alert=True) != "ok":
            return base  # static KB mode (PRODUCT.md §9.3 L2)
        text = text[:MAX_USER_CHARS]
        found = retrieve(text, self._kb)
        result = await self._client.complete_json(
            PURPOSE,
            self.system_prompt(base.reply_lang),
            self.data(hints, found),
            text,
            msg.trace_id,
            max_tokens=MAX_REPLY_TOKENS,
        )
        await self._health.observe(result)
        if not result.ok or result.data is None:
            return base
        return self._merge(base, read_reply(result.data), text, found, msg, hints)

    def _merge(
        self,
        base: Understanding,
        reading: Reading,
        text: str,
        found: Sequence[Passage],
        msg: UnifiedMessage,
        hints: Hints,
    ) -> Understanding:
        raw, dropped = _grounded_slots(reading.slots, text)
        if dropped:
            log.info("llm.slots_not_said", trace_id=msg.trace_id, slots=dropped)
        intent = reading.intent if reading.confidence >= MIN_CONFIDENCE else None
        if intent is Intent.UNKNOWN:
            intent = None
        resolved = from_raw(base, intent or base.intent, raw, kb=self._kb, now=hints.now, confidence=reading.confidence)
        faq = self._answer(base, reading, intent, text, found, msg)
        if faq is not None:
            intent = Intent.INFO
        merged = replace(
            base,
            styles=resolved.styles or base.styles,
            teachers=resolved.teachers or base.teachers,
            branches=resolved.branches or base.branches,
            unknown_style=None if (resolved.styles or base.styles) else (resolved.unknown_style or base.unknown_style),
            name=resolved.name or base.name,
            relation=resolved.relation or base.relation,
            phone=resolved.phone if resolved.phone and resolved.phone.valid else (base.phone or resolved.phone),
            time=resolved.time or base.time,
            faq=faq or base.faq,
        )
        if intent is not None:
            score = IntentScore(intent, max(reading.confidence, GOOD) if faq else reading.confidence)
            merged = replace(merged, intents=tuple(rank_intents([score, *base.intents])))
        if merged == base:
            return base  # the model added nothing the rules had not found
        log.info("llm.understood", trace_id=msg.trace_id, intent=merged.intent.value, answered=faq is not None)
        return replace(merged, confident=True)

    def _answer(
        self,
        base: Understanding,
        reading: Reading,
        intent: Intent | None,
        text: str,
        found: Sequence[Passage],
        msg: UnifiedMessage,
    ) -> FaqHit | None:
        """The model's answer as an FAQ answer, if it may be one (see the module doc)."""
        if not reading.answer or not found or intent is not Intent.INFO:
            return None
        if base.faq is not None and base.faq.score >= FAQ_SETTLED:
            return None
        verdict = enforce(reading.answer, kb=self._kb, channel=msg.channel, user_text=text, lang=base.reply_lang)
        if not verdict.ok or not verdict.text:
            return None  # the enforcer logged the rule; the rules' way (FAQ or the admin) answers instead
        if not grounded_answer(verdict.text, found):
            log.info("llm.policy_violation", rule="not_from_passages", trace_id=msg.trace_id)
            return None
        return FaqHit(index=-1, question=text[:200], answer=verdict.text, score=reading.confidence)
