"""Telegram inbound: secret check and parsing of Bot API updates into `UnifiedMessage` (PRODUCT.md §4).

Parsing uses python-telegram-bot's typed `Update`; this module only maps it. Update kinds the bot does
not handle (chat member changes, polls, channel posts…) map to `None` and are acknowledged with 200.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from telegram import Message, Update

from dancebot.channels.message import MessageType, UnifiedMessage

__all__ = ["InvalidUpdate", "parse_update", "secret_matches"]

_MEDIA_KINDS: tuple[tuple[str, MessageType], ...] = (
    ("voice", "voice"), ("audio", "audio"), ("sticker", "sticker"), ("photo", "photo"),
    ("video", "video"), ("video_note", "video_note"), ("animation", "animation"),
    ("document", "document"), ("location", "location"), ("venue", "location"), ("poll", "poll"),
)  # fmt: skip


class InvalidUpdate(ValueError):
    """The body is JSON but not a Telegram update."""


def secret_matches(received: str | None, expected: str) -> bool:
    """Constant-time comparison of the `X-Telegram-Bot-Api-Secret-Token` header."""
    if received is None:
        return False
    return hmac.compare_digest(received.encode(), expected.encode())


def _message_type(msg: Message) -> MessageType:
    if msg.text is not None:
        return "text"
    if msg.contact is not None:
        return "contact"
    for attr, kind in _MEDIA_KINDS:
        if getattr(msg, attr):
            return kind
    return "other"


def _from_message(msg: Message, *, is_edit: bool) -> UnifiedMessage:
    if type(msg.message_id) is not int:  # PTB keeps what came: {"message_id": {...}} is not a message
        raise InvalidUpdate("malformed update: message_id is not an integer")
    kind = _message_type(msg)
    user = msg.from_user
    contact = msg.contact.phone_number if msg.contact is not None else None
    if contact and not contact.startswith("+"):
        contact = "+" + contact
    return UnifiedMessage(
        channel="telegram",
        chat_id=msg.chat.id,
        message_id=str(msg.message_id),
        timestamp=msg.edit_date if (is_edit and msg.edit_date) else msg.date,
        text=msg.text if kind == "text" else (msg.caption or None),
        message_type=kind,
        is_edit=is_edit,
        contact_phone=contact,
        contact_is_own=bool(msg.contact and user and msg.contact.user_id == user.id),
        first_name=user.first_name if user else None,
        language_code=user.language_code if user else None,
    )


def parse_update(data: Any) -> UnifiedMessage | None:
    """Map an update to a `UnifiedMessage`; `None` for kinds we don't handle; `InvalidUpdate` for garbage."""
    try:
        return _parse_update(data)
    except (ValidationError, TypeError, AttributeError) as exc:  # PTB keeps wrong types ("text": {}) as they came
        raise InvalidUpdate(f"malformed update: {type(exc).__name__}") from exc


def _parse_update(data: Any) -> UnifiedMessage | None:
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise InvalidUpdate("not a Telegram update: no integer update_id")
    try:
        update = Update.de_json(data, bot=None)
    except Exception as exc:  # PTB raises assorted KeyError/TypeError on malformed objects
        raise InvalidUpdate(f"malformed update: {type(exc).__name__}") from exc
    if update is None:
        raise InvalidUpdate("empty update")
    if update.message is not None:
        return _from_message(update.message, is_edit=False)
    if update.edited_message is not None:
        return _from_message(update.edited_message, is_edit=True)
    cq = update.callback_query
    if cq is not None and cq.message is not None and cq.data is not None:
        user = cq.from_user
        return UnifiedMessage(
            channel="telegram",
            chat_id=cq.message.chat.id,
            message_id=f"cb:{cq.id}",
            timestamp=datetime.now(UTC),  # a tap has no date of its own; the button's message may be old
            text=None,
            message_type="callback",
            callback_data=cq.data,
            callback_query_id=cq.id,
            callback_message_id=cq.message.message_id,
            first_name=user.first_name,
            language_code=user.language_code,
        )
    return None
