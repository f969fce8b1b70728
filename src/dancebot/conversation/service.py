"""The conversation for one inbound message: understanding → answer (minimal: greeting, FAQ, or the admin).

The deterministic FSM (SPEC §5) grows here; this first version answers greetings and FAQ from the KB by
rules and says it will check with the administrator otherwise — it never guesses.
"""

from __future__ import annotations

import re

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.session import Session
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.understanding.faq import match_faq
from dancebot.understanding.intents import Intent, detect_intents

__all__ = ["ConversationService", "detect_language"]

_LATIN = re.compile(r"[A-Za-z]")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def detect_language(msg: UnifiedMessage, text: str, default: str, previous: str | None) -> str:
    """English for a client who writes English (or whose Telegram is English); else the KB's language."""
    latin, cyrillic = len(_LATIN.findall(text)), len(_CYRILLIC.findall(text))
    if latin > cyrillic and latin >= 2:
        return "en"
    if cyrillic > latin:
        return "ru"
    if previous:
        return previous
    return "en" if (msg.language_code or "").startswith("en") and default != "en" else default


class ConversationService:
    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    async def handle(self, msg: UnifiedMessage, session: Session) -> list[OutboundJob]:
        kb, cat = self._rt.kb, self._rt.catalogue
        text = (msg.text or msg.callback_data or msg.contact_phone or "").strip()
        lang = detect_language(msg, text, kb.tone.language, session.language)
        session.language = lang
        session.remember(text)
        intents = {score.intent for score in detect_intents(text)}
        hit = match_faq(text, kb)
        if hit is not None:
            answer = hit.answer
        elif Intent.GREETING in intents:
            answer = cat.text("greeting", lang)
        elif Intent.THANKS in intents:
            answer = cat.text("thanks", lang)
        else:
            answer = cat.text("check_with_admin", lang)
        return [OutboundJob(chat_id=msg.chat_id, channel=msg.channel, text=answer, trace_id=msg.trace_id)]
