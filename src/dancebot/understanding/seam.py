"""The one seam between a message and its meaning: an `Understander` turns a message, with what the
conversation is waiting for, into one `Understanding` (PRODUCT.md §6).

`RulesUnderstander` reads everything by rules, in milliseconds and without I/O: the button chosen (tapped,
or typed as its number), menu buttons read as what a client would type, the reply language, and every
text check the engine acts on. `Chain` puts a fallback understander (an LLM extractor) behind the rules:
it is asked only when `Understanding.confident` is false, with the rules' reading in `Hints.rules` (its
starting point, and its answer when it has nothing better), and whatever it says goes through the same
resolvers (`from_raw`), so it never computes a date, a price or availability itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from dancebot.channels.message import UnifiedMessage
from dancebot.kb.schema import KnowledgeBase
from dancebot.understanding.rules import Lang, Understanding, understand

__all__ = ["Chain", "Hints", "RulesUnderstander", "Understander", "class_count", "detect_language"]


@dataclass(frozen=True)
class Hints:
    """What the conversation tells understanding about the message it waits for."""

    now: datetime
    state_hint: str | None = None  # the slot asked for, else the FSM state
    buttons: tuple[str, ...] = ()  # data of the buttons under the last question, in order
    language: str | None = None  # the language of the conversation so far
    rules: Understanding | None = None  # what the rules read of this message: set by `Chain` for its fallback


class Understander(Protocol):
    async def understand(self, msg: UnifiedMessage, hints: Hints) -> Understanding: ...


# Menu buttons carry what a client would have typed.
_MENU_TEXT = {
    "book:": {"ru": "хочу записаться", "en": "I want to book a class"},
    "menu:schedule": {"ru": "расписание", "en": "schedule"},
    "menu:prices": {"ru": "сколько стоит занятие", "en": "how much is a class"},
}
_START = ("/start", "/help", "/menu")  # Telegram's first message, not English text
_WORD = re.compile(r"[A-Za-zА-Яа-яЁё]+")
_NEUTRAL = frozenset({"ok", "okay", "ок", "hi", "wow", "vip"})
_NEAREST = re.compile(r"ближайш|поскорее|как можно раньше|earliest|nearest|next (?:one|class)", re.I)
_COUNT_WORDS = {
    "два": 2,
    "две": 2,
    "три": 3,
    "четыре": 4,
    "пять": 5,
    "шесть": 6,
    "семь": 7,
    "восемь": 8,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
}
_COUNT = re.compile(
    r"\b(\d{1,2}|" + "|".join(_COUNT_WORDS) + r")\s*(?:[а-яёa-z]+\s+)?"
    r"(?:занят|урок|раз\b|раза\b|тренир|class|lesson|понедельник|вторник|сред|четверг|пятниц|суббот|воскресен"
    r"|mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays)",
    re.I,
)
_PASSES = ("абонемент", "безлимит", "pass", "subscription")
_ASK_WORDS = ("что есть", "что у вас", "какие", "когда", "есть ли", "what", "when", "which")
_SCHEDULE_WORDS = (
    "что есть",
    "что у вас",
    "какие занятия",
    "какие классы",
    "когда можно",
    "расписан",
    "what's on",
    "what classes",
    "schedule",
)
_WANT_WORDS = (
    "хочу",
    "хотел",
    "хотела",
    "хочется",
    "запиш",
    "записат",
    "можно на ",
    "можно к ",
    "можно ко ",
    "можно мне",
    "можно ли записаться",
    "want",
    "book",
    "sign up",
    "sign me",
    "can i join",
    "could i join",
)
_TRIAL = ("пробн", "первое занятие", "первого занятия", "первый раз", "в первый", "trial", "first class")
_WHERE = (
    "где это",
    "где оно",
    "где будет",
    "где проход",
    "где занят",
    "где наход",
    "адрес",
    "как добрат",
    "как доехат",
    "where is",
    "where's",
    "address",
)
_WHO = (
    "кто ведет",
    "кто ведёт",
    "кто веде",
    "кто преподает",
    "кто преподаёт",
    "кто тренер",
    "какой тренер",
    "какой педагог",
    "кто педагог",
    "у кого",
    "who teaches",
    "who's teaching",
    "who is the teacher",
)
_END = (
    "заканчива",
    "законч",  # "во сколько закончится?"
    "кончает",
    "во сколько конец",
    "до скольки",
    "до какого времени",
    "сколько длится",
    "сколько идет",
    "сколько идёт",
    "длительность",
    "how long",
    "when does it end",
    "until when",
    "what time does it end",
)
_ELLIPSIS = re.compile(r"^\s*(?:а|и|а если|а как|а что|ну а|and|what about|how about)\b", re.I)


def detect_language(
    said: str, *, default: str, previous: str | None, client_locale: str | None, names: frozenset[str]
) -> Lang:
    """English for a client who writes English sentences (or whose Telegram is English on the first
    message); else the KB language. Our own Latin names ("High Heels", "Hip-Hop") and "ok" switch nothing."""
    words = [w.lower() for w in _WORD.findall(said)]
    cyrillic = sum(1 for w in words if not w.isascii())
    latin = [w for w in words if w.isascii() and w not in names and w not in _NEUTRAL]
    if cyrillic > len(latin):
        return "ru"
    if len(latin) >= 2 and len(latin) > cyrillic:
        return "en"
    chosen = previous or ("en" if (client_locale or "").startswith("en") else default)
    return "en" if chosen == "en" else "ru"


def class_count(text: str) -> int | None:
    """ "на 3 занятия", "три занятия" → 3."""
    m = _COUNT.search(text)
    if not m:
        return None
    raw = m.group(1).lower()
    return int(raw) if raw.isdigit() else _COUNT_WORDS[raw]


_CLOCK = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\b")


def _bad_time(text: str) -> str | None:
    """The impossible time as written ("25:00", "в 27"), to name it back."""
    for m in _CLOCK.finditer(text):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if (m.group(2) and (hour > 24 or minute > 59)) or (not m.group(2) and 24 < hour < 100):
            return m.group(0)
    return None


def _has_any(text: str, words: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(w in low for w in words)


class RulesUnderstander:
    """Rules only: no I/O, a few milliseconds a message."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        labels = [
            label
            for entries in (kb.services, kb.teachers, kb.studio.branches)
            for entry in entries
            for label in (entry.name, *entry.aliases)
        ]
        self._latin_names = frozenset(w.lower() for label in labels for w in _WORD.findall(label) if w.isascii())

    async def understand(self, msg: UnifiedMessage, hints: Hints) -> Understanding:
        return self.read(msg, hints)

    def read(self, msg: UnifiedMessage, hints: Hints) -> Understanding:
        text = msg.contact_phone or (msg.text or "").strip()
        said = text
        callback = msg.callback_data
        if text.split("@")[0] in _START:
            said, text = "", "привет"
        if not callback and text.isdigit() and 0 < int(text) <= len(hints.buttons):
            callback = hints.buttons[int(text) - 1]  # "2" typed instead of tapping the second button
        lang = detect_language(
            said,
            default=self._kb.tone.language,
            previous=hints.language,
            client_locale=msg.language_code,
            names=self._latin_names,
        )
        menu = _MENU_TEXT.get(callback or "")
        if menu is not None:
            text, callback = menu.get(hints.language or self._kb.tone.language, menu["ru"]), None
        u = understand(text, kb=self._kb, state_hint=hints.state_hint, now=hints.now)
        return replace(
            u,
            callback=callback,
            reply_lang=lang,
            nearest=bool(_NEAREST.search(text)),
            class_count=class_count(text),
            wants_passes=_has_any(text, _PASSES),
            asks="?" in text or _has_any(text, _ASK_WORDS),
            asks_schedule=_has_any(text, _SCHEDULE_WORDS),
            wants=_has_any(text, _WANT_WORDS),
            question_like="?" in text or len(text.split()) >= 4,
            trial=_has_any(text, _TRIAL),
            asks_where=_has_any(text, _WHERE),
            asks_who=_has_any(text, _WHO),
            asks_end=_has_any(text, _END),
            elliptic=bool(_ELLIPSIS.match(text)) and len(text.split()) <= 5,
            bad_time=_bad_time(text) if u.time is not None and "bad_time" in u.time.rejected else None,
        )


class Chain:
    """The rules first; a fallback understander only for what they could not settle."""

    def __init__(self, rules: Understander, fallback: Understander | None = None) -> None:
        self._rules = rules
        self._fallback = fallback

    async def understand(self, msg: UnifiedMessage, hints: Hints) -> Understanding:
        u = await self._rules.understand(msg, hints)
        if u.confident or self._fallback is None:
            return u
        return await self._fallback.understand(msg, replace(hints, rules=u))
