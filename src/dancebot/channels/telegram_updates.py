"""Builders of real Telegram update JSON, as Telegram POSTs it to the webhook, for tests.

Each returns a plain dict shaped like the Bot API's `Update` (the fields Telegram really sends for a
private chat, and for groups when `chat_id` is negative) that `telegram.Update.de_json` accepts. Dates
default to now, because the webhook drops messages older than five minutes (PRODUCT.md §4).
"""

from __future__ import annotations

import time
from typing import Any, TypedDict, Unpack

__all__ = [
    "BOT_ID",
    "Sender",
    "callback_update",
    "contact_update",
    "edited_update",
    "my_chat_member_update",
    "photo_update",
    "sticker_update",
    "text_update",
    "voice_update",
]

Json = dict[str, Any]
BOT_ID = 123456  # the fake Bot API's default token is "123456:TEST"; pass bot_id= for another token
BOT_USERNAME = "ritm_studio_bot"
GROUP_MEMBER_ID = 5_000_001  # who writes in a group chat when no user_id is given


class Sender(TypedDict, total=False):
    """Who sends and when; every builder takes these keywords."""

    date: int  # unix time; default now
    first_name: str  # default "Анна"
    language_code: str  # default "ru"
    username: str | None
    user_id: int  # default chat_id in private chats, GROUP_MEMBER_ID in groups


def _now() -> int:
    return int(time.time())


def _chat(chat_id: int, sender: Sender) -> dict[str, Any]:
    if chat_id < 0:
        kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        return {"id": chat_id, "type": kind, "title": "Администраторы «Ритм»"}
    chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": sender.get("first_name", "Анна")}
    if sender.get("username"):
        chat["username"] = sender["username"]
    return chat


def _user(chat_id: int, sender: Sender) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": sender.get("user_id", chat_id if chat_id > 0 else GROUP_MEMBER_ID),
        "is_bot": False,
        "first_name": sender.get("first_name", "Анна"),
        "language_code": sender.get("language_code", "ru"),
    }
    if sender.get("username"):
        user["username"] = sender["username"]
    return user


def _bot_user(bot_id: int) -> dict[str, Any]:
    return {"id": bot_id, "is_bot": True, "first_name": "Ритм", "username": BOT_USERNAME}


def _message(chat_id: int, message_id: int, sender: Sender, **content: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "from": _user(chat_id, sender),
        "chat": _chat(chat_id, sender),
        "date": sender.get("date", _now()),
        **content,
    }


def _text_content(text: str) -> dict[str, Any]:
    """Telegram marks a leading /command with a bot_command entity (admin commands rely on it)."""
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        content["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    return content


def text_update(update_id: int, chat_id: int, message_id: int, text: str, **sender: Unpack[Sender]) -> Json:
    return {"update_id": update_id, "message": _message(chat_id, message_id, sender, **_text_content(text))}


def edited_update(
    update_id: int, chat_id: int, message_id: int, text: str, *, edit_date: int | None = None, **sender: Unpack[Sender]
) -> Json:
    """The client edited message `message_id`; `date` stays the original one, a minute before the edit."""
    edited = edit_date or _now()
    sender.setdefault("date", edited - 60)
    message = _message(chat_id, message_id, sender, edit_date=edited, **_text_content(text))
    return {"update_id": update_id, "edited_message": message}


def contact_update(update_id: int, chat_id: int, message_id: int, phone_number: str, **sender: Unpack[Sender]) -> Json:
    """The client shared their own contact via a request_contact button.

    Telegram often sends such numbers without the leading "+" (e.g. "79141234567"); pass what you test.
    """
    user = _user(chat_id, sender)
    contact = {"phone_number": phone_number, "first_name": user["first_name"], "user_id": user["id"]}
    return {"update_id": update_id, "message": _message(chat_id, message_id, sender, contact=contact)}


def sticker_update(
    update_id: int, chat_id: int, message_id: int, *, emoji: str = "👍", **sender: Unpack[Sender]
) -> Json:
    sticker = {
        "file_id": f"CAACAgIAAxkBAAE{message_id}",
        "file_unique_id": f"AgAD{message_id}",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
        "set_name": "HotCherry",
        "file_size": 23_810,
    }
    return {"update_id": update_id, "message": _message(chat_id, message_id, sender, sticker=sticker)}


def voice_update(update_id: int, chat_id: int, message_id: int, *, duration: int = 4, **sender: Unpack[Sender]) -> Json:
    voice = {
        "file_id": f"AwACAgIAAxkBAAE{message_id}",
        "file_unique_id": f"AgAE{message_id}",
        "duration": duration,
        "mime_type": "audio/ogg",
        "file_size": 4_000 * duration,
    }
    return {"update_id": update_id, "message": _message(chat_id, message_id, sender, voice=voice)}


def photo_update(
    update_id: int, chat_id: int, message_id: int, *, caption: str | None = None, **sender: Unpack[Sender]
) -> Json:
    """A photo arrives as several sizes of one image, smallest first."""
    sizes = [(90, 67, 1_402), (320, 240, 18_220), (1280, 960, 142_337)]
    photo = [
        {"file_id": f"AgACAgIAAxkBAAE{message_id}_{w}", "file_unique_id": f"AQAD{message_id}{w}", "width": w,
         "height": h, "file_size": size}
        for w, h, size in sizes
    ]  # fmt: skip
    content: dict[str, Any] = {"photo": photo}
    if caption is not None:
        content["caption"] = caption
    return {"update_id": update_id, "message": _message(chat_id, message_id, sender, **content)}


def callback_update(
    update_id: int,
    chat_id: int,
    message_id: int,
    data: str,
    callback_id: str,
    *,
    message_text: str = "Выберите вариант:",
    bot_id: int = BOT_ID,
    **sender: Unpack[Sender],
) -> Json:
    """The client tapped an inline button with `data` under the bot's message `message_id`."""
    message = {
        "message_id": message_id,
        "from": _bot_user(bot_id),
        "chat": _chat(chat_id, sender),
        "date": sender.get("date", _now()) - 5,
        "text": message_text,
        "reply_markup": {"inline_keyboard": [[{"text": data, "callback_data": data}]]},
    }
    query = {
        "id": callback_id,
        "from": _user(chat_id, sender),
        "message": message,
        "chat_instance": f"-{abs(chat_id) * 7919 % 10**19}",
        "data": data,
    }
    return {"update_id": update_id, "callback_query": query}


def my_chat_member_update(
    update_id: int, chat_id: int, *, status: str = "kicked", bot_id: int = BOT_ID, **sender: Unpack[Sender]
) -> Json:
    """The bot's own membership changed (the client blocked it: "kicked"); a kind the bot ignores."""
    new_member: dict[str, Any] = {"user": _bot_user(bot_id), "status": status}
    if status == "kicked":
        new_member["until_date"] = 0
    change = {
        "chat": _chat(chat_id, sender),
        "from": _user(chat_id, sender),
        "date": sender.get("date", _now()),
        "old_chat_member": {"user": _bot_user(bot_id), "status": "member"},
        "new_chat_member": new_member,
    }
    return {"update_id": update_id, "my_chat_member": change}
