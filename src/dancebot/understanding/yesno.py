"""Explicit yes / no for the booking confirmation (PRODUCT.md §5.1 `confirmation`).

A booking is only sent to the CRM after an explicit yes, so "yes" is narrow on purpose: a yes word
followed by nothing but politeness ("да, всё верно, записывайте 👍"). Anything with extra content is a
correction, never a yes: "хочу в пятницу", "да, но в 19" → `None` with `has_correction=True`, and the
engine re-reads the slots. "No" is broad: "нет, на 19" is a no that also carries a new time, which
the engine takes from the temporal parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from dancebot.understanding.text import tokenize

__all__ = ["YesNo", "YesNoResult", "classify_yes_no", "read_yes_no"]

YesNo = Literal["yes", "no"]

_YES_WORDS_RAW = (
    "да", "ага", "угу", "ок", "окей", "оки", "ok", "okay", "yes", "yep", "yup", "yeah", "sure", "right",
    "верно", "правильно", "подтверждаю", "подтверждаем", "подтвердить", "подтверждено",
    "конечно", "давайте", "давай", "согласна", "согласен", "точно", "отлично", "супер",
    "хорошо", "good", "fine", "correct", "confirm", "confirmed", "записывайте", "записывай",
    "бронируйте", "го",
)  # fmt: skip
# Words that may follow a yes without turning it into a correction.
_YES_FILLERS_RAW = (
    "все", "так", "ну", "вот", "именно", "спасибо", "пожалуйста", "please", "thanks",
    "thank", "you", "it", "is", "that", "s", "all", "right", "меня", "нас", "это", "оно",
    "абсолютно", "совершенно", "очень", "конечно", "хорошо", "жду", "ждем", "буду", "придем",
    "приду", "спс", "да", "ок", "окей", "верно", "правильно", "подтверждаю", "записывайте",
    "записывай", "давайте", "ага", "отлично", "супер", "и", "yes", "ok", "okay", "correct",
    "sure", "great", "perfect", "go", "ahead", "book", "пойдет", "подходит", "устраивает",
)  # fmt: skip
_NO_WORDS_RAW = ("нет", "неа", "no", "nope", "nah", "неверно", "неправильно", "отказываюсь", "wrong")
# After "не": words that make a refusal ("не надо", "не то") rather than doubt ("не знаю").
_NOT_UNSURE_RAW = ("знаю", "уверен", "уверена", "понял", "поняла", "понятно", "помню", "сразу")
_REPEATS_RE = re.compile(r"(.)\1+")


def _squeeze(token: str) -> str:
    """ "дааа" → "да", "нееет" → "нет": stretched letters carry emphasis, not meaning."""
    return _REPEATS_RE.sub(r"\1", token)


_YES_WORDS = frozenset(map(_squeeze, _YES_WORDS_RAW))
_YES_FILLERS = frozenset(map(_squeeze, _YES_FILLERS_RAW)) | _YES_WORDS
_NO_WORDS = frozenset(map(_squeeze, _NO_WORDS_RAW))
_NOT_UNSURE = frozenset(map(_squeeze, _NOT_UNSURE_RAW))
_YES_SYMBOLS = frozenset("+👍✅👌✔☑🙏🤝")
_NO_SYMBOLS = frozenset("-👎❌🚫✖")
_IGNORED_MARKS = frozenset("!.,)(\ufe0f\u200d")


@dataclass(frozen=True)
class YesNoResult:
    """`answer` is an explicit yes/no or None; `has_correction` marks a reply that changes something."""

    answer: YesNo | None
    has_correction: bool


def read_yes_no(text: str) -> YesNoResult:
    """Classify a reply to a yes/no question, telling corrections apart from a plain yes."""
    stripped = text.strip()
    tokens = [_squeeze(t) for t in tokenize(stripped)]
    if not tokens:
        return YesNoResult(_symbol_answer(stripped), has_correction=False)
    first = tokens[0]
    if first in _NO_WORDS or (first == "да" and len(tokens) > 1 and tokens[1] == "нет"):
        return YesNoResult("no", has_correction=len(tokens) > 1)
    if first == "не":
        if len(tokens) > 1 and tokens[1] in _NOT_UNSURE:
            return YesNoResult(None, has_correction=False)
        return YesNoResult("no", has_correction=len(tokens) > 2)
    if first in _YES_WORDS or (first in _YES_FILLERS and any(t in _YES_WORDS for t in tokens)):
        if all(t in _YES_FILLERS for t in tokens):
            return YesNoResult("yes", has_correction=False)
        return YesNoResult(None, has_correction=True)
    return YesNoResult(None, has_correction=True)


def classify_yes_no(text: str) -> YesNo | None:
    """ "yes", "no" or None (not an answer, or a yes with a correction in it)."""
    return read_yes_no(text).answer


def _symbol_answer(text: str) -> YesNo | None:
    """ "+", "👍", "✅" are a yes; "-", "👎", "❌" a no; anything else is not an answer."""
    symbols = {ch for ch in text if not ch.isspace() and ch not in _IGNORED_MARKS}
    if symbols and symbols <= _YES_SYMBOLS:
        return "yes"
    if symbols and symbols <= _NO_SYMBOLS:
        return "no"
    return None
