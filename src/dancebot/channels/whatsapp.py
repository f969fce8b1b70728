"""WhatsApp inbound (Cloud API): the verify token, the body signature and the payload → `UnifiedMessage`
(PRODUCT.md §4, §4.3).

Meta POSTs `{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value":
{"metadata", "contacts", "messages", "statuses"}}]}]}`. Every message becomes one `UnifiedMessage`, in
payload order: the chat is the sender's number (`chat_id = int(from)`), `sender_phone` is it in E.164, the
wamid is the `message_id` the gate deduplicates on. Reply-button and list taps are button taps (their id is
the callback data); a tap on a template's quick-reply button reads as the words on it. Media, locations and
contact cards get the "text only" reply; reactions and system notices are not messages anyone answers.
Statuses (sent, delivered, read, failed) of what we sent come back as `Status`.

Nothing here does I/O; `web/whatsapp.py` checks, parses and hands on.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dancebot.channels.message import MESSAGE_ID_MAX, MessageType, UnifiedMessage

__all__ = [
    "SIGNATURE_HEADER",
    "InvalidPayload",
    "Payload",
    "Status",
    "StatusError",
    "parse_payload",
    "signature_matches",
    "token_matches",
]

SIGNATURE_HEADER = "x-hub-signature-256"
_MEDIA: dict[str, MessageType] = {
    "image": "photo",
    "sticker": "sticker",
    "video": "video",
    "document": "document",
    "location": "location",
    "contacts": "other",  # a contact card may be anyone's: the sender's own number is known anyway
    "unsupported": "other",
    "order": "other",
}
_SILENT = frozenset({"reaction", "system", "request_welcome"})  # nothing a client expects an answer to


class InvalidPayload(ValueError):
    """JSON that is not a Cloud API webhook payload."""


def signature_matches(body: bytes, header: str | None, app_secret: str) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, compared in constant time."""
    if not header:
        return False
    expected = "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().lower().encode(), expected.encode())


def token_matches(received: str | None, expected: str) -> bool:
    """The `hub.verify_token` of Meta's verification GET, compared in constant time."""
    return received is not None and hmac.compare_digest(received.encode(), expected.encode())


# ---- the payload as Meta sends it (only what we read; the rest is ignored) ------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class StatusError(_Model):
    code: int
    title: str = ""
    details: str = ""

    @classmethod
    def of(cls, raw: dict[str, Any]) -> StatusError:
        data = raw.get("error_data") if isinstance(raw.get("error_data"), dict) else {}
        return cls(code=int(raw.get("code", 0)), title=str(raw.get("title") or raw.get("message") or ""),
                   details=str((data or {}).get("details", "")))  # fmt: skip


class Status(_Model):
    """What became of a message we sent: `sent`, `delivered`, `read` or `failed` (with its errors)."""

    wamid: str = Field(alias="id")
    status: str
    timestamp: int = 0
    recipient_id: str = ""
    errors: tuple[StatusError, ...] = ()


_LAST_TIMESTAMP = 32_503_680_000  # 3000-01-01: no real message, and still a datetime


class _Profile(_Model):
    name: str | None = None


class _Contact(_Model):
    wa_id: str
    profile: _Profile = Field(default_factory=_Profile)


class _Message(_Model):
    sender: str = Field(alias="from")
    id: str = Field(min_length=1, max_length=MESSAGE_ID_MAX)
    timestamp: int = Field(ge=0, le=_LAST_TIMESTAMP)  # beyond either end `datetime` cannot hold it
    type: str
    text: dict[str, Any] | None = None
    interactive: dict[str, Any] | None = None
    button: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    video: dict[str, Any] | None = None
    document: dict[str, Any] | None = None


class _Metadata(_Model):
    phone_number_id: str = ""
    display_phone_number: str = ""


class _Value(_Model):
    metadata: _Metadata = Field(default_factory=_Metadata)
    contacts: list[_Contact] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)
    statuses: list[dict[str, Any]] = Field(default_factory=list)


class _Change(_Model):
    field: str
    value: dict[str, Any] = Field(default_factory=dict)


class _Entry(_Model):
    id: str = ""
    changes: list[_Change] = Field(default_factory=list)


class _Envelope(_Model):
    object: str
    entry: list[_Entry]


class Payload(BaseModel):
    """One webhook delivery: its messages in order, its statuses, and how many items were skipped."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[UnifiedMessage, ...] = ()
    statuses: tuple[Status, ...] = ()
    skipped: int = 0  # silent kinds, other phone numbers' traffic, items we could not read


# ---- mapping ---------------------------------------------------------------------------------------------


def parse_payload(data: Any, phone_number_id: str | None = None) -> Payload:
    """Map a webhook payload; items for another of the business's numbers than `phone_number_id` are skipped."""
    try:
        envelope = _Envelope.model_validate(data)
    except ValidationError as exc:
        raise InvalidPayload(f"not a Cloud API payload: {exc.error_count()} problems") from exc
    if envelope.object != "whatsapp_business_account":
        raise InvalidPayload(f"not a WhatsApp payload: object={envelope.object!r}")
    messages: list[UnifiedMessage] = []
    statuses: list[Status] = []
    skipped = 0
    for change in (c for e in envelope.entry for c in e.changes):
        if change.field != "messages":
            skipped += 1  # template reviews, account updates…: nothing for a conversation
            continue
        try:
            value = _Value.model_validate(change.value)
        except ValidationError:
            skipped += 1
            continue
        if phone_number_id and value.metadata.phone_number_id not in ("", phone_number_id):
            skipped += len(value.messages) + len(value.statuses)
            continue
        names = {c.wa_id: c.profile.name for c in value.contacts}
        for raw in value.messages:
            msg = _message(raw, names)
            if msg is None:
                skipped += 1
            else:
                messages.append(msg)
        for raw in value.statuses:
            status = _status(raw)
            if status is None:
                skipped += 1
            else:
                statuses.append(status)
    return Payload(messages=tuple(messages), statuses=tuple(statuses), skipped=skipped)


def _status(raw: dict[str, Any]) -> Status | None:
    try:
        errors = [StatusError.of(e) for e in raw.get("errors") or () if isinstance(e, dict)]
        return Status.model_validate({**raw, "errors": errors})
    except (ValidationError, ValueError):
        return None


def _message(raw: dict[str, Any], names: dict[str, str | None]) -> UnifiedMessage | None:
    try:
        m = _Message.model_validate(raw)
    except ValidationError:
        return None
    if not (m.sender.isdigit() and len(m.sender) <= 15) or m.type in _SILENT:  # E.164: at most 15 digits
        return None
    kind, text, data = _content(m)
    name = names.get(m.sender)
    return UnifiedMessage(
        channel="whatsapp",
        chat_id=int(m.sender),
        message_id=m.id,
        timestamp=datetime.fromtimestamp(m.timestamp, UTC),
        text=text,
        message_type=kind,
        sender_phone=f"+{m.sender}",
        callback_data=data,
        first_name=name.split()[0] if name and name.split() else None,
    )


def _content(m: _Message) -> tuple[MessageType, str | None, str | None]:
    """(message type, text, callback data) of one message."""
    if m.type == "text":
        body = str((m.text or {}).get("body", ""))
        return "text", body, None
    if m.type == "interactive":
        inner = m.interactive or {}
        reply = inner.get(str(inner.get("type", "")))
        if inner.get("type") in ("button_reply", "list_reply") and isinstance(reply, dict) and reply.get("id"):
            return "callback", None, str(reply["id"])
        return "other", None, None
    if m.type == "button":  # a template's quick-reply button: the client "said" what is written on it
        tapped = m.button or {}
        return "text", str(tapped.get("text") or tapped.get("payload") or ""), None
    if m.type == "audio":
        return ("voice" if (m.audio or {}).get("voice") else "audio"), None, None
    kind = _MEDIA.get(m.type, "other")
    media = {"image": m.image, "video": m.video, "document": m.document}.get(m.type) or {}
    caption = media.get("caption")
    return kind, (str(caption) if caption else None), None
