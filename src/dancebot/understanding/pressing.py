"""Words that press a point, read from the raw text (pure, no I/O): the client insisting on an answer the
bot did not have, or saying a booking exists that the bot did not find. The conversation decides what they
mean where they stand (conversation/actions/handoff.py, common.py)."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["claims_booked", "presses"]

_VERB = r"(?:узна|уточн|выясн|провер|посмотр|спрос|поищ|найд)\w*"
_PLEA = r"(?:пожалуйста|плиз|ещ[её]\s+раз|вс[её]\s+равно|ну)"
# Pressing for an answer the bot did not have — insisting only right after a miss (see the module doc).
_PRESS: Final = re.compile(
    r"настаива\w*|\bименно\b|\bну\s+пожалуйста\b|\bну\s+(?:что|как)\s+там\b"
    rf"|\b{_VERB}[\s,!]+{_PLEA}\b|\b{_PLEA}[\s,!]+{_VERB}"
    r"|\bещ[её]\s+раз\b|\bвс[её]\s+равно\b|\bсрочно\b|\bочень\s+(?:нужно|надо|важно)\b"
    r"|\bмне\s+(?:правда\s+|очень\s+|же\s+)?(?:нужно|надо|важно)\b"
    r"|\bi\s+insist|\bplease\s+(?:check|find\s+out|ask)|\bi\s+(?:really\s+|do\s+)?need\b|\bstill\s+(?:need|want)\b",
    re.I,
)
# "я точно записывалась", "я же записана!", "у меня есть запись", "i did book": a booking the client says exists.
_CLAIM: Final = re.compile(
    r"\bзаписыва[лн]\w*|\bзаписа[лн]\w*|\bзабронирова[лн]\w*|\bбронирова[лн]\w*"
    r"|\b(?:есть|был[аи]?)\s+(?:же\s+|ведь\s+|точно\s+)?(?:запись|бронь)\b"
    r"|\bi\s+(?:did\s+|have\s+|had\s+)?book(?:ed)?\b|\bi'?m\s+booked|\bi\s+am\s+booked|\bi\s+have\s+a\s+booking",
    re.I,
)


def presses(text: str) -> bool:
    """ "Я настаиваю", "ну пожалуйста, узнайте", "мне нужно именно это", "проверьте ещё раз": words that
    press for an answer — insisting when they follow a miss."""
    return bool(_PRESS.search(text))


def claims_booked(text: str) -> bool:
    """ "я точно записывалась", "я же записана!", "у меня есть запись на пятницу", "I did book"."""
    return bool(_CLAIM.search(text))
