"""The one shape every inbound message takes, whatever its channel (PRODUCT.md §4)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MESSAGE_ID_MAX", "Channel", "MessageType", "UnifiedMessage", "new_trace_id"]

Channel = Literal["telegram", "whatsapp"]
MessageType = Literal[
    "text", "callback", "contact", "voice", "audio", "sticker", "photo", "video", "video_note",
    "animation", "document", "location", "poll", "other",
]  # fmt: skip
TEXTUAL: frozenset[str] = frozenset({"text", "callback", "contact"})


MESSAGE_ID_MAX = 200  # Telegram's ids are integers, WhatsApp's wamids ~60 characters; longer is not a real message


def new_trace_id() -> str:
    return str(uuid.uuid4())


class UnifiedMessage(BaseModel):
    """PRODUCT.md §4.1 fields plus what the engine needs: trace id, edit flag, button data, shared contact."""

    model_config = ConfigDict(frozen=True)

    channel: Channel
    chat_id: int = Field(ge=-(2**63), lt=2**63)  # BIGINT in every table; Telegram's ids need 52 bits
    message_id: str = Field(min_length=1, max_length=MESSAGE_ID_MAX)  # ≤ 255 in the table with an edit suffix
    timestamp: datetime
    text: str | None = None
    message_type: MessageType = "text"
    sender_phone: str | None = None
    trace_id: str = Field(default_factory=new_trace_id)
    is_edit: bool = False
    callback_data: str | None = None
    callback_query_id: str | None = None
    callback_message_id: int | None = None  # the bot's message whose button was tapped
    contact_phone: str | None = None
    contact_is_own: bool = False  # the shared contact is the sender's own (Telegram: contact.user_id == from.id)
    first_name: str | None = None
    language_code: str | None = None

    @property
    def is_textual(self) -> bool:
        """Text, a button tap or a shared contact: everything the engine understands."""
        return self.message_type in TEXTUAL

    @property
    def dedup_id(self) -> str:
        """Edits reuse the original message id, so an edit is deduplicated as its own event."""
        return f"{self.message_id}:e{int(self.timestamp.timestamp())}" if self.is_edit else self.message_id
