"""Telegram inbound: secret check and parsing of Bot API updates into `UnifiedMessage` (PRODUCT.md §4).

Parsing uses python-telegram-bot's typed `Update`; this module only maps it. Update kinds the bot does
not handle (chat member changes, polls, channel posts…) map to `None` and are acknowledged with 200.

One shape skips PTB: a new plain text message whose every field is one we know, with the types Telegram
sends (`_plain_text`). It is nearly every update a studio gets, and PTB's `de_json` was a quarter of a
webhook's cost under overload; the result is the same `UnifiedMessage` PTB's path gives (a property test
compares the two on generated updates, near misses included). Anything else, odd or malformed, goes
through PTB.
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


_PLAIN_MESSAGE = frozenset({"message_id", "from", "chat", "date", "text", "entities"})
_PLAIN_FROM = frozenset({"id", "is_bot", "first_name", "last_name", "username", "language_code", "is_premium"})
_PLAIN_CHAT = frozenset({"id", "type", "first_name", "last_name", "username"})
_PLAIN_ENTITY = frozenset({"type", "offset", "length", "url"})


def _plain_text(data: dict[str, Any]) -> UnifiedMessage | None:
    """A plain text message read straight from the JSON; `None` for any other shape (PTB reads it)."""
    message = data.get("message")
    if len(data) != 2 or type(message) is not dict or not message.keys() <= _PLAIN_MESSAGE:
        return None
    message_id, date, chat, text = (
        message.get("message_id"),
        message.get("date"),
        message.get("chat"),
        message.get("text"),
    )
    if type(message_id) is not int or type(date) is not int or type(text) is not str or type(chat) is not dict:
        return None
    if not chat.keys() <= _PLAIN_CHAT or type(chat.get("id")) is not int or type(chat.get("type")) is not str:
        return None
    if "entities" in message and not _plain_entities(message["entities"]):
        return None
    user = message.get("from")
    first_name = language = None
    if user is not None:
        if type(user) is not dict or not user.keys() <= _PLAIN_FROM or type(user.get("id")) is not int:
            return None
        first_name, language = user.get("first_name"), user.get("language_code")
        if type(user.get("is_bot")) is not bool or type(first_name) is not str:
            return None
        if language is not None and type(language) is not str:
            return None
    try:
        sent = datetime.fromtimestamp(date, UTC)
    except (OverflowError, OSError, ValueError):
        return None  # a date no clock has: PTB's path refuses it
    return UnifiedMessage(
        channel="telegram",
        chat_id=chat["id"],
        message_id=str(message_id),
        timestamp=sent,
        text=text,
        message_type="text",
        first_name=first_name,
        language_code=language,
    )


def _plain_entities(entities: Any) -> bool:
    """Formatting marks (a phone number, a link) of the shape PTB reads without fail."""
    return type(entities) is list and all(
        type(e) is dict
        and e.keys() <= _PLAIN_ENTITY
        and type(e.get("type")) is str
        and type(e.get("offset")) is int
        and type(e.get("length")) is int
        and type(e.get("url", "")) is str
        for e in entities
    )


def _parse_update(data: Any) -> UnifiedMessage | None:
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise InvalidUpdate("not a Telegram update: no integer update_id")
    plain = _plain_text(data)
    return plain if plain is not None else _parse_with_ptb(data)


def _parse_with_ptb(data: dict[str, Any]) -> UnifiedMessage | None:
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
