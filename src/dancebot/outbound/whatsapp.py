"""The WhatsApp sender: Cloud API `POST {WHATSAPP_API_BASE_URL}/{WHATSAPP_PHONE_NUMBER_ID}/messages` with httpx
(PRODUCT.md §10, §10.3).

A job becomes a text message, or — where Telegram shows inline buttons — interactive reply buttons (at most
3, titles ≤ 20 characters) or, when they do not fit, a list (≤ 10 rows). One job is one send, so the
queue's shared limit of 80 WhatsApp sends a second (`ratelimit.py`) holds for every worker together.

Outside the client's 24-hour window (`window.py`) only templates go out: a job that carries an approved
template (`WHATSAPP_APPROVED_TEMPLATES`) is sent as that template; any other goes to the client's Telegram
chat when their phone links one (`links.py`), or else is a dead letter and the admin is told.

Meta's error codes map into `SendError`:
├── 131047 (window closed)          → the template or the fallback above, not an error
├── 130429, 131056 (rate limits)    → retry later
├── 131026, 132001, 100, 190, 4xx   → permanent: dead letter at once
└── 5xx, timeouts, network          → retry (0 s → 5 s → 30 s)
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from dancebot.channels.handles import format_handle
from dancebot.logs import get_logger
from dancebot.outbound import links, templates, window
from dancebot.outbound.alerts import alert_admin
from dancebot.outbound.messages import Button, OutboundJob
from dancebot.outbound.queue import enqueue
from dancebot.outbound.senders import SendError
from dancebot.outbound.whatsapp_status import WINDOW_CLOSED, remember_sent
from dancebot.runtime import Runtime
from dancebot.transport import outside_transport

__all__ = [
    "MAX_BUTTON_TITLE",
    "MAX_LIST_ROWS",
    "MAX_REPLY_BUTTONS",
    "PERMANENT",
    "RETRY_LATER",
    "WhatsAppSender",
    "build_message",
]

log = get_logger(__name__)

MAX_REPLY_BUTTONS, MAX_BUTTON_TITLE = 3, 20
MAX_LIST_ROWS, MAX_ROW_TITLE, MAX_ROW_DESCRIPTION, MAX_LIST_BUTTON = 10, 24, 72, 20
RETRY_LATER = {130429: 1.0, 131056: 6.0}  # throughput; pair rate limit (one client, ~1 message / 6 s)
PERMANENT = frozenset(
    {100, 190, 131008, 131009, 131026, 132000, 132001, 132005, 132007, 132012, 132015, 132016, 132018}
)
_CYRILLIC = re.compile("[А-Яа-яЁё]")


class _WindowClosed(Exception):
    """Meta refused a free-form message: the client's 24-hour window is closed."""


# ---- the message a job becomes -------------------------------------------------------------------------


def build_message(job: OutboundJob) -> dict[str, Any]:
    """The Cloud API body for `job`: text, reply buttons, or a list when the buttons do not fit."""
    base: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": str(job.chat_id)}
    buttons = [b for row in job.buttons for b in row]
    if not buttons:
        return {**base, "type": "text", "text": {"preview_url": False, "body": job.text}}
    body = {"text": job.text or "…"}
    if len(buttons) <= MAX_REPLY_BUTTONS and all(len(b.text) <= MAX_BUTTON_TITLE for b in buttons):
        replies = [{"type": "reply", "reply": {"id": b.data, "title": b.text}} for b in buttons]
        interactive = {"type": "button", "body": body, "action": {"buttons": replies}}
    else:
        if len(buttons) > MAX_LIST_ROWS:
            log.warning("whatsapp.too_many_choices", shown=MAX_LIST_ROWS, dropped=len(buttons) - MAX_LIST_ROWS)
        label = "Выбрать" if _CYRILLIC.search(job.text) else "Choose"
        rows = [_row(b) for b in buttons[:MAX_LIST_ROWS]]
        interactive = {"type": "list", "body": body, "action": {"button": label, "sections": [{"rows": rows}]}}
    return {**base, "type": "interactive", "interactive": interactive}


def _row(button: Button) -> dict[str, str]:
    """A list row: the label as its title; a longer one is split at its last comma into title and
    description, or its title is cut at a word and the description holds the whole label."""
    text = button.text
    if len(text) <= MAX_ROW_TITLE:
        return {"id": button.data, "title": text}
    head, sep, tail = text.rpartition(", ")
    if sep and len(head) <= MAX_ROW_TITLE:
        return {"id": button.data, "title": head, "description": tail[:MAX_ROW_DESCRIPTION]}
    cut = text.rfind(" ", 0, MAX_ROW_TITLE - 1)
    title = text[: cut if cut > 0 else MAX_ROW_TITLE - 1].rstrip(" ,") + "…"
    return {"id": button.data, "title": title, "description": text[:MAX_ROW_DESCRIPTION]}


# ---- the sender ----------------------------------------------------------------------------------------


class WhatsAppSender:
    def __init__(self, rt: Runtime, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        settings = rt.settings
        settings.require("whatsapp_access_token", "whatsapp_phone_number_id")
        self._rt = rt
        self._token = settings.required_secret("whatsapp_access_token")
        self._url = f"{settings.whatsapp_api_base_url}/{settings.whatsapp_phone_number_id}/messages"
        self._approved = settings.whatsapp_templates
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=httpx.Timeout(10.0, connect=5.0),
            transport=self._transport or outside_transport(),
            trust_env=self._transport is None,
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send(self, job: OutboundJob) -> None:
        if job.kind != "message":
            return  # WhatsApp has no tap acknowledgements
        if not await window.is_open(self._rt.redis, job.chat_id):
            await self._outside_window(job, "no message from the client in the last 24 h")
            return
        try:
            wamid = await self._post(build_message(job))
        except _WindowClosed:
            await window.close(self._rt.redis, job.chat_id)
            await self._outside_window(job, "Meta: the 24 h window is closed (131047)")
            return
        await remember_sent(self._rt, wamid, job)

    async def _outside_window(self, job: OutboundJob, why: str) -> None:
        call = job.template
        if call is not None and call.name in self._approved:
            try:
                wamid = await self._post(templates.payload(str(job.chat_id), call))
            except _WindowClosed as exc:  # templates are exactly what the window allows
                raise SendError(f"whatsapp refused template {call.name} as out of window", permanent=True) from exc
            await remember_sent(self._rt, wamid, job)
            log.info("whatsapp.template_sent", template=call.name, job=job.job_id)
            return
        reason = f"template {call.name} not approved" if call else "no template for this message"
        telegram = await links.telegram_chat_for(
            self._rt.redis, f"+{job.chat_id}", exclude=self._rt.settings.admin_chat_id
        )
        if telegram is not None:
            await self._via_telegram(job, telegram)
            log.info("whatsapp.fallback_telegram", job=job.job_id, purpose=job.purpose, why=why, reason=reason)
            return
        handle = format_handle("whatsapp", job.chat_id)
        await alert_admin(
            self._rt,
            f"wa_undelivered:{job.chat_id}",
            f"⚠️ Не доставлено в WhatsApp {handle}: клиент не писал больше суток, "
            f"{'шаблон ' + call.name + ' не одобрен' if call else 'шаблона для такого сообщения нет'}, "
            f"Telegram по этому номеру не найден.\nТекст: «{job.text[:500]}»",
            job.trace_id,
        )
        raise SendError(f"whatsapp: {why}; {reason}; no Telegram chat for the phone", permanent=True)

    async def _via_telegram(self, job: OutboundJob, chat_id: int) -> None:
        moved = OutboundJob(
            chat_id=chat_id, channel="telegram", text=job.text, purpose=job.purpose, trace_id=job.trace_id,
            state=job.state,
        )  # fmt: skip
        await enqueue(self._rt.redis, moved)
        await self._rt.audit.message(
            trace_id=job.trace_id, channel="telegram", chat_id=chat_id, direction="out", text=job.text,
            state="WA_FALLBACK",
        )  # fmt: skip

    async def _post(self, body: dict[str, Any]) -> str:
        """Send one message; its wamid, or the mapped error."""
        if self._http is None:
            raise SendError("whatsapp sender not started")
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.TimeoutException as exc:
            raise SendError("whatsapp timeout") from exc
        except httpx.HTTPError as exc:
            raise SendError(f"whatsapp unreachable: {type(exc).__name__}") from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code == 200 and isinstance(data, dict):
            try:
                return str(data["messages"][0]["id"])
            except (KeyError, IndexError, TypeError) as exc:
                raise SendError("whatsapp answered 200 without a message id") from exc
        raise _map_error(response.status_code, data)


def _map_error(status: int, data: Any) -> Exception:
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        kind = f"whatsapp HTTP {status} without an error object"
        return SendError(kind) if status >= 500 or status == 429 else SendError(kind, permanent=True)
    try:
        code = int(error.get("code", 0))
    except (TypeError, ValueError):
        code = 0
    details = error.get("error_data", {}).get("details", "") if isinstance(error.get("error_data"), dict) else ""
    message = f"whatsapp {code}: {error.get('message', '')}"
    if details and details not in message:
        message += f" ({details})"
    if code == WINDOW_CLOSED:
        return _WindowClosed(message)
    if code in RETRY_LATER:
        return SendError(message, retry_after=RETRY_LATER[code])
    if code in PERMANENT:
        return SendError(message, permanent=True)
    if status >= 500 or status == 429:
        return SendError(message)
    return SendError(message, permanent=True)
