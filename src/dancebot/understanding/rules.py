"""One message → one `Understanding`, by rules alone (PRODUCT.md §6: rules first, LLM second).

Every rule of this package runs on the message once; the results are combined with the
conversation's state in mind (`state_hint`): a bare "Катя" is a name only when the bot asked for
one, "да" is a confirmation only where a yes/no was asked, "бачата" alone answers "which style?".
`confident` tells the engine whether the rules settled the message; only when they did not is an
LLM consulted (and its raw values are resolved by these same resolvers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from dancebot.kb.schema import KnowledgeBase
from dancebot.understanding.entities import (
    BranchMatch,
    StyleMatch,
    TeacherMatch,
    kb_words,
    resolve_branches,
    resolve_styles,
    resolve_teachers,
    unknown_style_mention,
)
from dancebot.understanding.faq import FaqHit, match_faq
from dancebot.understanding.intents import (
    GOOD,
    STRONG,
    Intent,
    IntentScore,
    detect_intents,
    is_gibberish,
    rank_intents,
)
from dancebot.understanding.names import NameResult, extract_name, relation_in
from dancebot.understanding.phone import PhoneResult, extract_phone
from dancebot.understanding.temporal import TimeConstraint, parse_temporal
from dancebot.understanding.text import analyse, is_cyrillic, is_gibberish_word, is_known_word, lemma
from dancebot.understanding.yesno import Confirming, YesNo, read_yes_no

__all__ = ["Understanding", "understand"]

Lang = Literal["ru", "en"]

# `state_hint` is an FSM state (PRODUCT.md §5 names) or the slot the bot just asked for.
_ASKS_NAME = frozenset({"COLLECTING_CONTACT", "CLIENT_NAME"})
_ASKS_YES_NO = frozenset({"CONFIRM_BOOKING", "CONFIRMATION", "CANCEL_FLOW", "SERIAL_BOOKING"})
_ASKS_GROUP = frozenset({"COLLECTING_GROUP", "GROUP"})
# The action each yes/no question asks about: a verb restating it is a yes ("да, отмените" → cancel it).
_CONFIRMING: dict[str, Confirming] = {
    "CONFIRM_BOOKING": "book",
    "CONFIRMATION": "book",
    "SERIAL_BOOKING": "book",
    "CANCEL_FLOW": "cancel",
}
_COLLECTING = _ASKS_NAME | _ASKS_GROUP | frozenset({"COLLECTING_DATETIME", "DATETIME", "CLIENT_PHONE"})
# The engine acts on these; an FAQ entry about the same action would only explain it.
_ACTIONS = frozenset(
    {Intent.CANCEL, Intent.RESCHEDULE, Intent.MY_BOOKINGS, Intent.ABORT, Intent.LATENESS, Intent.ADMIN}
)
_BOOKING_LIKE = frozenset({Intent.BOOKING, Intent.SERIAL_BOOKING, Intent.SCHEDULE})
_FAQ_WITH_BOOKING, _FAQ_WITH_PRICE, _FAQ_CONFIDENT = 0.85, 0.9, 0.75
_QUESTION_WORDS = frozenset({"есть", "когда", "какой", "сколько", "what", "when", "is", "are", "do"})
_WANT_WORDS = frozenset({"хотеть", "хотеться", "на", "записать", "want", "like", "book"})
_PREPOSITIONS = frozenset({"к", "ко", "у", "с", "со", "to", "with"})
# Intents that do not say what the client wants done; a style named next to them does.
_SMALL_TALK = frozenset({Intent.GREETING, Intent.THANKS, Intent.INFO, Intent.UNKNOWN})
_BARE_ENTITY = 0.6  # "хилс" alone: probably a booking, not sure enough to skip the LLM in IDLE


@dataclass(frozen=True)
class Understanding:
    """Everything the rules read in one message; ids are KB ids, times are the parser's constraint."""

    text: str
    lang: Lang  # "en" when the message is mostly Latin letters
    intents: tuple[IntentScore, ...]  # ranked, never empty: (unknown, 0.0) when nothing was found
    styles: tuple[StyleMatch, ...]  # best first; two or more → the engine asks which first
    teachers: tuple[TeacherMatch, ...]
    branches: tuple[BranchMatch, ...]
    unknown_style: str | None  # a style the KB lacks ("бачата"): say so, offer nearest_styles()
    name: NameResult | None  # the client's, or the attendee's when `for_someone_else`
    relation: str | None  # "дочь", "сын", … also when no name was given
    phone: PhoneResult | None  # `valid=False`: tell the client once, with an example
    yes_no: YesNo | None  # an explicit yes/no, whatever the state; the engine uses it where it asked
    has_correction: bool  # the reply says more than yes/no: read the slots again
    faq: FaqHit | None  # only when the engine should answer from the FAQ (not act or compute)
    time: TimeConstraint | None  # None: no day/time named; may be empty with `rejected` ("25:00")
    gibberish: bool
    confident: bool  # the rules settled the message; otherwise a fallback understander may be asked
    # Filled by the understander from the message and the conversation (see `seam.py`):
    callback: str | None = None  # the button chosen: tapped, or typed as its number
    reply_lang: Lang = "ru"  # the language to answer in (the client's, kept across messages)
    nearest: bool = False  # "на ближайшее": the first class that fits, no list
    class_count: int | None = None  # "на 3 занятия"
    wants_passes: bool = False  # "абонемент": subscriptions, not the single price
    asks: bool = False  # a question form ("?", "когда", "какие")
    asks_schedule: bool = False  # "что есть", "расписание": a schedule question, not a booking
    wants: bool = False  # "хочу", "запишите": a wish to book
    question_like: bool = False  # "?" or a sentence of four words or more
    trial: bool = False  # "пробное", "первое занятие": the KB's trial answer, not the price list
    asks_where: bool = False  # "а где это?": about the class being booked
    asks_who: bool = False  # "кто ведёт?"
    asks_end: bool = False  # "во сколько заканчивается?"
    bad_time: str | None = None  # "25:00" as the client wrote an impossible time
    elliptic: bool = False  # "а на сальсу?", "а в субботу?": the last question again, with this changed
    # The reply restates the action a yes/no question asked about ("отмените другую" to "Отменить запись?"):
    # about that action, never a wish to leave the flow, even when it is not a plain yes.
    restates: bool = False
    # A configured LLM is down or over budget (PRODUCT.md §9.3 L2), set by the LLM layer's understander;
    # an action that finds the CRM down too answers as L3.
    llm_down: bool = False

    @classmethod
    def empty(cls, lang: Lang = "ru") -> Understanding:
        """Nothing said: a system event (timeout, admin command) runs through the FSM with this."""
        return cls(
            text="",
            lang=lang,
            reply_lang=lang,
            intents=(IntentScore(Intent.UNKNOWN, 0.0),),
            styles=(),
            teachers=(),
            branches=(),
            unknown_style=None,
            name=None,
            relation=None,
            phone=None,
            yes_no=None,
            has_correction=False,
            faq=None,
            time=None,
            gibberish=False,
            confident=True,
        )

    @property
    def intent(self) -> Intent:
        return self.intents[0].intent

    def has(self, intent: Intent) -> bool:
        return any(score.intent == intent for score in self.intents)

    @property
    def has_slots(self) -> bool:
        """A style, teacher, branch, usable day/time, name or phone was found."""
        has_time = self.time is not None and not self.time.is_empty
        return bool(self.styles or self.teachers or self.branches or has_time or self.name or self.phone)


def understand(text: str, *, kb: KnowledgeBase, state_hint: str | None, now: datetime) -> Understanding:
    """Read `text` with every rule; `state_hint` says what the bot asked last (see module doc)."""
    state = (state_hint or "").upper()
    phone = extract_phone(text)
    rest = text.replace(phone.raw, " ") if phone else text
    # A name next to a phone number ("…, Анна 89141234567") is the client introducing themselves.
    asked = state in _ASKS_NAME or phone is not None
    name = extract_name(rest, asked=asked, stop_words=kb_words(kb))
    if name is None and phone is not None:
        name = _name_next_to(text, phone.raw, kb)
    styles = resolve_styles(rest, kb)
    teachers = _teachers(rest, kb, name)
    branches = resolve_branches(rest, kb)
    unknown = unknown_style_mention(rest, kb)
    if unknown is None and not styles and state in _ASKS_GROUP:
        unknown = _bare_unknown_style(rest)
    reply = read_yes_no(text, _CONFIRMING.get(state))
    time = _parse_time(rest, now, kb)
    scores = _with_entity_intents(
        detect_intents(rest, escalation_triggers=kb.escalation.triggers), rest, bool(styles or teachers), unknown
    )
    faq = _relevant_faq(
        match_faq(rest, kb, names=(name.name,) if name else ()),
        scores,
        bool(styles),
        trial=bool(_TRIAL.search(rest)),
        asks=_asks_may(rest),
    )
    if faq:
        others = [s for s in scores if s.intent != Intent.INFO]
        info = max([faq.score, *(s.confidence for s in scores if s.intent == Intent.INFO)])
        scores = rank_intents([*others, IntentScore(Intent.INFO, info)])
    found_anything = bool(styles or teachers or branches or unknown or name or phone or time or faq)
    gibberish = (
        not found_anything
        and reply.answer is None
        and scores[0].intent == Intent.UNKNOWN
        and is_gibberish(rest, vocabulary=kb_words(kb, teachers=True))
    )
    understanding = Understanding(
        text=text,
        lang=_language(text),
        intents=tuple(scores),
        styles=tuple(styles),
        teachers=tuple(teachers),
        branches=tuple(branches),
        unknown_style=unknown,
        name=name,
        relation=name.relation if name and name.relation else relation_in(rest),
        phone=phone,
        yes_no=reply.answer,
        has_correction=reply.has_correction,
        restates=reply.restated,
        faq=faq,
        time=time,
        gibberish=gibberish,
        confident=False,
    )
    return _with_confidence(understanding, state)


def _name_next_to(text: str, raw_phone: str, kb: KnowledgeBase) -> NameResult | None:
    """ "…на хилс в чт Анна 8914…", "…я Оля +7914…": the words right before (or after) a phone name the
    client, even inside a long run-on clause."""
    at = text.find(raw_phone)
    if at < 0:
        return None
    before = text[:at].replace(",", " ").split()[-2:]
    after = text[at + len(raw_phone) :].replace(",", " ").split()[:2]
    for window in (before, before[-1:], after[:1], after):
        if window:
            found = extract_name(" ".join(window), asked=True, stop_words=kb_words(kb))
            if found is not None:
                return found
    return None


def _parse_time(text: str, now: datetime, kb: KnowledgeBase) -> TimeConstraint | None:
    """The message's time constraint; None when it names no day or time, not even an impossible one."""
    constraint = parse_temporal(text, now, lookahead_days=kb.booking.lookahead_days)
    return None if constraint.is_empty and not constraint.rejected else constraint


def _teachers(text: str, kb: KnowledgeBase, name: NameResult | None) -> list[TeacherMatch]:
    """Teachers named in `text`, minus the client's own name: "меня зовут Ольга" is not the teacher
    Ольга, but "…хочу к Оле" still is."""
    if name is None:
        return resolve_teachers(text, kb)
    name_words = set(analyse(name.name).tokens)
    tokens = analyse(text).tokens
    kept = [t for i, t in enumerate(tokens) if t not in name_words or (i > 0 and tokens[i - 1] in _PREPOSITIONS)]
    return resolve_teachers(" ".join(kept), kb)


def _bare_unknown_style(text: str) -> str | None:
    """Answering "which style?" with one word the dictionary lacks ("кизомба") names a style."""
    tokens = analyse(text).tokens
    if len(tokens) != 1 or not is_cyrillic(tokens[0]) or len(tokens[0]) < 4:
        return None
    word = tokens[0]
    return None if is_known_word(word) or is_gibberish_word(word) else lemma(word)


def _with_entity_intents(
    scores: list[IntentScore], text: str, has_entity: bool, unknown: str | None
) -> list[IntentScore]:
    """A style or teacher with no wish stated: "хочу на хилс" books, "есть хилс в пт?" asks when."""
    if any(s.intent not in _SMALL_TALK or (s.intent == Intent.INFO and s.confidence >= GOOD) for s in scores):
        return scores
    if unknown:
        return rank_intents([*scores, IntentScore(Intent.INFO, GOOD)])
    if not has_entity:
        return scores
    forms = analyse(text).forms
    if "?" in text or not forms.isdisjoint(_QUESTION_WORDS):
        inferred = IntentScore(Intent.SCHEDULE, GOOD)
    elif not forms.isdisjoint(_WANT_WORDS):
        inferred = IntentScore(Intent.BOOKING, GOOD)
    else:
        inferred = IntentScore(Intent.BOOKING, _BARE_ENTITY)
    return rank_intents([*scores, inferred])


_TRIAL = re.compile(r"пробн|перв\w*\s+(?:заняти|раз|урок)|trial|first class", re.I)


def _asks_may(text: str) -> bool:
    """A question, or a "можно…" that asks leave ("можно ли прийти новичку", "а если я не умею")."""
    said = text.lower().lstrip(" ,.!")
    return "?" in text or said.startswith(("можно", "а можно", "а если", "если", "а ", "подойд", "подход"))


def _relevant_faq(
    hit: FaqHit | None, scores: list[IntentScore], has_style: bool, *, trial: bool, asks: bool = False
) -> FaqHit | None:
    """Keep an FAQ hit only when the engine would not rather act or compute the answer itself. A weak
    booking cue ("прийти" alone, no style) in a question does not hide the entry: "можно ли прийти
    новичку?" asks the studio's FAQ, and the conversation decides whether it books (conversation/events)."""
    if hit is None:
        return None
    intents = {s.intent for s in scores}
    if intents & _ACTIONS:
        return None
    weak_booking = asks and not has_style and all(s.confidence < STRONG for s in scores if s.intent in _BOOKING_LIKE)
    if intents & _BOOKING_LIKE and hit.score < _FAQ_WITH_BOOKING and not weak_booking:
        return None
    if Intent.PRICE in intents and (has_style or hit.score < _FAQ_WITH_PRICE) and not trial:
        return None  # price_answer() quotes the KB prices for exactly what was asked
    return hit


def _language(text: str) -> Lang:
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    cyrillic = sum(1 for ch in text if "а" <= ch.lower() <= "я" or ch.lower() == "ё")
    return "en" if latin > cyrillic else "ru"


def _with_confidence(u: Understanding, state: str) -> Understanding:
    """Did the rules settle this message? If not, the engine may ask an LLM (PRODUCT.md §6)."""
    confident = (
        u.gibberish
        or u.intents[0].confidence >= GOOD
        or (u.faq is not None and u.faq.score >= _FAQ_CONFIDENT)
        or u.unknown_style is not None
        or (state in _ASKS_YES_NO and u.yes_no is not None)
        or (state in _ASKS_NAME and (u.name is not None or u.phone is not None))
        or (state in _COLLECTING | _ASKS_YES_NO and (u.has_slots or (u.time is not None and bool(u.time.rejected))))
    )
    return replace(u, confident=confident)
