"""Channel senders used by the worker. Each maps its transport's failures into `SendError`.

SendError
├── retry_after set  → the channel asked us to wait (Telegram 429)
└── permanent=True   → retrying cannot help (blocked by the user, bad request): dead letter at once
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from dancebot.outbound.messages import OutboundJob
from dancebot.transport import outside_transport

__all__ = ["ConsoleSender", "SendError", "Sender", "TelegramSender"]


class SendError(Exception):
    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Sender(Protocol):
    async def start(self) -> None: ...
    async def send(self, job: OutboundJob) -> None: ...
    async def close(self) -> None: ...


def _markup(job: OutboundJob) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    if job.buttons:
        rows = [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in job.buttons]
        return InlineKeyboardMarkup(rows)
    if job.request_contact:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(job.contact_label, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    return None


class TelegramSender:
    """Sends through python-telegram-bot's `Bot`, pointed at `TELEGRAM_API_BASE_URL`."""

    def __init__(self, token: str, base_url: str) -> None:
        request = HTTPXRequest(
            connection_pool_size=32,
            read_timeout=10,
            connect_timeout=5,
            httpx_kwargs={"transport": outside_transport(httpx.Limits(max_connections=32))},
        )
        self._bot = Bot(token, base_url=f"{base_url}/bot", request=request)

    async def start(self) -> None:
        await self._bot.initialize()

    async def close(self) -> None:
        await self._bot.shutdown()

    async def send(self, job: OutboundJob) -> None:
        try:
            if job.kind == "callback_answer":
                await self._bot.answer_callback_query(job.callback_query_id or "", text=job.text or None)
            elif job.kind == "clear_keyboard":
                await self._clear_keyboard(job)
            else:
                await self._bot.send_message(job.chat_id, job.text, reply_markup=_markup(job))
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            raise SendError("telegram 429", retry_after=seconds) from exc
        except (Forbidden, InvalidToken) as exc:
            raise SendError(f"telegram refused: {exc.message}", permanent=True) from exc
        except BadRequest as exc:
            raise SendError(f"telegram bad request: {exc.message}", permanent=True) from exc
        except TelegramError as exc:
            raise SendError(f"telegram error: {type(exc).__name__}") from exc

    async def _clear_keyboard(self, job: OutboundJob) -> None:
        """A choice was taken: its buttons go, so the chat shows only what is current. Already gone (or the
        message too old to edit) is fine: there is nothing left to tap."""
        if job.target_message_id is None:
            return
        try:
            await self._bot.edit_message_reply_markup(job.chat_id, job.target_message_id, reply_markup=None)
        except BadRequest as exc:
            if not any(s in exc.message.lower() for s in ("not modified", "not found", "can't be edited")):
                raise


class ConsoleSender:
    """`dancebot chat`: prints what the bot would send, buttons as numbered choices."""

    def __init__(self, client_chat_id: int, write: Callable[[str], object] = print) -> None:
        self._client = client_chat_id
        self._write = write
        self.last_buttons: list[str] = []  # callback data of the buttons last shown, for "type 1 to tap"

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, job: OutboundJob) -> None:
        if job.kind in ("callback_answer", "clear_keyboard"):
            return
        prefix = "🤖 " if job.chat_id == self._client else f"[{job.purpose} → админ-чат {job.chat_id}] "
        lines = [prefix + job.text]
        buttons = [b for row in job.buttons for b in row]
        if buttons:
            self.last_buttons = [b.data for b in buttons]
        lines += [f"   [{i}] {b.text}" for i, b in enumerate(buttons, 1)]
        if job.request_contact:
            lines.append("   [📱 кнопка «Поделиться номером» — в консоли напишите номер текстом]")
        self._write("\n".join(lines))
