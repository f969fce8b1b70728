"""Every fixed text the bot sends, per language (SPEC §2). The KB's `messages` section overrides any key.

Texts take `str.format` fields; a missing field is a programming error caught by the catalogue test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TEXTS", "Catalogue"]

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "text_only": "Я понимаю только текст 😊 Напишите, пожалуйста, словами.",
        "greeting": "Здравствуйте! Это {studio} 💃 Подскажу расписание, цены и запишу на занятие. Что вас интересует?",
        "greeting_again": "Здравствуйте! Чем помочь: записать на занятие, подсказать расписание или цены?",
        "check_with_admin": "Уточню у администратора и вернусь с ответом.",
        "handoff": "Передаю администратору ⏳",
        "already_booked": "Вы уже записаны ✅",
        "thanks": "Пожалуйста! Если что-то ещё понадобится — пишите 😊",
        "clarify": "Подскажите, что вас интересует: запись на занятие, расписание или цены?",
        "admin_usage": "Команды: /reply {{chat_id}} текст — ответить клиенту; /close {{chat_id}} — закрыть диалог.",
        "tech_issues": "У нас технические неполадки, администратор свяжется с вами.",
    },
    "en": {
        "text_only": "I only understand text 😊 Please write in words.",
        "greeting": "Hi! This is {studio} 💃 I can show the schedule, prices and book a class. What would you like?",
        "greeting_again": "Hi! How can I help: book a class, show the schedule or prices?",
        "check_with_admin": "I'll check with the administrator and get back to you.",
        "handoff": "Passing you to the administrator ⏳",
        "already_booked": "You're already booked ✅",
        "thanks": "You're welcome! Write any time 😊",
        "clarify": "What are you interested in: booking a class, the schedule or prices?",
        "admin_usage": "Commands: /reply {{chat_id}} text — answer a client; /close {{chat_id}} — close the dialogue.",
        "tech_issues": "We have technical issues; the administrator will contact you.",
    },
}


class Catalogue:
    """Looks a key up in the KB overrides, then the language's texts, then Russian."""

    def __init__(self, overrides: Mapping[str, str] | None = None, *, kb_language: str = "ru", **defaults: Any):
        self._overrides = dict(overrides or {})
        self._kb_language = kb_language
        self._defaults = defaults

    def text(self, key: str, lang: str = "ru", **fields: Any) -> str:
        template = self._overrides.get(key) if lang == self._kb_language else None
        if template is None:
            template = TEXTS.get(lang, TEXTS["ru"]).get(key) or TEXTS["ru"][key]
        return template.format(**{**self._defaults, **fields})
