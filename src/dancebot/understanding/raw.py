"""An `Understanding` from raw slot values, through the same resolvers the rules use (PRODUCT.md §6).

A fallback understander (an LLM extractor) says only what the client wrote — "каблуки", "к Диме",
"в четверг", "к восьми вечера", "Лена", "8914…" — never an id, a date or a price. This module turns those
words into KB ids, a time constraint, a checked name and an E.164 phone exactly as for a message the
rules read, so the engine cannot tell (and need not care) which understander spoke.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from dancebot.kb.schema import KnowledgeBase
from dancebot.understanding.entities import (
    kb_words,
    resolve_branches,
    resolve_styles,
    resolve_teachers,
    unknown_style_mention,
)
from dancebot.understanding.intents import Intent, IntentScore
from dancebot.understanding.names import extract_name
from dancebot.understanding.phone import extract_phone
from dancebot.understanding.rules import Understanding
from dancebot.understanding.temporal import parse_temporal

__all__ = ["RawSlots", "from_raw"]


@dataclass(frozen=True)
class RawSlots:
    """The client's own words for each slot; None where the message said nothing about it."""

    style_raw: str | None = None
    teacher_raw: str | None = None
    branch_raw: str | None = None
    date_text: str | None = None
    time_text: str | None = None
    name: str | None = None
    phone: str | None = None


def from_raw(
    base: Understanding,
    intent: Intent,
    raw: RawSlots,
    *,
    kb: KnowledgeBase,
    now: datetime,
    confidence: float,
) -> Understanding:
    """`base` (what the rules read of the same message: its text, button, language) with the intent and
    slots resolved from `raw`; a value the resolvers cannot place is dropped, never guessed."""
    styles = resolve_styles(raw.style_raw, kb) if raw.style_raw else []
    unknown = unknown_style_mention(raw.style_raw, kb) if raw.style_raw and not styles else None
    when_text = " ".join(t for t in (raw.date_text, raw.time_text) if t)
    time = parse_temporal(when_text, now, lookahead_days=kb.booking.lookahead_days) if when_text else None
    if time is not None and time.is_empty and not time.rejected:
        time = None
    name = extract_name(raw.name, asked=True, stop_words=kb_words(kb)) if raw.name else None
    return replace(
        base,
        intents=(IntentScore(intent, confidence),),
        styles=tuple(styles),
        teachers=tuple(resolve_teachers(raw.teacher_raw, kb)) if raw.teacher_raw else (),
        branches=tuple(resolve_branches(raw.branch_raw, kb)) if raw.branch_raw else (),
        unknown_style=unknown,
        name=name,
        relation=name.relation if name and name.relation else base.relation,
        phone=extract_phone(raw.phone) if raw.phone else None,
        time=time,
        faq=None,
        gibberish=False,
        confident=True,
    )
