"""Client handles: how the administrator names a client in `/reply {handle} text` (PRODUCT.md §11).

A Telegram client is its chat id (`12345`; groups are negative, `-100123`); a WhatsApp client is
`wa:` and its number (`wa:79991234567`). One helper builds them and one parses them.
"""

from __future__ import annotations

from dancebot.channels.message import Channel

__all__ = ["format_handle", "parse_handle"]

_WA = "wa:"


def format_handle(channel: str, chat_id: int) -> str:
    return f"{_WA}{chat_id}" if channel == "whatsapp" else str(chat_id)


def parse_handle(handle: str) -> tuple[Channel, int] | None:
    """`12345` / `-100123` → Telegram; `wa:79991234567` → WhatsApp; anything else → None."""
    channel: Channel = "telegram"
    if handle.startswith(_WA):
        channel, handle = "whatsapp", handle[len(_WA) :]
    try:
        return channel, int(handle)
    except ValueError:
        return None
