"""The detectors behind the policy enforcer: prices, emoji, teacher comparisons, AI talk, prompt leaks and
schedule/booking content. Pure functions over text (and the KB); Russian and English.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation

from dancebot.kb import KnowledgeBase
from dancebot.llm.prompts import LEAK_MARKERS

__all__ = [
    "count_emoji",
    "discloses_ai",
    "find_prices",
    "free_claims",
    "kb_prices",
    "kb_texts",
    "leaks_prompt",
    "normalize",
    "schedule_mentions",
    "states_booking",
    "stray_currency",
    "teacher_comparison",
]


def normalize(text: str) -> str:
    """NFKC (fullwidth digits → ASCII), typographic apostrophes → `'`, NBSPs → spaces."""
    text = unicodedata.normalize("NFKC", text)
    return text.replace("\u2019", "'").replace("\u02bc", "'").replace("\u00a0", " ").replace("\u202f", " ")


# -- prices ------------------------------------------------------------------------------------------------

_NUM = r"(\d{1,3}(?:[ .,]\d{3})+(?!\d)|\d+)(?:[.,](\d{1,2}))?(?!\d)"
_MULT = r"(?:\s*(тыс\.?|тысяч[а-яё]*|k)(?![a-zа-яё]))?"
_CUR = r"\s*(?:₽|руб(?:л[а-яё]*|\.|(?![а-яё]))|р\.|р(?![а-яёa-z])|rub(?:les?)?(?![a-z])|roubles?(?![a-z]))"
_LOW = r"(?<![\d.,])(?<!\d:)(\d{1,3}(?:[ .,]\d{3})+|\d+)(?![\d.,])\s*(?:-|–|до|to)\s*"  # `500–700 ₽`, `от 500 до 700 ₽`
_PRICE = re.compile(rf"(?:{_LOW})?(?<![\d.,])(?<!\d:){_NUM}{_MULT}{_CUR}", re.IGNORECASE)
_PREFIXED = re.compile(rf"(?:₽|\brub\b)\s*{_NUM}", re.IGNORECASE)
_CURRENCY_WORD = re.compile(r"₽|\bруб(?:л[а-яё]*|\.|(?![а-яё]))|\brub(?:les?)?\b|\broubles?\b", re.IGNORECASE)


def _amount(whole: str | None, cents: str | None, thousands: bool = False) -> Decimal | None:
    if whole is None:
        return None
    try:
        value = Decimal(re.sub(r"[ .,]", "", whole) + (f".{cents}" if cents else ""))
    except InvalidOperation:
        return None
    return value * 1000 if thousands else value


def _price_matches(text: str) -> Iterator[tuple[re.Match[str], list[Decimal]]]:
    for m in _PRICE.finditer(text):
        thousands = bool(m.group(4))
        values = [_amount(m.group(1), None, thousands), _amount(m.group(2), m.group(3), thousands)]
        yield m, [v for v in values if v is not None]
    for m in _PREFIXED.finditer(text):
        yield m, [v for v in [_amount(m.group(1), m.group(2))] if v is not None]


def find_prices(text: str) -> list[Decimal]:
    """Every amount of money in `text`: `700 ₽`, `1 500 ₽`, `1500р`, `2,4 тыс. руб.`, `500–700 ₽`, `₽700`."""
    return [v for _, values in _price_matches(normalize(text)) for v in values]


def stray_currency(text: str) -> bool:
    """A currency word with no number attached (`семьсот рублей`): a price that cannot be checked."""
    text = normalize(text)
    covered = [m.span() for m, _ in _price_matches(text)]
    return any(not any(a <= c.start() < b for a, b in covered) for c in _CURRENCY_WORD.finditer(text))


_FREE = re.compile(
    r"\b(?:бесплатн\w*|даром|без оплаты|за так|free(?: of charge)?|for free|gratis)(?:\s+(\w+))?", re.IGNORECASE
)


def _free_claims(text: str) -> set[str]:
    """`бесплатная парковка` → {"бесплатн парковка"}: a "free" word with the word after it (a price of 0)."""
    return {f"{m.group(0).split()[0][:7].casefold()} {(m.group(1) or '').casefold()[:5]}" for m in _FREE.finditer(text)}


def free_claims(text: str, kb: KnowledgeBase) -> set[str]:
    """Something said to be free that the KB does not say is free (its "бесплатная парковка" is fine)."""
    known = {c for t in kb_texts(kb) for c in _free_claims(normalize(t))}
    return _free_claims(normalize(text)) - known


def kb_texts(kb: KnowledgeBase) -> list[str]:
    """Every sentence of the KB an answer may quote: FAQ, holidays, policies, descriptions, overrides."""
    texts = [f.a for f in kb.faq] + [h.message for h in kb.holidays] + [s.description for s in kb.services]
    texts += [kb.policies.what_to_bring, kb.policies.late_arrival, *kb.messages.values()]
    return texts


def kb_prices(kb: KnowledgeBase) -> set[Decimal]:
    """Prices the studio states: services, subscriptions, and amounts written in its own texts (the trial)."""
    stated = {Decimal(p) for p in kb.prices()}
    return stated | {v for text in kb_texts(kb) for v in find_prices(text)}


# -- emoji ---------------------------------------------------------------------------------------------------

_BASE = (
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u231a\u231b\u23e9-\u23f3"
    "\u23f8-\u23fa\u3030\u303d\u3297\u3299]"
)
_MOD = "[\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]"
_UNIT = rf"(?:{_BASE}{_MOD}*|[^\s\d#*]\ufe0f{_MOD}*)"
_EMOJI = re.compile(rf"[\U0001f1e6-\U0001f1ff]{{2}}|[0-9#*]\ufe0f?\u20e3|{_UNIT}(?:\u200d{_UNIT})*")


def count_emoji(text: str) -> int:
    """Emoji as a reader sees them: a ZWJ family, a flag, a keycap or a skin-toned hand is one."""
    return len(_EMOJI.findall(text))


# -- teacher comparisons -------------------------------------------------------------------------------------

_PEOPLE = r"педагог|преподавател|тренер|учител|хореограф|наставни|teacher|instructor|coach|trainer"
_QUESTION = re.compile(
    r"\bкто\b[^.?!\n]{0,40}?\b(?:лучше|хуже|сильнее|слабее|круче|опытнее|профессиональнее|талантливее|"
    r"лучш\w+|сильн\w+|крут\w+|опытн\w+)"
    r"|\b(?:who|which (?:one|" + _PEOPLE + r")\w*)(?:'s| is| are)?\b[^.?!\n]{0,30}?\b"
    r"(?:better|best|stronger|strongest|worse|worst|more (?:experienced|professional|skilled|talented))"
    r"|\b(?:сравни\w*|сравнени\w*|compare|comparison)\b[^.?!\n]{0,40}?(?:" + _PEOPLE + r")",
    re.IGNORECASE,
)
_COMPARATIVE = re.compile(
    r"\b(?:сильнее|слабее|круче|опытнее|профессиональнее|талантливее|хуже|"
    r"лучше\s*,?\s*(?:чем|всех|других|остальных)|лучш(?:ий|ая|ее|ие|его|ей|ую|их)|сильнейш\w*|"
    r"сам(?:ый|ая|ое|ые|ого|ой)\s+(?:лучш|сильн|опытн|крут|талантлив|профессиональн|классн)\w*|"
    r"номер один|better than|worse than|stronger than|(?:more|most|less|least) (?:experienced|skilled|talented|"
    r"professional|qualified)|(?:the )?best(?! to\b)|strongest|top|number one|superior)\b",
    re.IGNORECASE,
)


def _name_form(name: str) -> str:
    """A first name or alias with its case endings: Настя → наст(я|и|е|ю|ей…), Игорь → игор(ь|я|ем…)."""
    n = name.lower()
    stem = n[:-1] if n[-1] in "аяеиоуыьйюёaeiouy" else n
    return re.escape(stem) + r"(?:[аяеиоуыюёьйaeiouy]|[оеё][йюм]|ем|ом|'s)?"


def _teacher_pattern(kb: KnowledgeBase) -> re.Pattern[str]:
    names = {n for t in kb.teachers for n in [*t.name.split(), *t.aliases] if len(n.strip()) >= 3}
    forms = sorted({_name_form(n.strip()) for n in names}, key=len, reverse=True)
    alternatives = "|".join([*forms, rf"(?:{_PEOPLE})\w*"])
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)


def teacher_comparison(text: str, kb: KnowledgeBase) -> bool:
    """Asking for or making a comparison of teachers: `кто лучше`, `Настя опытнее Оли`, `who is better`."""
    text = normalize(text)
    if _QUESTION.search(text):
        return True
    teachers = _teacher_pattern(kb)
    sentences = re.split(r"[.!?;\n]+", text)
    return any(teachers.search(s) and _COMPARATIVE.search(s) for s in sentences)


# -- AI talk and prompt leaks --------------------------------------------------------------------------------

_AI = re.compile(
    r"\bкак (?:ии|ai|искусственн\w* интеллект\w*|(?:больш\w+ )?языков\w+ модел\w*|нейросет\w*|чат-?бот\w*)\b"
    r"|\bя\s*(?:[-—–]\s*)?(?:всего лишь |просто |же |являюсь )?(?:ии|искусственн\w* интеллект\w*|"
    r"(?:больш\w+ )?языков\w+ модел\w*|нейросет\w*|чат-?бот\w*|виртуальн\w+ (?:ассистент|помощник)\w*)\b"
    r"|\bя не (?:живой )?человек\b"
    r"|\bas an? (?:ai|artificial intelligence|(?:large )?language model|llm|chatbot|virtual assistant)\b"
    r"|\bi(?:'m| am) (?:just |only |merely )?(?:an? )?(?:ai|artificial intelligence|(?:large )?language model|llm|"
    r"chatbot|virtual assistant)\b"
    r"|\bi(?:'m| am) not (?:a )?(?:human|real person)\b|\bchatgpt\b|\bopenai\b",
    re.IGNORECASE,
)
_LEAK_PHRASES = re.compile(
    r"system prompt|системн\w+ (?:промпт|инструкци|сообщени)\w*|\bmy instructions\b|\bмои инструкции\b",
    re.IGNORECASE,
)
SHINGLE = 6  # this many consecutive words of the system prompt in a reply = the prompt is being repeated


def discloses_ai(text: str) -> bool:
    return bool(_AI.search(normalize(text)))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", normalize(text).casefold())


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def leaks_prompt(text: str, system_prompts: Iterable[str] = (), markers: Iterable[str] = LEAK_MARKERS) -> bool:
    """A marker of ours, talk of a system prompt, or six words in a row from one of `system_prompts`."""
    folded = normalize(text).casefold()
    if any(m.casefold() in folded for m in markers) or _LEAK_PHRASES.search(folded):
        return True
    reply = _shingles(_words(text))
    return any(reply & _shingles(_words(prompt)) for prompt in system_prompts)


# -- schedule and booking content ----------------------------------------------------------------------------

_CLOCK = r"(?<![\d:.])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])"
_TIME = re.compile(
    rf"{_CLOCK}|\b\d{{1,2}}\s?(?:am|pm)\b|\bв \d{{1,2}} (?:утра|вечера|дня|ночи)\b",
    re.IGNORECASE,
)
_TIME_RANGE = re.compile(rf"{_CLOCK}\s*(?:до|-|–|—|to)\s*{_CLOCK}", re.IGNORECASE)
_DATE = re.compile(
    r"(?<![\d.])(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])(?:\.\d{2,4})?(?![\d.:])"
    r"|\b(?:0?[1-9]|[12]\d|3[01]) (?:январ|феврал|март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|ноябр|декабр)\w*"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w* \d{1,2}\b",
    re.IGNORECASE,
)
_BOOKING = re.compile(
    r"\b(?:вас|тебя) записал\w*|\bзаписал[аи]?\b[^.?!\n]{0,20}\b(?:вас|тебя)\b|\bзаписал[аи]? на\b"
    r"|\bвы записаны\b|\bзапись (?:подтвержден|оформлен|создан)\w*"
    r"|\bзабронировал\w*|\bместо за вами\b|\b(?:есть|осталось|остался|остались)\b[^.?!\n]{0,15}\bмест\w*"
    r"|\bсвободн\w+ мест\w*|\bмест (?:нет|не осталось)\b|\bзанятие (?:отменено|перенесено)\b"
    r"|\byou(?:'re| are) (?:all )?booked\b|\bbooked you\b|\bbooking (?:is )?confirmed\b"
    r"|\b(?:spots?|places?|seats?) (?:left|available|free)\b|\bfully booked\b",
    re.IGNORECASE,
)


def _found(pattern: re.Pattern[str], text: str) -> set[str]:
    return {re.sub(r"\s+", " ", m.group(0).casefold()) for m in pattern.finditer(text)}


def _times(text: str) -> set[str]:
    """Clock times as `HH:MM`, a range (`с 10:00 до 22:00`) as one `HH:MM-HH:MM` item."""
    text = normalize(text)
    found = {f"{int(a):02d}:{b}-{int(c):02d}:{d}" for a, b, c, d in _TIME_RANGE.findall(text)}
    rest = _TIME_RANGE.sub(" ", text)
    for m in _TIME.finditer(rest):
        found.add(f"{int(m.group(1)):02d}:{m.group(2)}" if m.group(1) else re.sub(r"\s+", " ", m.group(0).casefold()))
    return found


def schedule_mentions(text: str, kb: KnowledgeBase) -> set[str]:
    """Times and dates in `text` that no KB text states the same way (opening hours, holidays).

    A range is compared whole: `с 10:00 до 19:00` (the KB's opening hours) passes, `занятие в 19:00` does not.
    """
    corpus = " \n ".join(kb_texts(kb))
    known = _times(corpus) | _found(_DATE, normalize(corpus))
    return (_times(text) | _found(_DATE, normalize(text))) - known


def states_booking(text: str) -> bool:
    """Says something only a tool can know: a booking made, free places, a class cancelled."""
    return bool(_BOOKING.search(normalize(text)))
