"""Schedule lines as a client reads them (PRODUCT.md §5.2): `Ср 02.12 19:00 High Heels — Настя, Центр`."""

from __future__ import annotations

import re

__all__ = ["class_lines"]

_LINE = re.compile(r"^(Пн|Вт|Ср|Чт|Пт|Сб|Вс) (\d\d\.\d\d) (\d\d:\d\d) (.+) — (.+?), (\S+)$", re.M)


def class_lines(reply: str) -> list[tuple[str, ...]]:
    """(weekday, date, time, style, teacher, branch) of each line; 1–5 lines, nearest first."""
    lines = [m.groups() for m in _LINE.finditer(reply)]
    assert 1 <= len(lines) <= 5, f"not a schedule of 1–5 lines: {reply!r}"
    starts = [(d[3:], d[:2], t) for _, d, t, *_ in lines]
    assert starts == sorted(starts), f"not nearest first: {reply!r}"
    return lines
