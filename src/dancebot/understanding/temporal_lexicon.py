"""Word tables of the temporal parser (PRODUCT.md §6.3) and the typo-tolerant text preparation.

A hand-written table of inflected forms is faster and more predictable than a morphological
analyser for the few dozen words that name days, months and parts of the day. Typos of one letter
in longer words ("пятнецу", "декобря") are mapped back to the nearest table form before the
patterns run, so the patterns themselves only ever see correct spellings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time
from functools import lru_cache

from dancebot.understanding.fuzzy import Levenshtein, process
from dancebot.understanding.text import normalize

__all__ = [
    "AFTERNOON",
    "AFTER_WORK",
    "EVENING",
    "HALF_HOURS",
    "HOUR_GENITIVE",
    "HOUR_WORDS",
    "MONTHS",
    "MONTHS_EN",
    "MONTH_EN",
    "MONTH_GENITIVE_RU",
    "MORNING",
    "NUMBER_WORDS",
    "UNIT_PATTERN",
    "WEEKDAYS",
    "WEEKDAY_ABBR_EN",
    "WEEKDAY_ABBR_RU",
    "WEEKDAY_PLURAL_EN",
    "WEEKDAY_PLURAL_RU",
    "WHOLE_MONTHS",
    "alternation",
    "prepare",
]

# Parts of the day as inclusive ranges; "after work" is PRODUCT.md §6.3's ">= 18:00" (to the day's end).
MORNING = (time(6), time(12))
AFTERNOON = (time(12), time(17))
EVENING = (time(17), time(23))
AFTER_WORK = (time(18), time(23, 59))


def _forms(weekday: int, single: str, plural: str) -> dict[str, tuple[int, bool]]:
    return {f: (weekday, False) for f in single.split()} | {f: (weekday, True) for f in plural.split()}


# form -> (weekday 0=Mon, plural); a plural form ("по средам", "mondays") means every such day.
WEEKDAYS: dict[str, tuple[int, bool]] = {
    **_forms(0, "понедельник понедельника понедельнику понедельником понедельнике пн пон monday mon",
             "понедельники понедельникам понедельниками понедельниках mondays"),
    **_forms(1, "вторник вторника вторнику вторником вторнике вт втор tuesday tue tues",
             "вторники вторникам вторниками вторниках tuesdays"),
    **_forms(2, "среда среду среды среде средой ср wednesday wed",
             "средам средами средах wednesdays"),
    **_forms(3, "четверг четверга четвергу четвергом четверге чт чтв thursday thu thur thurs",
             "четверги четвергам четвергами четвергах thursdays"),
    **_forms(4, "пятница пятницу пятницы пятнице пятницей пт пят friday fri",
             "пятницам пятницами пятницах fridays"),
    **_forms(5, "суббота субботу субботы субботе субботой сб суб saturday sat",
             "субботам субботами субботах saturdays"),
    **_forms(6, "воскресенье воскресенья воскресенью воскресеньем воскресении вс вск воскр sunday sun",
             "воскресеньям воскресеньями воскресеньях sundays"),
}  # fmt: skip

# Per month: nominative, genitive ("12 декабря"), prepositional ("в декабре"), abbreviations, English.
_MONTH_FORMS = (
    ("январь", "января", "январе", "янв", "january", "jan"),
    ("февраль", "февраля", "феврале", "фев февр", "february", "feb"),
    ("март", "марта", "марте", "мар", "march", "mar"),
    ("апрель", "апреля", "апреле", "апр", "april", "apr"),
    ("май", "мая", "мае", "", "may", ""),
    ("июнь", "июня", "июне", "июн", "june", "jun"),
    ("июль", "июля", "июле", "июл", "july", "jul"),
    ("август", "августа", "августе", "авг", "august", "aug"),
    ("сентябрь", "сентября", "сентябре", "сен сент", "september", "sep sept"),
    ("октябрь", "октября", "октябре", "окт", "october", "oct"),
    ("ноябрь", "ноября", "ноябре", "ноя нояб", "november", "nov"),
    ("декабрь", "декабря", "декабре", "дек", "december", "dec"),
)
# Every form -> month number; whole-month forms ("в декабре", "на май", "in May") -> month number.
MONTHS: dict[str, int] = {f: n for n, forms in enumerate(_MONTH_FORMS, 1) for f in " ".join(forms).split()}
# English forms only, for "Dec 12" (a Russian month never comes before its day).
MONTHS_EN: dict[str, int] = {f: n for n, forms in enumerate(_MONTH_FORMS, 1) for f in " ".join(forms[4:]).split()}
WHOLE_MONTHS: dict[str, int] = {
    f: n for n, (nom, _, prep, _, en, _) in enumerate(_MONTH_FORMS, 1) for f in (nom, prep, en)
}

# Output forms (format_constraint, describe_datetime).
WEEKDAY_ABBR_RU = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
WEEKDAY_ABBR_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAY_PLURAL_RU = ("понедельникам", "вторникам", "средам", "четвергам", "пятницам", "субботам", "воскресеньям")
WEEKDAY_PLURAL_EN = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
MONTH_GENITIVE_RU = tuple(forms[1] for forms in _MONTH_FORMS)
MONTH_EN = tuple(forms[4].capitalize() for forms in _MONTH_FORMS)

# Counts in "через две недели", "in a couple of days".
NUMBER_WORDS: dict[str, int] = {
    "один": 1, "одну": 1, "два": 2, "две": 2, "пару": 2, "пара": 2, "три": 3, "четыре": 4, "пять": 5,
    "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10,
    "a": 1, "one": 1, "two": 2, "couple": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
# Hours said in words; only read as a time next to "утра/вечера/часов/pm" ("в семь вечера").
HOUR_WORDS: dict[str, int] = {
    "час": 1, "два": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8,
    "девять": 9, "десять": 10, "одиннадцать": 11, "двенадцать": 12,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
# "к семи", "часов в восемь" after "к": the hour in the genitive/dative ("к семи" = by seven, i.e. at 7/19).
HOUR_GENITIVE: dict[str, int] = {
    "часу": 1, "двум": 2, "трём": 3, "трем": 3, "четырём": 4, "четырем": 4, "пяти": 5, "шести": 6,
    "семи": 7, "восьми": 8, "девяти": 9, "десяти": 10, "одиннадцати": 11, "двенадцати": 12,
}  # fmt: skip
# "полвосьмого" = half of the eighth hour = 7:30; the value is the hour before the half.
HALF_HOURS: dict[str, int] = {
    word: n
    for n, word in enumerate(
        "первого второго третьего четвертого пятого шестого седьмого восьмого девятого "
        "десятого одиннадцатого двенадцатого".split()
    )
}
# A word after a number that makes it a count, not an hour or a day ("на 3 занятия", "5 человек").
UNIT_PATTERN = (
    r"(?:занят|урок|трениров|человек|чел\b|раза?\b|руб|р\b|₽|тыс|мин|сек|лет\b|год|дн(?:я|ей)\b|"
    r"недел|месяц|мес\b|абон|штук|шт\b|%|ребен|дет(?:ей|и)\b|взросл|групп|мест|класс|зал|персон|"
    r"подруг|друз|км|кг|см|people|person|class|lesson|times?\b|min|hour|days?\b|weeks?\b|months?\b|"
    r"years?\b|rub|kids?\b|child)"
)

# Real words one letter away from a table form; never "corrected" ("среди" is not "среды").
_FUZZY_STOP = frozenset(
    "среди средь завтрак завтрака завтраку завтраком завтраки марка марке марку парта вечеря четверо match".split()
)
_EXACT_WORDS = frozenset(
    [
        *WEEKDAYS,
        *MONTHS,
        *(
            "сегодня завтра послезавтра утро утром утрам вечер вечером вечерам вечерком вечера днем выходных "
            "выходные выходным будням будни неделе неделю недели недель числа today tomorrow tonight "
            "morning evening afternoon weekend weekends weekdays"
        ).split(),
    ]
)
_FUZZY_TARGETS = tuple(w for w in _EXACT_WORDS if len(w) >= 5)
_WORD_RE = re.compile(r"[a-zа-я]{5,}")


def alternation(words: Iterable[str]) -> str:
    """A regex group that matches any of `words` (longest first, so "пятницу" beats "пт")."""
    ordered = sorted(set(words), key=len, reverse=True)
    return "(?:" + "|".join(re.escape(w) for w in ordered) + ")"


@lru_cache(maxsize=4096)
def _correct(word: str) -> str:
    if word in _EXACT_WORDS or word in _FUZZY_STOP:
        return word
    best = process.extractOne(word, _FUZZY_TARGETS, scorer=Levenshtein.distance, score_cutoff=1)
    return best[0] if best else word


def prepare(text: str) -> str:
    """Normalised text with one-letter typos in day, month and part-of-day words corrected."""
    return _WORD_RE.sub(lambda m: _correct(m.group(0)), normalize(text))
