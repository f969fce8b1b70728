"""Outbound jobs as they travel through the Redis queue: versioned JSON, never pickle (arq's lesson)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Button", "OutboundJob", "TemplateCall"]


class Button(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    data: str


class TemplateCall(BaseModel):
    """A WhatsApp template (PRODUCT.md §10.3) to send instead of the text outside the 24-hour window."""

    model_config = ConfigDict(frozen=True)

    name: str
    params: tuple[str, ...] = ()
    lang: str = "ru"


class OutboundJob(BaseModel):
    """One thing for the worker to send. `kind` says what: a message, or an answer to a button tap."""

    model_config = ConfigDict(frozen=True)

    v: Literal[1] = 1
    job_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    kind: Literal["message", "callback_answer", "clear_keyboard"] = "message"
    channel: Literal["telegram", "whatsapp"] = "telegram"
    chat_id: int
    text: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    request_contact: bool = False
    contact_label: str = "📱 Поделиться номером"  # the share-contact button, in the client's language
    callback_query_id: str | None = None
    target_message_id: int | None = None  # clear_keyboard: the message whose inline keyboard goes
    trace_id: str | None = None
    purpose: str = "reply"  # reply / alert / reminder / relay
    attempts: int = 0
    state: str | None = None  # FSM state when the reply was made, for the messages log
    template: TemplateCall | None = None  # WhatsApp outside the 24 h window: this approved template instead

    def dumps(self) -> str:
        return self.model_dump_json()

    @classmethod
    def loads(cls, raw: str | bytes) -> OutboundJob:
        return cls.model_validate_json(raw)
