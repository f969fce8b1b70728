"""WhatsApp message templates (PRODUCT.md §10.3): the only messages Meta delivers outside the 24-hour window.

Three templates, with their names and parameters fixed; their texts, as submitted for Meta's approval,
are in docs/whatsapp-templates.md. One is used only when its name is listed in
`WHATSAPP_APPROVED_TEMPLATES`; otherwise the sender falls back (Telegram, or the admin).

| template              | parameters                 |
|-----------------------|----------------------------|
| `lesson_reminder_24h` | name, time, class          |
| `lesson_reminder_2h`  | name, class                |
| `booking_confirm`     | name, class, date-time     |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dancebot.outbound.messages import TemplateCall

__all__ = [
    "BOOKING_CONFIRM",
    "LANGUAGE",
    "PARAMS",
    "REMINDER_2H",
    "REMINDER_24H",
    "booking_confirm",
    "call_of",
    "for_reminder",
    "payload",
    "reminder",
]

REMINDER_24H = "lesson_reminder_24h"
REMINDER_2H = "lesson_reminder_2h"
BOOKING_CONFIRM = "booking_confirm"
PARAMS: dict[str, tuple[str, ...]] = {
    REMINDER_24H: ("name", "time", "class"),
    REMINDER_2H: ("name", "class"),
    BOOKING_CONFIRM: ("name", "class", "datetime"),
}
LANGUAGE = "ru"  # the language the templates are submitted in (docs/whatsapp-templates.md)
_NO_NAME = "дорогой клиент"  # the templates open with "Здравствуйте, {{1}}!"
_MAX_PARAM = 200


def _param(value: str) -> str:
    """Meta refuses parameters with newlines, tabs or more than four spaces in a row."""
    flat = re.sub(r"\s+", " ", value).strip()
    return flat[:_MAX_PARAM] or "—"


def _call(name: str, *values: str) -> TemplateCall:
    assert len(values) == len(PARAMS[name]), name
    return TemplateCall(name=name, lang=LANGUAGE, params=tuple(map(_param, values)))


def reminder(kind: str, *, name: str | None, time: str, klass: str) -> TemplateCall:
    """`kind` is the reminder's offset, "24h" or "2h"; `klass` names the class and where it is."""
    if kind == "24h":
        return _call(REMINDER_24H, name or _NO_NAME, time, klass)
    return _call(REMINDER_2H, name or _NO_NAME, klass)


def booking_confirm(*, name: str | None, klass: str, when: str) -> TemplateCall:
    return _call(BOOKING_CONFIRM, name or _NO_NAME, klass, when)


def payload(to: str, call: TemplateCall) -> dict[str, Any]:
    """The Cloud API message that sends `call` to the WhatsApp number `to`."""
    template: dict[str, Any] = {"name": call.name, "language": {"code": call.lang}}
    if call.params:
        parameters = [{"type": "text", "text": p} for p in call.params]
        template["components"] = [{"type": "body", "parameters": parameters}]
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
            "template": template}  # fmt: skip


def for_reminder(channel: str, kind: str, start: datetime, fields: Mapping[str, str]) -> dict[str, Any] | None:
    """What a scheduled reminder keeps of its template (WhatsApp only). `fields` are the reminder's own, in
    the client's language; the template is the Russian one Meta approved."""
    if channel != "whatsapp":
        return None
    klass = f"{fields['klass']}, {fields['where']}"
    return reminder(kind, name=fields.get("name"), time=f"{start:%H:%M}", klass=klass).model_dump(mode="json")


def call_of(item: Mapping[str, Any]) -> TemplateCall | None:
    """The template a stored reminder carries, if any."""
    raw = item.get("template")
    return TemplateCall.model_validate(raw) if raw else None
