"""Explicit yes / no for the booking confirmation (PRODUCT.md §5.1 `confirmation`) and the bot's other
yes/no questions ("Отменить запись …?", "Записать на все?", "Передать вопрос администратору?").

A booking is only sent to the CRM after an explicit yes, so "yes" is narrow on purpose: a yes word
followed by nothing but politeness ("да, всё верно, записывайте 👍"). Anything with extra content is a
correction, never a yes: "хочу в пятницу", "да, но в 19" → `None` with `has_correction=True`, and the
engine re-reads the slots. "No" is broad: "нет, на 19" is a no that also carries a new time, which
the engine takes from the temporal parser.

`confirming` names the action the question asks about. A verb that restates it is a yes in any form —
"да, отмените", "отменяйте", "отмена", "давайте отменим", "yes, cancel it" to "Отменить запись?";
"да, записывайте", "верно, запишите", "book it" to "Всё верно?"; "да, передайте" to "Передать вопрос
администратору?" — and its negation is a no ("нет, не отменяйте", "не надо отменять", "передумала
отменять", "don't cancel"), as is keeping what the question would end ("оставьте", "пусть остаётся",
"keep it"). Without `confirming` the same words are only what they are elsewhere (leaving a flow, a
cancel request).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from dancebot.understanding.text import tokenize

__all__ = ["Confirming", "YesNo", "YesNoResult", "classify_yes_no", "opens_with_yes", "read_yes_no"]

YesNo = Literal["yes", "no"]
Confirming = Literal["book", "cancel", "admin"]  # the action a yes/no question asks about

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

# Verbs (any form, common typos, by stem) that restate the action being confirmed. A reschedule is confirmed
# in the cancel flow too ("Переносим запись?", and its late-cancel warning "Всё равно отменить?").
_RESTATING: dict[Confirming, re.Pattern[str]] = {
    "book": re.compile(
        r"^(?:запиш|записыв|записат|заппиш|зопиш|заброни|брони|оформ|подтверд|подтвержд|book|sign|enrol|reserve)"
    ),
    "cancel": re.compile(r"^(?:отм[еи]н|атм[еи]н|отпиш|отпис|cancel|перен[ео]с|reschedul|move|postpone)"),
    # "Передать вопрос администратору?", "Позвать администратора?"
    "admin": re.compile(
        r"^(?:переда|передай|позов|позва|позови|соедин|свяж|связ|узна|уточн|спрос|pass|ask|call|connect)"
    ),
}
# Keeping what the question would end: a no ("оставьте", "пусть остаётся", "keep it").
_KEEPING: dict[Confirming, re.Pattern[str]] = {"cancel": re.compile(r"^(?:остав|остан|остает|keep|leave)")}
# Words that may stand between "не" and the verb it negates: "не надо отменять", "пока не отменяйте".
_MODALS_RAW = (
    "надо", "нужно", "стоит", "будем", "буду", "хочу", "хотим", "хочется", "пока", "сейчас", "уж", "пожалуйста",
    "нада", "нужна", "need", "to", "please",
)  # fmt: skip
# What may go with a restating verb without making the reply say more than yes: its object and politeness.
_RESTATING_FILLERS_RAW = (
    "запись", "записи", "занятие", "занятия", "тренировку", "урок", "бронь", "ее", "его", "их", "эту", "этот",
    "это", "эти", "мою", "мое", "мой", "мои", "меня", "нас", "на", "все", "тогда", "уж", "уже", "можно", "ладно",
    "плиз", "пжл", "пж", "пжлст", "пусть", "смело", "сразу", "просто", "сорри", "извините", "сожалению", "к",
    "увы", "так", "ну", "me", "it", "the", "booking", "class", "them", "in", "my", "one", "this", "pls", "then",
    "and", "just", "do", "go", "ahead", "sorry", "unfortunately", "ok", "okay", "up", "please", "большое",
    "огромное", "заранее", "администратору", "администратора", "админу", "админа", "вопрос", "ему", "им", "him",
    "her", "admin", "administrator", "on", "question",
)  # fmt: skip
# A cancel is of the one booking the question names, so a reason said with it ("заболела, отмените") still
# confirms; these words point elsewhere or set a condition, and leave the reply to the plain reading.
_ELSEWHERE_RAW = (
    "но", "а", "только", "если", "или", "либо", "кроме", "другую", "другой", "другое", "другие", "другая", "ту",
    "тот", "то", "той", "вторую", "первую", "следующую", "прошлую", "последнюю", "обе", "оба", "лучше", "вместо",
    "but", "only", "if", "or", "other", "another", "instead", "except", "both",
)  # fmt: skip


def _squeeze(token: str) -> str:
    """ "дааа" → "да", "нееет" → "нет": stretched letters carry emphasis, not meaning."""
    return _REPEATS_RE.sub(r"\1", token)


_YES_WORDS = frozenset(map(_squeeze, _YES_WORDS_RAW))
_YES_FILLERS = frozenset(map(_squeeze, _YES_FILLERS_RAW)) | _YES_WORDS
_NO_WORDS = frozenset(map(_squeeze, _NO_WORDS_RAW))
_NOT_UNSURE = frozenset(map(_squeeze, _NOT_UNSURE_RAW))
_MODALS = frozenset(map(_squeeze, _MODALS_RAW))
_NEGATIONS = frozenset({"не", "not", "dont", "never"})
_RESTATING_FILLERS = frozenset(map(_squeeze, _RESTATING_FILLERS_RAW)) | _YES_FILLERS
_ELSEWHERE = frozenset(map(_squeeze, _ELSEWHERE_RAW))
# Words that name a class by its day, date or time ("во вторник 8.12 в 19", "завтрашнюю", "on tuesday").
_CLASS_WORDS_RE = re.compile(
    r"^(?:понедельн|вторн|сред|четверг|пятниц|суббот|воскресен|пн|вт|ср|чт|пт|сб|вс|сегодн|завтр|послезавтр"
    r"|утр|вечер|днем|дневн|январ|феврал|март|апрел|мая|май|июн|июл|август|сентябр|октябр|ноябр|декабр"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|morning|evening|am|pm)"
)
_CLASS_LINKS = frozenset({"в", "во", "на", "с", "со", "к", "ко", "до", "часов", "час", "at", "on", "for", "the"})
_LEAVING = frozenset({"стоп", "отбой", "забудь", "забудьте", "stop", "nevermind", "never"})
_CANT = frozenset({"смогу", "могу", "приду", "получится", "успею", "успеваю", "пойду", "сможем", "придем", "прийду"})
_POLITE_IFS = (["не", "сложно"], ["не", "трудно"], ["вам", "не"])
_YES_SYMBOLS = frozenset("+👍✅👌✔☑🙏🤝")
_NO_SYMBOLS = frozenset("-👎❌🚫✖")
_IGNORED_MARKS = frozenset("!.,)(\ufe0f\u200d")


@dataclass(frozen=True)
class YesNoResult:
    """`answer` is an explicit yes/no or None; `has_correction` marks a reply that changes something."""

    answer: YesNo | None
    has_correction: bool
    # The reply restates the action asked about, not negated ("отмените другую"), even when it is not a
    # plain yes: it is about that action, never a wish to leave the flow.
    restated: bool = False


def read_yes_no(text: str, confirming: Confirming | None = None, *, naming: Collection[str] = ()) -> YesNoResult:
    """Classify a reply to a yes/no question, telling corrections apart from a plain yes; `confirming` is
    the action the question asks about, whose restating verb is a yes (see the module doc). With `naming`
    (the studio's words for styles and branches) the words that name a class — its day, date, time, style:
    "да, отмените запись на вторник" — are read as restating the booking asked about, not as a correction;
    the caller checks they name that booking and not another."""
    stripped = text.strip()
    raw = tokenize(stripped)
    if naming:
        raw = [t for t in raw if not _names_a_class(t, naming)]
    tokens = [_squeeze(t) for t in raw]
    if not tokens:
        return YesNoResult(_symbol_answer(stripped), has_correction=False)
    if confirming is not None:
        restated = _restated(stripped, raw, tokens, confirming)
        if restated is not None:
            return restated
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


def opens_with_yes(text: str) -> bool:
    """ "да, …", "ага …", "yes …": the reply starts with a yes word, whatever follows."""
    tokens = tokenize(text.strip())
    return bool(tokens) and _squeeze(tokens[0]) in _YES_WORDS


def classify_yes_no(text: str) -> YesNo | None:
    """ "yes", "no" or None (not an answer, or a yes with a correction in it)."""
    return read_yes_no(text).answer


def _restated(text: str, raw: list[str], tokens: list[str], action: Confirming) -> YesNoResult | None:
    """A reply that restates the action asked about: a yes, a negated one or keeping: a no. None when the
    reply has no such verb, or says more than that (the plain reading decides then)."""
    verb = _RESTATING[action]
    keep = _KEEPING.get(action)
    verbs = [i for i, t in enumerate(raw) if verb.match(t)]
    keeps = [i for i, t in enumerate(raw) if keep is not None and keep.match(t)]
    if not verbs and not keeps:
        said = [t for i, t in enumerate(tokens) if not (action == "cancel" and _cannot_come(tokens, i))]
        if tokens[0] in _YES_WORDS and all(t in _RESTATING_FILLERS for t in said) and "?" not in text:
            return YesNoResult("yes", has_correction=False)  # "да, на все", "да, эту", "да, не смогу"
        return None
    if "?" in text:  # "а отменить можно?" asks, it does not answer
        return YesNoResult(None, has_correction=True, restated=bool(verbs))
    if tokens[0] in _NO_WORDS or tokens[:2] == ["да", "нет"]:
        return None  # "нет, не отменяйте", "да нет, оставьте": the plain reading's no
    if any(_negated(tokens, i) for i in verbs) or any(not _negated(tokens, i) for i in keeps):
        return YesNoResult("no", has_correction=False)
    verbs += keeps  # "не оставляйте": cancel it
    rest = [t for i, t in enumerate(tokens) if i not in verbs and t not in _RESTATING_FILLERS]
    if action == "cancel":  # a reason may go with it: "заболела, отмените", "не смогу прийти, отменяйте"
        rest = [t for i, t in enumerate(tokens) if t in rest and _points_elsewhere(tokens, i)]
    if rest:  # "отмените другую", "записывайте, но в 19": more than a yes
        return YesNoResult(None, has_correction=True, restated=True)
    return YesNoResult("yes", has_correction=False, restated=True)


def _names_a_class(token: str, naming: Collection[str]) -> bool:
    return token in naming or token.isdigit() or bool(_CLASS_WORDS_RE.match(token)) or token in _CLASS_LINKS


def _cannot_come(tokens: list[str], at: int) -> bool:
    """ "не смогу", "не приду", "не получится": why the booking is cancelled, not a no."""
    if tokens[at] == "не":
        return at + 1 < len(tokens) and tokens[at + 1] in _CANT
    return tokens[at] in _CANT and at > 0 and tokens[at - 1] == "не"


def _points_elsewhere(tokens: list[str], at: int) -> bool:
    """A word that points at another booking, sets a condition or leaves ("передумала") — but not a leading
    "а" ("а давайте отменим") nor "если можно" / "если не сложно" (politeness)."""
    word = tokens[at]
    if word.startswith(("передум", "раздум")) or word in _LEAVING:
        return True  # "передумала отменять", "стоп": leaving the cancel, whatever follows
    if word not in _ELSEWHERE or (word == "а" and at == 0):
        return False
    after = tokens[at + 1 : at + 3]
    return not (word == "если" and (after[:1] in (["можно"], ["возможно"], ["несложно"]) or after in _POLITE_IFS))


def _negated(tokens: list[str], at: int) -> bool:
    """ "не отменяйте", "не надо отменять", "передумала отменять", "don't cancel": a negation right before
    the verb, with nothing but modal words between."""
    i = at - 1
    while i >= 0 and tokens[i] in _MODALS:
        i -= 1
    if i >= 1 and tokens[i] == "t" and tokens[i - 1] in ("don", "didn"):
        return True  # "don't" is tokenised as "don", "t"
    return i >= 0 and (tokens[i] in _NEGATIONS or tokens[i].startswith(("передум", "раздум")))  # "передумала отменять"


def _symbol_answer(text: str) -> YesNo | None:
    """ "+", "👍", "✅" are a yes; "-", "👎", "❌" a no; anything else is not an answer."""
    symbols = {ch for ch in text if not ch.isspace() and ch not in _IGNORED_MARKS}
    if symbols and symbols <= _YES_SYMBOLS:
        return "yes"
    if symbols and symbols <= _NO_SYMBOLS:
        return "no"
    return None
