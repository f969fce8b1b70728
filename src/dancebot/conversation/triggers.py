"""When a conversation goes to the administrator (PRODUCT.md §5.5, §11): the triggers the classifier does
not settle on its own. Pure: a message and the session in, an event or a fact out.

- A subscription freeze ("заморозьте абонемент") is `FREEZE`: the bot first collects the reason and the
  dates, then hands over. While it collects (`pending.freeze` in COLLECTING_INTENT), every answer is a
  `FREEZE` too — "с 5 по 12" is the freeze's dates, not a class time — unless the client clearly wants
  something else (book, cancel, a human now).
- A complaint or a refund ("хочу пожаловаться", "верните деньги") is `COMPLAINT`: handed over at once,
  never answered as a price question.
- A client who insists on what the bot could not answer — the same question again, "я же спросила",
  "ну так что?" — is handed over where the KB or the CRM missed (`insists`).

The explicit request ("позовите администратора", KB `escalation.triggers`), the reprompt limit and three
unintelligible messages in a row are the classifier's and the actions' own (`Event.ADMIN`, `browse`).
"""

from __future__ import annotations

import re
from typing import Final, Literal

from dancebot.conversation.session import Session
from dancebot.conversation.states import Event, State
from dancebot.understanding.fuzzy import fuzz
from dancebot.understanding.intents import STRONG, Intent
from dancebot.understanding.rules import Understanding
from dancebot.understanding.temporal import TimeConstraint
from dancebot.understanding.text import analyse

__all__ = ["complaint_kind", "freeze_dates", "freeze_reason", "insists", "is_freeze", "route"]

_QUIET = (State.HANDOFF_TO_ADMIN, State.ADMIN_RESPONDING, State.BOOKING_IN_PROGRESS)
_FREEZE: Final = frozenset({"заморозить", "заморозка", "замораживать", "заморозиться", "freeze", "frozen"})
_PAUSE_VERBS: Final = frozenset({"приостановить", "приостанавливать", "пауза", "pause"})
_PASS: Final = frozenset({"абонемент", "абик", "membership", "subscription"})
_COMPLAINT: Final = frozenset(
    {"жалоба", "пожаловаться", "жаловаться", "претензия", "недовольный", "нахамить", "хамить", "complaint", "complain"}
)
_REFUND: Final = frozenset({"возврат", "refund"})
_RETURN: Final = frozenset({"вернуть", "возвращать", "return"})
_MONEY: Final = frozenset({"деньга", "деньги", "оплата", "money", "payment"})
# Why a freeze: illness, travel, work, family… any of these words is the reason in the client's words.
_REASONS: Final = frozenset(
    "болеть заболеть болезнь больной больничный простыть простуда травма травмировать "
    "больница операция грипп ковид температура лечение лечиться врач беременность беременный роды "
    "командировка уезжать уехать отъезд отпуск поездка путешествие переезд сессия экзамен работа "
    "учёба учеба семья семейный ребёнок ребенок здоровье обстоятельство sick ill illness injury trip "
    "travel vacation holiday business".split()
)
# Strong wishes that leave a freeze request being collected.
_LEAVING: Final = frozenset(
    {Intent.BOOKING, Intent.SERIAL_BOOKING, Intent.CANCEL, Intent.RESCHEDULE, Intent.MY_BOOKINGS, Intent.ADMIN}
)
_DURATION = re.compile(
    r"\bна\s+(?:\d+|одн[уа]|один|две|два|три|четыре|пять|пару|полтора|полмесяца|месяц|неделю)"
    r"(?:\s+(?:недел\w*|месяц\w*|дн\w*|день))?|\bдо\s+\d{1,2}(?:[./]\d{1,2})?(?:\s+\w+)?"
    r"|\bс\s+\d{1,2}(?:[./]\d{1,2})?(?:\s+[а-я]+)?\s+(?:по|до)\s+\d{1,2}(?:[./]\d{1,2})?(?:\s+[а-я]+)?"
    r"|\bfor\s+(?:\d+|a|one|two|three)\s+(?:weeks?|months?|days?)",
    re.I,
)
_INSIST = re.compile(
    r"я\s+же\s+(?:спрашива\w*|спросил\w*|писал\w*|сказал\w*)|ответьте|ответь\b|нужен\s+ответ|жду\s+ответ"
    r"|\bну\s+(?:так\s+)?что\b|\bтак\s+что\s*\?|\bи\s+что\s*\?|вс[её][\s-]+таки|вс[её]\s+же\b|повторя\w*"
    r"|ещ[её]\s+раз\s+спрашива\w*|\bау\b|\bалло\b|i\s+already\s+asked|any\s+answer",
    re.I,
)
# Words that say nothing about why (a freeze's reason must say more than these and the dates).
_FILLER: Final = frozenset(
    "хочу хотела хотел хотим можно мне меня нам нас пожалуйста абонемент абонемента абонементу заморозить "
    "заморозку заморозка заморозьте это как так что или и а но с по до на от до числа число недели неделю "
    "месяц месяца дня дней день января февраля марта апреля мая июня июля августа сентября октября ноября "
    "декабря понедельника вторника среды четверга пятницы субботы воскресенья понедельник вторник среду "
    "четверг пятницу субботу воскресенье сегодня завтра послезавтра следующей следующего следующий this "
    "from to until the for my please freeze membership".split()
)
_SAME_QUESTION = 85  # rapidfuzz token-sort ratio: the same question again, words in another order


def route(u: Understanding, session: Session, event: Event) -> Event:
    """The event a message is, once the administrator's triggers are considered (see the module doc).
    A freeze being collected that the client leaves is forgotten here."""
    state = State(session.state)
    if state in _QUIET:
        return event  # a human is on it (every message is relayed), or a booking is being made
    collecting = session.pending.freeze is not None and state is State.COLLECTING_INTENT
    if collecting:
        if not u.callback and not _strong(u, _LEAVING):
            return Event.FREEZE
        session.pending.freeze = None
    if u.callback:
        return event
    if is_freeze(u.text):
        return Event.FREEZE
    if complaint_kind(u.text) is not None:
        return Event.COMPLAINT
    return event


def is_freeze(text: str) -> bool:
    """ "Заморозьте абонемент", "можно поставить абонемент на паузу?"."""
    forms = analyse(text).forms
    return bool(forms & _FREEZE) or bool(forms & _PAUSE_VERBS and forms & _PASS)


def complaint_kind(text: str) -> Literal["complaint", "refund"] | None:
    forms = analyse(text).forms
    if forms & _REFUND or (forms & _RETURN and forms & _MONEY):
        return "refund"
    if forms & _COMPLAINT:
        return "complaint"
    return None


def freeze_reason(text: str, *, asked: bool) -> str | None:
    """The reason in the client's words: a message naming one (illness, a trip…), or — when the bot has
    just asked for it — any answer that says more than dates."""
    doc = analyse(text)
    if not doc.tokens:
        return None
    if doc.forms & _REASONS:
        return text.strip()[:200]
    rest = _DURATION.sub(" ", doc.norm)
    words = [w for w in re.findall(r"[^\W\d_]{3,}", rest) if w not in _FILLER]
    return text.strip()[:200] if asked and words else None


def freeze_dates(u: Understanding) -> str | None:
    """The dates as the admin reads them: "05.12–12.12", "07.12, на 2 недели", or the client's words."""
    parts: list[str] = []
    when = u.time
    if when is not None and not when.is_empty:
        parts.append(_format(when))
    duration = _DURATION.search(u.text)
    if duration:
        parts.append(duration.group(0).strip())
    return ", ".join(p for p in parts if p) or None


def insists(text: str, history: list[str]) -> bool:
    """The client asks again what the bot could not answer: "я же спросила", "ну так что?", or the same
    question as one of their last three messages. `history` ends with `text` (the engine remembers it)."""
    if _INSIST.search(text):
        return True
    earlier = [h for h in history[:-1][-3:] if len(h) >= 8]
    return len(text) >= 8 and any(fuzz.token_sort_ratio(text.lower(), h.lower()) >= _SAME_QUESTION for h in earlier)


def _strong(u: Understanding, intents: frozenset[Intent]) -> bool:
    return any(s.intent in intents and s.confidence >= STRONG for s in u.intents)


def _format(when: TimeConstraint) -> str:
    if when.date_range is not None:
        start, end = when.date_range
        return f"{start:%d.%m}–{end:%d.%m}"
    if when.dates:
        return ", ".join(f"{d:%d.%m}" for d in sorted(when.dates))
    return ""
