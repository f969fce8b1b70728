"""What the client wants, by lemma keyword sets (PRODUCT.md §5, §6): the free, always-on first pass.

Each intent is a few cue sets over the message's lemmas ("записаться", "сколько"+"стоить", …).
A message may carry several intents ("запишите на хилс и сколько стоит" → booking + price); they
come back ranked with a confidence, and the engine decides what to do first. Near-miss pairs are
told apart here, not in the engine:

- `abort` leaves the booking being made ("передумала", "отмена", "стоп"); `cancel` cancels an
  existing one ("отмените мою запись на пятницу"); `reschedule` moves one ("перенести запись").
- `schedule` asks when ("когда можно прийти?"); `booking` asks to be booked; `serial_booking` asks
  for several dates ("на все среды в декабре", "на 3 занятия по пн и ср").
- `lateness` is "опаздываю на 10 минут"; "что будет, если опоздаю?" is a question (`info`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import StrEnum

from dancebot.understanding.fuzzy import Levenshtein, process
from dancebot.understanding.text import (
    analyse,
    is_cyrillic,
    is_gibberish_word,
    is_known_word,
    lemma,
    tokenize,
)

__all__ = ["Intent", "IntentScore", "detect_intents", "is_gibberish", "rank_intents"]


class Intent(StrEnum):
    BOOKING = "booking"
    SERIAL_BOOKING = "serial_booking"
    CANCEL = "cancel"
    MY_BOOKINGS = "my_bookings"
    RESCHEDULE = "reschedule"
    SCHEDULE = "schedule"
    PRICE = "price"
    INFO = "info"
    LATENESS = "lateness"
    GREETING = "greeting"
    THANKS = "thanks"
    ADMIN = "admin"
    ABORT = "abort"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class IntentScore:
    intent: Intent
    confidence: float


STRONG, GOOD, WEAK = 0.9, 0.75, 0.55

# Order among equally confident intents: bookings first (PRODUCT.md §5 "booking first"); courtesy
# ("привет", "спасибо") never outranks what the client wants done.
_PRIORITY = list(Intent)
_COURTESY = frozenset({Intent.GREETING, Intent.THANKS})

_BOOK_VERBS = frozenset(
    "записаться записать записывать записываться забронировать бронировать бронь book enroll enrol "
    "signup reserve".split()
)
_COME_VERBS = frozenset(
    "прийти приходить пойти сходить попасть попробовать заниматься позаниматься потанцевать ходить "
    "come join try attend".split()
)
_WANT = frozenset("хотеть хотеться можно планировать мочь want like would could can".split())
_WEEKDAYS = frozenset(
    "понедельник вторник среда четверг пятница суббота воскресенье пн вт ср чт пт сб вс monday "
    "tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays thursdays fridays "
    "saturdays sundays mon tue wed thu fri sat sun".split()
)
_COUNTS = frozenset("2 3 4 5 два две три четыре пять two three four five".split())
_PASSES = frozenset("абонемент безлимит subscription membership pass".split())
_SESSION_NOUNS = frozenset("занятие раз урок тренировка class classes lesson lessons session sessions".split())
_BOOKING_NOUNS = frozenset("запись занятие бронь бронирование тренировка урок booking bookings class".split())
_BOOKED = frozenset({"записан", "записана", "записаны", "booked"})
_PRICED = frozenset("сколько стоить почем цена стоимость price cost".split())
_CANCEL_VERBS = frozenset("отменить отменять отмена отписать отписаться cancel".split())
_ABORT_WORDS = frozenset("передумать стоп отбой отставить забудь забудьте неактуально неактуальный stop".split())
_RESCHEDULE_VERBS = frozenset("перенести переносить перезаписать перезаписаться reschedule postpone".split())
_CHANGE_VERBS = frozenset("поменять менять изменить сдвинуть move change".split())
_WHEN = frozenset("когда when".split())
_SCHEDULE_NOUNS = frozenset("расписание schedule timetable".split())
_SCHEDULE_OBJECTS = frozenset(
    "занятие прийти быть идти проходить группа тренировка заниматься можно есть урок class classes start starts".split()
)
_PRICE_NOUNS = frozenset("цена стоимость почем прайс прейскурант тариф price prices cost costs".split())
_LATE = frozenset("опаздывать опоздать задерживаться задержаться late".split())
_IF = frozenset("если if".split())
_GREETINGS = frozenset("привет приветик здравствуйте здравствовать здрасте салют hi hello hey хай".split())
_DAY_PARTS = frozenset("день вечер утро".split())
_THANKS = frozenset("спасибо благодарить спс пасиб благодарность thanks thank thx".split())
_HUMANS = frozenset("администратор админ менеджер оператор human manager operator admin".split())
_CALL_VERBS = frozenset("позвать звать соединить связать нужный нужен переключить живой talk speak call".split())
_INFO_WORDS = frozenset(
    "где адрес находиться добраться доехать проехать дойти парковка душ раздевалка взять одежда форма обувь возраст "
    "преподаватель тренер педагог вести направление стиль опыт новичок сертификат оплата оплатить "
    "карта пробный where address parking wear bring teacher styles".split()
)


@dataclass(frozen=True)
class _Msg:
    tokens: tuple[str, ...]
    lemmas: tuple[str, ...]
    forms: frozenset[str]

    def has(self, words: Collection[str]) -> bool:
        return not self.forms.isdisjoint(words)

    def follows(self, first: Collection[str], second: AbstractSet[str], *, within: int = 1) -> bool:
        """A token from `first` followed, at most `within` words later, by a lemma from `second`."""
        return any(
            token in first and not second.isdisjoint(self.lemmas[i + 1 : i + 1 + within])
            for i, token in enumerate(self.tokens)
        )


def _message(text: str) -> _Msg:
    doc = analyse(text)
    typos = frozenset().union(*(_typo_fix(t) for t in doc.tokens))
    return _Msg(tokens=doc.tokens, lemmas=doc.lemmas, forms=doc.forms | typos)


# Cue words clients often misspell, as typed → lemma ("записатся" → "записаться").
_TYPO_TARGETS = {
    "записаться": "записаться", "запишите": "записать", "записать": "записать",
    "расписание": "расписание", "сколько": "сколько", "стоимость": "стоимость",
    "абонемент": "абонемент", "отменить": "отменить", "отмените": "отменить",
    "перенести": "перенести", "опаздываю": "опаздывать", "опоздаю": "опоздать",
    "здравствуйте": "здравствуйте", "спасибо": "спасибо", "администратор": "администратор",
}  # fmt: skip


# Chat spellings of cue words.
_SLANG = {"скока": "сколько", "скоко": "сколько", "скок": "сколько", "чо": "что", "че": "что", "прив": "привет"}


def _typo_fix(token: str) -> frozenset[str]:
    """The cue a misspelled word was meant to be, if it is one edit away (two for long words)."""
    if token in _SLANG:
        return frozenset({_SLANG[token]})
    if len(token) < 5 or not is_cyrillic(token) or is_known_word(token):
        return frozenset()
    allowed = 1 if len(token) < 9 else 2
    found = process.extractOne(token, _TYPO_TARGETS.keys(), scorer=Levenshtein.distance, score_cutoff=allowed)
    return frozenset({_TYPO_TARGETS[found[0]]}) if found else frozenset()


def detect_intents(text: str, *, escalation_triggers: Iterable[str] = ()) -> list[IntentScore]:
    """Intents found in `text`, most confident first; `[unknown]` when none is."""
    msg = _message(text)
    scores: dict[Intent, float] = {}
    for intent, rule in _RULES:
        confidence = rule(msg)
        if confidence:
            scores[intent] = max(scores.get(intent, 0.0), confidence)
    if _triggered(msg, escalation_triggers):
        scores[Intent.ADMIN] = STRONG
    _resolve_overlaps(scores)
    return rank_intents([IntentScore(intent, confidence) for intent, confidence in scores.items()])


def rank_intents(scores: Iterable[IntentScore]) -> list[IntentScore]:
    """Most relevant first: wishes before courtesy, then by confidence, then bookings first.

    `unknown` is kept only when nothing else is there; an empty input gives `[unknown]`.
    """
    known = [s for s in scores if s.intent != Intent.UNKNOWN]
    if not known:
        return [IntentScore(Intent.UNKNOWN, 0.0)]
    return sorted(known, key=lambda s: (s.intent in _COURTESY, -s.confidence, _PRIORITY.index(s.intent)))


def _booking(msg: _Msg) -> float:
    if msg.follows({"не"}, _BOOK_VERBS, within=2) or not _BOOKED.isdisjoint(msg.tokens):
        return 0.0  # "не буду записываться" is leaving; "куда я записана?" asks about bookings
    if msg.has(_BOOK_VERBS) and not msg.has(_CANCEL_VERBS):
        return STRONG
    if msg.has(_WANT) and msg.has(_COME_VERBS) and not msg.has(_WHEN):
        return GOOD
    if msg.has(_WANT) and msg.follows({"на"}, _SESSION_NOUNS | {"пробный"}, within=2) and not msg.has(_PRICED):
        return GOOD  # "хочу на пробное занятие в пятницу", "можно на тренировку завтра?"
    if "sign" in msg.tokens and "up" in msg.tokens:
        return STRONG
    return 0.0


def _serial(msg: _Msg) -> float:
    if msg.has(_PRICE_NOUNS | _PASSES | {"сколько", "почем", "стоить"}):
        return 0.0  # "абонемент на 8 занятий", "8 занятий скок": a price question, never a series
    weekdays = {t for t in msg.lemmas if t in _WEEKDAYS}
    every = msg.has({"весь", "каждый", "every", "all", "each"}) and bool(weekdays)
    by_days = msg.follows({"по"}, _WEEKDAYS) or (len(weekdays) >= 2 and not msg.has({"или", "or"}))
    counted = any(
        a.isdigit() and 2 <= int(a) <= 20 and b in _SESSION_NOUNS
        for a, b in zip(msg.tokens, msg.lemmas[1:], strict=False)
    ) or msg.follows(_COUNTS, _WEEKDAYS | _SESSION_NOUNS, within=2)  # "три четверга", "два следующих вторника"
    if not (every or by_days or counted):
        return 0.0
    if _booking(msg):
        return STRONG
    return GOOD if ("на" in msg.tokens and (every or counted)) or (counted and by_days) else 0.0


def _cancel(msg: _Msg) -> float:
    if msg.has(_CANCEL_VERBS) and (msg.has(_BOOKING_NOUNS) or msg.has({"мой", "my"})):
        return STRONG
    if msg.follows({"не"}, {"смочь", "мочь", "прийти"}) and not msg.has({"вовремя", "время"}):
        return GOOD
    if msg.has(_CANCEL_VERBS) and msg.has({"записать"}):
        return STRONG  # "отмените, я записана на пятницу"
    return WEAK if msg.has({"отменить", "cancel"}) else 0.0


def _abort(msg: _Msg) -> float:
    if msg.has(_ABORT_WORDS) or msg.follows({"не"}, _BOOK_VERBS, within=2):
        return STRONG
    short = [t for t in msg.tokens if t not in {"уже", "спасибо", "пока", "ладно", "тогда", "все"}]
    if short in (["не", "надо"], ["не", "хочу"], ["не", "нужно"], ["never", "mind"], ["nevermind"]):
        return STRONG
    if msg.has({"отмена", "отменить", "cancel"}) and not msg.has(_BOOKING_NOUNS | {"мой", "my"}):
        return GOOD
    return 0.0


def _my_bookings(msg: _Msg) -> float:
    if msg.has({"мой", "my"}) and msg.has(_BOOKING_NOUNS):
        return STRONG
    if msg.has({"я", "i"}) and not _BOOKED.isdisjoint(msg.tokens):
        return GOOD
    if msg.follows({"у"}, {"я"}) and msg.has(_BOOKING_NOUNS):  # "какие у меня записи?"
        return GOOD
    return 0.0


def _reschedule(msg: _Msg) -> float:
    if msg.has(_RESCHEDULE_VERBS):
        return STRONG
    if msg.has(_CHANGE_VERBS) and msg.has(_BOOKING_NOUNS | {"время", "день", "дата", "time", "day"}):
        return GOOD
    return 0.0


def _schedule(msg: _Msg) -> float:
    if msg.has({"работать", "открыть", "open"}):
        return 0.0  # opening hours are an FAQ, not the class schedule
    if msg.has(_SCHEDULE_NOUNS):
        return STRONG
    if msg.has(_WHEN) and msg.has(_SCHEDULE_OBJECTS):
        return GOOD
    if msg.follows({"во", "в"}, {"сколько"}) or (msg.has({"место"}) and msg.has({"свободный", "есть"})):
        return GOOD
    if (msg.follows({"какие", "каким", "какой"}, {"день"}) or ("what" in msg.tokens and "time" in msg.tokens)) or (
        msg.has({"какой"}) and msg.has(_SESSION_NOUNS) and msg.has(_WEEKDAYS | {"сегодня", "завтра"})
    ):
        return GOOD
    return 0.0


def _price(msg: _Msg) -> float:
    if msg.has(_PRICE_NOUNS) or ("how" in msg.tokens and "much" in msg.tokens):
        return STRONG
    if msg.has({"сколько", "почем"}) and msg.has({"стоить", "рубль", "деньги", "деньга", "платить", "заплатить"}):
        return STRONG
    if msg.follows({"по"}, {"деньга", "деньги", "цена", "стоимость"}):
        return STRONG  # "а по деньгам?"
    if msg.has({"сколько", "почем"}) and msg.has(_SESSION_NOUNS) and any(t.isdigit() for t in msg.tokens):
        return GOOD  # "8 занятий скок": the price of so many classes
    if msg.has({"абонемент", "subscription", "membership"}):
        # "можно заморозить абонемент?" is for the admin, not a price question
        return 0.0 if msg.has({"заморозить", "заморозка", "вернуть", "возврат"}) else GOOD
    return 0.0


def _lateness(msg: _Msg) -> float:
    if not (msg.has(_LATE) or msg.follows({"не"}, {"успевать", "успеть"})):
        return 0.0
    if msg.has(_IF) or ("будет" in msg.tokens and "что" in msg.tokens):
        return 0.0  # "что будет, если опоздаю?" is a policy question
    return STRONG if msg.has(_LATE) else GOOD


def _greeting(msg: _Msg) -> float:
    if msg.has(_GREETINGS - {"хай"}) or ("хай" in msg.tokens and not msg.follows({"хай"}, {"хилс", "heels"})):
        return STRONG
    if msg.follows({"добрый", "доброе", "доброго", "good"}, _DAY_PARTS | {"morning", "evening", "afternoon"}):
        return STRONG
    return 0.0


def _thanks(msg: _Msg) -> float:
    return STRONG if msg.has(_THANKS) else 0.0


def _admin(msg: _Msg) -> float:
    if msg.has(_HUMANS):
        return STRONG
    if msg.has({"человек", "person", "human"}) and msg.has(_CALL_VERBS):
        return STRONG
    return 0.0


def _info(msg: _Msg) -> float:
    if msg.has(_LATE) and msg.has(_IF):
        return GOOD  # "что будет, если опоздаю?"
    if msg.has({"работать", "открыть", "open"}) and msg.has(_WHEN | {"сколько", "hours"}):
        return GOOD  # opening hours
    if msg.has({"кто", "who"}) and msg.has({"вести", "преподавать", "тренер", "преподаватель", "teach", "teaches"}):
        return GOOD  # "кто ведёт контемп?"
    return WEAK if msg.has(_INFO_WORDS) else 0.0


_RULES = (
    (Intent.BOOKING, _booking),
    (Intent.SERIAL_BOOKING, _serial),
    (Intent.CANCEL, _cancel),
    (Intent.ABORT, _abort),
    (Intent.MY_BOOKINGS, _my_bookings),
    (Intent.RESCHEDULE, _reschedule),
    (Intent.SCHEDULE, _schedule),
    (Intent.PRICE, _price),
    (Intent.LATENESS, _lateness),
    (Intent.GREETING, _greeting),
    (Intent.THANKS, _thanks),
    (Intent.ADMIN, _admin),
    (Intent.INFO, _info),
)


def _triggered(msg: _Msg, triggers: Iterable[str]) -> bool:
    """A KB escalation trigger ("вернуть деньги") whose every lemma is in the message."""
    for trigger in triggers:
        words = [lemma(t) for t in tokenize(trigger)]
        if words and all(w in msg.forms for w in words):
            return True
    return False


def _resolve_overlaps(scores: dict[Intent, float]) -> None:
    """Drop the weaker reading where two intents describe the same wish."""
    if Intent.SERIAL_BOOKING in scores:
        scores.pop(Intent.BOOKING, None)
    if Intent.RESCHEDULE in scores:
        for intent in (Intent.CANCEL, Intent.BOOKING, Intent.ABORT):
            scores.pop(intent, None)
    if scores.get(Intent.CANCEL, 0.0) >= GOOD:
        scores.pop(Intent.ABORT, None)
        scores.pop(Intent.BOOKING, None)
    if scores.get(Intent.ABORT, 0.0) >= STRONG:
        scores.pop(Intent.CANCEL, None)
        scores.pop(Intent.BOOKING, None)
    if any(i in scores for i in (Intent.CANCEL, Intent.RESCHEDULE)):
        scores.pop(Intent.MY_BOOKINGS, None)
    if Intent.MY_BOOKINGS in scores:
        scores.pop(Intent.SCHEDULE, None)  # "когда у меня занятие?" is about the client's bookings
    if Intent.LATENESS in scores:
        scores.pop(Intent.CANCEL, None)


def is_gibberish(text: str, *, vocabulary: Collection[str] = ()) -> bool:
    """Keyboard mashing or words no dictionary knows ("ывапролд", "ааааа", "лоыврало").

    `vocabulary` (KB aliases, names) keeps studio words the dictionary lacks ("хилс", typo "хилз")
    from counting. Emoji-only or digit-bearing messages are not gibberish.
    """
    tokens = tokenize(text)
    if not tokens or any(t.isdigit() for t in tokens):
        return False
    for token in tokens:
        if is_gibberish_word(token):
            continue
        if not is_cyrillic(token) or is_known_word(token) or len(token) < 4:
            return False
        if process.extractOne(token, vocabulary, scorer=Levenshtein.distance, score_cutoff=1):
            return False
    return True
