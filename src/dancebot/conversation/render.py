"""How occurrences, summaries and receipts read in a message (PRODUCT.md §5.1–5.2), and the channel limits.

Schedule lines look like `Ср 04.12 19:00 High Heels — Настя, Гоголя`. Buttons carry short ASCII data
(Telegram allows 64 bytes): `pick:{occurrence_id}`, `style:{id}`, `yes`, `no`, `bk:{reservation_id}`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dancebot.conversation.slots import kb_teacher
from dancebot.crm.models import Occurrence
from dancebot.kb import KnowledgeBase
from dancebot.outbound.messages import Button
from dancebot.understanding.temporal import describe_datetime

__all__ = [
    "LIMITS",
    "branch_address",
    "class_label",
    "enforce_limits",
    "occ_button",
    "occ_line",
    "schedule_lines",
]

LIMITS = {"telegram": 300, "whatsapp": 200}
_WEEKDAYS = {"ru": ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"), "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u23f0-\u23ff\u2705]")


def teacher_short(occ: Occurrence, kb: KnowledgeBase, lang: str) -> str:
    teacher = kb_teacher(occ, kb)
    if teacher is None:
        return occ.teacher_name
    if lang == "ru" and teacher.aliases:
        return teacher.aliases[0]
    return teacher.name.split()[0]


def branch_name(occ: Occurrence, kb: KnowledgeBase) -> str:
    branch = kb.branch_by_crm_id(occ.branch_crm_id) if occ.branch_crm_id is not None else None
    return branch.name if branch else ""


def branch_address(occ: Occurrence, kb: KnowledgeBase) -> str:
    branch = kb.branch_by_crm_id(occ.branch_crm_id) if occ.branch_crm_id is not None else None
    return f"{branch.name}, {branch.address}" if branch else kb.studio.branches[0].address


def style_label(occ: Occurrence, kb: KnowledgeBase) -> str:
    service = kb.service_by_crm_style_id(occ.style_id) if occ.style_id is not None else None
    return service.name if service else occ.style_name


def class_label(occ: Occurrence, kb: KnowledgeBase, lang: str) -> str:
    """`High Heels (Настя)` — the style the client knows, and who teaches it."""
    return f"{style_label(occ, kb)} ({teacher_short(occ, kb, lang)})"


def when_label(occ: Occurrence, lang: str) -> str:
    return describe_datetime(occ.start, lang)


def series_dates(occs: Sequence[Occurrence], lang: str, *, compact: bool) -> str:
    """The classes of a series, one a line; `compact` (WhatsApp's 200 characters) puts dates of one weekday
    and time on one line: "чт 03.12, 10.12, 17.12 в 20:00"."""
    same = len({(o.start.weekday(), o.start.time()) for o in occs}) == 1
    if not (compact and same and len(occs) > 1):
        return "\n".join(when_label(o, lang) for o in occs)
    first = when_label(occs[0], lang)
    day, _, at = first.partition(" ")  # "чт", "03.12 в 20:00"
    dates = ", ".join(f"{o.start:%d.%m}" for o in occs)
    return f"{day} {dates} {at.split(' ', 1)[1]}"


def occ_line(occ: Occurrence, kb: KnowledgeBase, lang: str) -> str:
    day = _WEEKDAYS.get(lang, _WEEKDAYS["ru"])[occ.start.weekday()]
    line = f"{day} {occ.start:%d.%m %H:%M} {style_label(occ, kb)} — {teacher_short(occ, kb, lang)}"
    where = branch_name(occ, kb)
    return f"{line}, {where}" if where else line


def occ_button(occ: Occurrence, kb: KnowledgeBase, lang: str, *, with_style: bool = False) -> Button:
    day = _WEEKDAYS.get(lang, _WEEKDAYS["ru"])[occ.start.weekday()]
    text = f"{day} {occ.start:%d.%m %H:%M}"
    if with_style:
        text += f" {style_label(occ, kb)}"
    where = branch_name(occ, kb)
    return Button(text=f"{text}, {where}" if where else text, data=f"pick:{occ.occurrence_id}")


def schedule_lines(occs: Sequence[Occurrence], kb: KnowledgeBase, lang: str, budget: int) -> tuple[list[str], bool]:
    """As many lines (≤ 5) as fit in `budget` characters; the flag says some were left out."""
    lines: list[str] = []
    used = 0
    for occ in occs[:5]:
        line = occ_line(occ, kb, lang)
        if used + len(line) + 1 > budget:
            break
        lines.append(line)
        used += len(line) + 1
    return lines, len(lines) < len(occs)


def enforce_limits(text: str, channel: str, max_emoji: int = 2) -> str:
    """PRODUCT.md §5.5 in code: at most `max_emoji` emoji and the channel's length, cut at a line break."""
    found = 0

    def keep(m: re.Match[str]) -> str:
        nonlocal found
        found += 1
        return m.group(0) if found <= max_emoji else ""

    text = _EMOJI.sub(keep, text)
    limit = LIMITS.get(channel, 300)
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    if cut < limit // 2:
        cut = text.rfind(" ", 0, limit - 1)
    if cut <= 0:  # one unbroken token (a long link): a hard cut is still within the limit
        cut = limit - 1
    return text[:cut].rstrip(" ,;:—") + ("…" if not text[:cut].endswith((".", "?", "!")) else "")
