"""Builders of real Cloud API webhook JSON, as Meta POSTs it to `/webhook/whatsapp`, and its signature.

Used by `dancebot chat --channel whatsapp` (each typed line becomes a real payload) and by the tests and
the fake Graph API. Timestamps default to now: the webhook drops messages older than five minutes
(PRODUCT.md §4.2). Message builders return one item of `value.messages[]`; `payload()` wraps items in the
envelope with the senders' `contacts[]`; `sign()` gives the `X-Hub-Signature-256` header value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "BUSINESS_NUMBER",
    "PHONE_NUMBER_ID",
    "WABA_ID",
    "button_reply",
    "list_reply",
    "location",
    "media",
    "new_wamid",
    "payload",
    "reaction",
    "sign",
    "status",
    "template_button",
    "text",
]

Json = dict[str, Any]
WABA_ID = "102290129340398"  # the business account of the examples; tests may pass their own
PHONE_NUMBER_ID = "106540352242922"
BUSINESS_NUMBER = "79242000000"  # the studio's WhatsApp number


def new_wamid(wa_id: str = BUSINESS_NUMBER) -> str:
    """A message id shaped like Meta's: `wamid.` + base64 of the number and a random hex id."""
    raw = (
        b"\x1c\x18"
        + bytes([len(wa_id)])
        + wa_id.encode()
        + b"\x15\x02\x00\x12\x18\x14"
        + secrets.token_hex(10).upper().encode()
        + b"\x00"
    )
    return "wamid." + base64.b64encode(raw).decode()


def _base(wa_id: str, kind: str, ts: int | None, wamid: str | None, context: str | None) -> Json:
    item: Json = {
        "from": wa_id,
        "id": wamid or new_wamid(wa_id),
        "timestamp": str(ts or int(time.time())),
        "type": kind,
    }
    if context:
        item["context"] = {"from": BUSINESS_NUMBER, "id": context}
    return item


def text(wa_id: str, body: str, *, ts: int | None = None, wamid: str | None = None) -> Json:
    return {**_base(wa_id, "text", ts, wamid, None), "text": {"body": body}}


def button_reply(wa_id: str, button_id: str, title: str, *, context: str | None = None, ts: int | None = None) -> Json:
    """A tap on one of our interactive reply buttons."""
    item = _base(wa_id, "interactive", ts, None, context or new_wamid())
    return {**item, "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}}


def list_reply(
    wa_id: str, row_id: str, title: str, description: str = "", *, context: str | None = None, ts: int | None = None
) -> Json:
    """A choice from one of our interactive lists."""
    chosen = {"id": row_id, "title": title, **({"description": description} if description else {})}
    item = _base(wa_id, "interactive", ts, None, context or new_wamid())
    return {**item, "interactive": {"type": "list_reply", "list_reply": chosen}}


def template_button(wa_id: str, label: str, payload: str | None = None, *, ts: int | None = None) -> Json:
    """A tap on a template's quick-reply button (its payload is the label unless one was set)."""
    return {**_base(wa_id, "button", ts, None, new_wamid()), "button": {"payload": payload or label, "text": label}}


_MEDIA: Mapping[str, tuple[str, Json]] = {
    "voice": ("audio", {"mime_type": "audio/ogg; codecs=opus", "voice": True}),
    "audio": ("audio", {"mime_type": "audio/mpeg", "voice": False}),
    "image": ("image", {"mime_type": "image/jpeg"}),
    "sticker": ("sticker", {"mime_type": "image/webp", "animated": False}),
    "video": ("video", {"mime_type": "video/mp4"}),
    "document": ("document", {"mime_type": "application/pdf", "filename": "справка.pdf"}),
}


def media(wa_id: str, kind: str, *, caption: str | None = None, ts: int | None = None) -> Json:
    """`voice`, `audio`, `image`, `sticker`, `video` or `document`, with Meta's media fields."""
    wire, fields = _MEDIA[kind]
    body = {**fields, "id": str(secrets.randbelow(10**15)), "sha256": secrets.token_urlsafe(32)}
    if caption and wire in ("image", "video", "document"):
        body["caption"] = caption
    return {**_base(wa_id, wire, ts, None, None), wire: body}


def location(wa_id: str, *, ts: int | None = None) -> Json:
    place = {"latitude": 43.1155, "longitude": 131.8855, "name": "Светланская, 29", "address": "Владивосток"}
    return {**_base(wa_id, "location", ts, None, None), "location": place}


def reaction(wa_id: str, to_wamid: str, emoji: str = "👍", *, ts: int | None = None) -> Json:
    return {**_base(wa_id, "reaction", ts, None, None), "reaction": {"message_id": to_wamid, "emoji": emoji}}


def status(
    wamid: str, recipient: str, state: str, *, code: int | None = None, title: str = "", ts: int | None = None
) -> Json:
    """A status of a message we sent; `failed` carries `errors[]` with the code."""
    item: Json = {"id": wamid, "status": state, "timestamp": str(ts or int(time.time())), "recipient_id": recipient}
    if state in ("sent", "delivered"):
        item["conversation"] = {"id": secrets.token_hex(16), "origin": {"type": "service"}}
        item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    if code is not None:
        item["errors"] = [
            {"code": code, "title": title or str(code), "message": title or str(code),
             "error_data": {"details": title or str(code)}, "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}
        ]  # fmt: skip
    return item


def payload(
    messages: Iterable[Json] = (),
    statuses: Iterable[Json] = (),
    *,
    names: Mapping[str, str] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
    waba_id: str = WABA_ID,
) -> Json:
    """The envelope Meta POSTs; `names` are the senders' profile names (`contacts[]`)."""
    items, states = list(messages), list(statuses)
    value: Json = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS_NUMBER, "phone_number_id": phone_number_id},
    }
    senders = dict.fromkeys(m["from"] for m in items)
    if senders:
        value["contacts"] = [{"profile": {"name": (names or {}).get(s, "Анна")}, "wa_id": s} for s in senders]
        value["messages"] = items
    if states:
        value["statuses"] = states
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}],
    }


def sign(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` header Meta sends with `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
