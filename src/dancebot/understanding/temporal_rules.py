"""The pattern table of the temporal parser: each rule turns one phrase into one raw fact.

Rules run in table order over the prepared text, and a phrase a rule takes is blanked out, so later,
looser rules never read it again: "15.12.2026" is taken whole as a date before the clock rule could
see "15.12", and "после 18:00" becomes a range before "18:00" could become an exact time. A rule may
also decline a match (a handler returning False leaves the text as it was), which is how counts stay
counts: "на 3 занятия", "5 человек", "3 дня". Phone numbers are blanked before any rule runs.

Facts (`temporal_facts.py`) are kept raw: ranges unclipped, weekdays unresolved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from dancebot.understanding import temporal_handlers as h
from dancebot.understanding.temporal_facts import MARKER, Facts
from dancebot.understanding.temporal_lexicon import (
    HALF_HOURS,
    HOUR_GENITIVE,
    HOUR_WORDS,
    MONTHS,
    MONTHS_EN,
    NUMBER_WORDS,
    WEEKDAYS,
    WHOLE_MONTHS,
    alternation,
)

__all__ = ["RULES", "Rule", "collect_facts"]

Handler = Callable[[re.Match[str], Facts, str], bool]


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    handle: Handler


# ---- the table -----------------------------------------------------------------------------------

_MON = alternation(MONTHS)
_NOT_AFTER_NUM = r"(?<![\w.:/])"
_NOT_BEFORE_NUM = r"(?!\d|[.:/,]\d)"
_HM = r"(?P<{h}>\d{{1,2}})(?:[:.](?P<{m}>\d{{2}}))?(?:\s*(?:ч|часов|часа)\b\.?)?(?:\s*(?P<{k}>" + MARKER + "))?"
_DAY_SIDE = r"\d{1,2}(?:[./]\d{1,2}(?:[./](?:\d{4}|\d{2}))?|\s+" + _MON + r"\.?(?:\s+\d{4})?)"
_AT = r"(?:в|во|к|на|около|at|by|around)"
_SINCE = r"(?:с|c|from)"


def _rule(name: str, pattern: str, handle: Handler) -> Rule:
    return Rule(name, re.compile(pattern), handle)


RULES: tuple[Rule, ...] = (
    _rule("earliest", r"что\s+ближе|whichever\s+(?:is\s+)?(?:sooner|earlier|first|comes\s+first)", h.earliest),
    _rule(
        "date_range",
        rf"\b{_SINCE}\s+(?P<a>{_DAY_SIDE}?)\s*(?:по|-|to|till|until)\s*(?P<b>{_DAY_SIDE})\b\.?",
        h.date_range,
    ),
    _rule(
        "numeric_date",
        rf"{_NOT_AFTER_NUM}(?P<d>\d{{1,2}})[./](?P<mo>\d{{1,2}})[./](?P<y>\d{{4}}|\d{{2}}){_NOT_BEFORE_NUM}",
        h.numeric_date,
    ),
    _rule(
        "word_date",
        rf"{_NOT_AFTER_NUM}(?P<d>\d{{1,2}})(?:\s*-?\s*(?:го|ое|ого|е)|st|nd|rd|th)?\s+(?:of\s+)?"
        rf"(?P<mon>{_MON})\b\.?(?:,?\s+(?P<y>\d{{4}})(?:\s*(?:года|год|г)\b\.?)?)?",
        h.word_date,
    ),
    _rule(
        "word_date_en",
        rf"\b(?P<mon>{alternation(MONTHS_EN)})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b{_NOT_BEFORE_NUM}"
        r"(?:,?\s+(?P<y>\d{4})\b)?",
        h.word_date,
    ),
    _rule(
        "time_between",
        rf"\b(?:{_SINCE}|between)\s+" + _HM.format(h="h1", m="m1", k="k1")
        + r"\s*(?:до|-|to|till|until|and)\s*" + _HM.format(h="h2", m="m2", k="k2") + _NOT_BEFORE_NUM,
        h.time_between,
    ),
    _rule(
        "time_bound",
        r"\b(?P<dir>после|after|до|before)\s+" + _HM.format(h="h", m="m", k="mk") + _NOT_BEFORE_NUM,
        h.time_bound,
    ),
    _rule("after_work", r"\b(?:после\s+(?:работы|учебы|пар)|after\s+work)\b", h.after_work),
    _rule(
        "class_slot",
        rf"{_NOT_AFTER_NUM}(?P<h>\d{{1,2}}):(?P<m>\d{{2}})\s*-\s*\d{{1,2}}:\d{{2}}(?P<mk>){_NOT_BEFORE_NUM}",
        h.clock,  # "занятие 19:00-20:00" is the class that starts at 19:00
    ),
    _rule(
        "clock",
        rf"{_NOT_AFTER_NUM}(?P<h>\d{{1,2}}):(?P<m>\d{{2}})(?![\d:])(?:\s*(?P<mk>{MARKER}))?",
        h.clock,
    ),
    _rule("clock_dash", r"\b(?:в|во|к|at)\s+(?P<h>\d{1,2})-(?P<m>\d{2})(?P<mk>)\b", h.clock),
    _rule(
        "dotted",
        rf"{_NOT_AFTER_NUM}(?:\b(?P<prep>в|во|к|на|at|by)\s+)?(?P<a>\d{{1,2}})\.(?P<b>\d{{1,2}})"
        rf"{_NOT_BEFORE_NUM}(?:\s*(?P<mk>{MARKER}))?",
        h.dotted,
    ),
    _rule("slash_date", rf"{_NOT_AFTER_NUM}(?P<d>\d{{1,2}})/(?P<mo>\d{{1,2}}){_NOT_BEFORE_NUM}", h.slash_date),
    _rule(
        "day_number",
        rf"{_NOT_AFTER_NUM}(?P<d>\d{{1,2}})(?:\s*-?\s*(?:го|ое|ого|е)\b|\s+числа\b|(?:st|nd|rd|th)\b)",
        h.day_number,
    ),
    _rule(
        "half_past",
        rf"\bпол\s*-?\s*(?P<half>{alternation(HALF_HOURS)})\b(?:\s*(?P<mk>{MARKER}))?",
        h.half_past,
    ),
    _rule(
        "half_past_en",
        rf"\bhalf\s+past\s+(?P<half>\d{{1,2}}|{alternation(HOUR_WORDS)})\b(?:\s*(?P<mk>{MARKER}))?",
        h.half_past,
    ),
    _rule("noon", r"\b(?:полдень|полночь|noon|midday|midnight)\b", h.noon),
    _rule(
        "by_hour_word",
        rf"\bк\s+(?P<h>{alternation(HOUR_GENITIVE)})\b(?:\s*(?:часам)?\s*(?P<mk>{MARKER}))?",
        h.by_hour_word,
    ),
    _rule(
        "hour_with_word",
        rf"(?:\b(?P<prep>{_AT})\s+)?{_NOT_AFTER_NUM}(?P<h>\d{{1,2}}|{alternation(HOUR_WORDS)})"
        rf"(?:\s*(?P<u>ч\b\.?|часов|часа|час|h\b|o'?clock))?(?:\s*(?P<mk>{MARKER}))?",
        h.hour_with_word,
    ),
    _rule(
        "hour_after_prep",
        rf"\b{_AT}\s+(?P<hours>\d{{1,2}}(?:\s*(?:,|или|or|/)\s*(?:(?:в|во|at)\s+)?\d{{1,2}})*)"
        + _NOT_BEFORE_NUM + r"(?!\w)",
        h.hour_after_prep,
    ),
    _rule("relative_day", r"\b(?:послезавтра|завтра|сегодня|day\s+after\s+tomorrow|tomorrow|today|tonight)\b",
          h.relative_day),
    _rule(
        "in_days",
        rf"\b(?:через|in)\s+(?:(?:a\s+)?(?P<n>\d{{1,2}}|{alternation(NUMBER_WORDS)})\s+)?(?:of\s+)?"
        r"(?P<unit>дня|дней|день|неделю|недели|недель|days?|weeks?)\b",
        h.in_days,
    ),
    _rule(
        "week",
        r"\b(?:на|в|во)\s+(?:(?P<next>след\w*\.?)|эт\w*)?\s*(?:(?P<weekend>выходных|выходные)|неделе)\b",
        h.week,
    ),
    _rule(
        "week_en",
        r"\b(?:(?P<next>next)|this|on\s+the|at\s+the|over\s+the)\s+(?:(?P<weekend>weekend)|week)\b",
        h.week,
    ),
    _rule("workdays", r"\b(?:по\s+будням|в\s+будни|on\s+weekdays|weekdays)\b", h.workdays),
    _rule("weekends", r"\b(?:по\s+выходным|on\s+weekends|weekends)\b", h.weekends),
    _rule("whole_month", rf"\b(?:в|во|на|in)\s+(?P<mon>{alternation(WHOLE_MONTHS)})\b", h.whole_month),
    _rule(
        "weekday_span",
        rf"\b(?:{_SINCE}\s+)?(?P<a>{alternation(WEEKDAYS)})\s*(?:по|-|to|till|through)\s*"
        rf"(?P<b>{alternation(WEEKDAYS)})\b\.?",
        h.weekday_span,
    ),
    _rule(
        "weekday",
        r"(?:\b(?P<mod>след\w*\.?|эт(?:у|от|ой|а)|по|все|кажд\w*|next|this|every)\s+)?"
        rf"\b(?P<wd>{alternation(WEEKDAYS)})\b\.?",
        h.weekday,
    ),
    _rule("part_of_day", r"\b(?:" + "|".join(p.replace(" ", r"\s+") for p in h.PART_OF_DAY) + r")\b",
          h.part_of_day),
)  # fmt: skip
# Read text is blanked with a character that is neither a word nor a space, so the words around it
# never become neighbours ("пн [12 декабря] по средам" is not "с пн по ср").
_MASK = "\x00"
_PHONE = re.compile(r"\+?\d(?:[\s\-()]{0,3}\d){6,}")


def collect_facts(text: str, today: date) -> Facts:
    """Run the rule table over prepared text (see `temporal_lexicon.prepare`)."""
    facts = Facts(today=today)
    working = _PHONE.sub(lambda m: _MASK * len(m.group(0)), text)
    for rule in RULES:
        chars = list(working)
        for match in rule.pattern.finditer(working):
            if rule.handle(match, facts, working):
                chars[match.start() : match.end()] = _MASK * (match.end() - match.start())
        working = "".join(chars)
    facts.resolve_month_days()
    return facts
