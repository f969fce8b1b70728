"""A WhatsApp client of the running bot: signed Cloud API payloads into `dancebot serve`, the replies of
each turn as they reach the fake Graph API, the fake Impulse CRM's reservations.

Every reply is checked against PRODUCT.md §5.5 with WhatsApp's 200 characters. Each message the client
sends is first noted by the fake (Meta saw the client write, so their 24-hour window is open).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import time
from collections import deque
from typing import Any

import httpx

from dancebot.channels import whatsapp_payloads as wa
from dancebot.channels.telegram_updates import text_update
from dancebot.crm.fake import FakeImpulse
from dancebot.crm.models import normalize_phone
from tests.conftest import ADMIN_CHAT_ID, Servers, with_redis_db
from tests.conversations.harness import SPAM_LIMIT, SPAM_WINDOW, Booked, check_reply
from tests.e2e.stack import Stack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import FakeWhatsApp, SentWhatsApp

__all__ = [
    "APPROVED",
    "WA_LIMIT",
    "WA_SECRET",
    "WA_TOKEN",
    "WA_VERIFY",
    "WaClient",
    "check_wa_reply",
    "new_number",
    "post_signed",
    "wa_redis_url",
]

WA_TOKEN = "EAAGm0PX4ZCpsBAtest-whatsapp-access-token"
WA_SECRET = "whatsapp-app-secret-for-tests-9d2e"
WA_VERIFY = "whatsapp-verify-token-for-tests-51b7"
APPROVED = "lesson_reminder_24h,lesson_reminder_2h"  # the stack's; booking_confirm still awaits Meta
WA_LIMIT = 200
QUIET = 0.15
TURN_TIMEOUT = 15.0
_admin_ids = itertools.count(900_000_001)
_numbers = itertools.count(1)


def new_number() -> str:
    """A WhatsApp number (digits, as Meta sends `from`) no other test of the session uses: +7 953 7xx-xx-xx."""
    return f"79537{next(_numbers):06d}"


def wa_redis_url(servers: Servers) -> str:
    """The WhatsApp stack's own Redis database: 15, 14… per xdist worker (the other stacks use 0–5)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    return with_redis_db(servers.redis_url, 11 - worker)  # 11, 10: admin takes 15–12, the second studio 9, 8


def check_wa_reply(text: str) -> None:
    check_reply(text)  # ≤ 2 emoji, one question, no talk of being an AI (and ≤ 300)
    assert len(text) <= WA_LIMIT, f"{len(text)} characters > {WA_LIMIT} on WhatsApp: {text!r}"


def post_signed(stack: Stack, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return httpx.post(f"{stack.base_url}/webhook/whatsapp", content=body, headers=headers, timeout=30)


class WaClient:
    """One WhatsApp number writing to the studio, like a real client."""

    def __init__(
        self, stack: Stack, fake: FakeWhatsApp, tg: FakeTelegram, crm: FakeImpulse, number: str, app_secret: str,
        *, name: str = "Анна",
    ) -> None:  # fmt: skip
        self.stack, self.fake, self.tg, self.crm = stack, fake, tg, crm
        self.number, self.name, self.app_secret = number, name, app_secret
        self.e164 = f"+{number}"
        self.transcript: list[str] = []
        self.last_replies: list[SentWhatsApp] = []
        self.replies: list[SentWhatsApp] = []  # everything the client received
        self._sent_at: deque[float] = deque()
        self._tg_start = tg.sent[-1].seq if tg.sent else 0

    # ---- what the client does -------------------------------------------------------------------

    async def say(self, text: str, *, silent: bool = False) -> list[str]:
        await self._pace()
        return await self.send(wa.text(self.number, text), f"> {text}", silent=silent)

    async def tap(self, n: int) -> list[str]:
        """Choose option `n` (1-based) of the reply buttons or list under the last reply."""
        message = self._last_with_choices()
        assert 1 <= n <= len(message.choices), f"no choice {n} in {message.choices}"
        return await self._choose(message, *message.choices[n - 1])

    async def tap_label(self, part: str) -> list[str]:
        message = self._last_with_choices()
        hits = [c for c in message.choices if part.lower() in c[1].lower()]
        assert len(hits) == 1, f"{len(hits)} choices with {part!r} in {message.choices}"
        return await self._choose(message, *hits[0])

    async def send(self, item: dict[str, Any], label: str, *, silent: bool = False) -> list[str]:
        """Any message item (`whatsapp_payloads` builders) as one webhook delivery; the replies to it."""
        return await self.send_many([item], label, silent=silent)

    async def send_many(self, items: list[dict[str, Any]], label: str, *, silent: bool = False) -> list[str]:
        since = self.fake.last_seq()
        self.transcript.append(label)
        response = await self.post(wa.payload(items, names={self.number: self.name}))
        assert response.status_code == 200, response.text
        results = response.json().get("results")
        dropped = {"replay", "duplicate", "spam", "ignored"} & set(results or ())
        assert len(results) == len(items) and not dropped, f"the webhook dropped a message ({results}):\n{self.dump()}"
        if silent:
            await self._until_quiet(since)
        else:
            try:
                await self.fake.wait_for(self.number, 1, TURN_TIMEOUT, since=since)
            except TimeoutError as exc:
                raise AssertionError(f"no reply within {TURN_TIMEOUT}s:\n{self.dump()}") from exc
            await self._until_quiet(since)
        found = self.fake.sent_to(self.number, since)
        assert not (silent and found), f"the bot answered while it should stay quiet: {[m.text for m in found]}"
        self._record(found)
        return [m.text for m in found]

    async def post(self, payload: dict[str, Any], *, signature: str | None = "sign") -> httpx.Response:
        """POST as Meta does (the fake notes that the client wrote); `signature=None` sends no header."""
        for item in (m for e in payload["entry"] for c in e["changes"] for m in c["value"].get("messages", [])):
            self.fake.note_inbound(item["from"], float(item["timestamp"]))
        raw = json.dumps(payload, ensure_ascii=False).encode()
        header = wa.sign(raw, self.app_secret) if signature == "sign" else signature
        return await asyncio.to_thread(post_signed, self.stack, raw, header)

    async def admin(self, command: str) -> list[str]:
        """The administrator writes in the admin chat (Telegram); what reached this client as a result."""
        since, tg_since = self.fake.last_seq(), self.tg.sent[-1].seq if self.tg.sent else 0
        n = next(_admin_ids)
        update = text_update(self.stack.next_id(), ADMIN_CHAT_ID, n, command, first_name="Админ")
        response = await asyncio.to_thread(self.stack.post, update)
        assert response.status_code == 200, response.text
        await self.tg.wait_for(ADMIN_CHAT_ID, 1, TURN_TIMEOUT, since=tg_since)  # the admin's confirmation
        await self._until_quiet(since)
        found = self.fake.sent_to(self.number, since)
        self.transcript.append(f"[admin] {command}")
        self._record(found)
        return [m.text for m in found]

    # ---- what the client and the studio see -----------------------------------------------------

    @property
    def last_choices(self) -> list[tuple[str, str]]:
        for m in reversed(self.last_replies):
            if m.choices:
                return list(m.choices)
        return []

    def admin_messages(self) -> list[str]:
        """What reached the admin chat since this client started, about this client."""
        return [m.text for m in self.tg.sent_to(ADMIN_CHAT_ID, self._tg_start) if self.number in m.text]

    def reservations(self) -> list[Booked]:
        ids = {cid for cid, c in list(self.crm.clients.items()) if self.e164 in _phones(c.get("phone"))}
        found = []
        for r in list(self.crm.reservations.values()):
            if r["client"]["id"] in ids and not r["deleted"] and not r["archived"]:
                day = dt.datetime.fromtimestamp(r["date"], dt.UTC).date()
                minutes = r["schedule"]["minutesBegin"]
                found.append(Booked(r["schedule"]["id"], day.isoformat(), f"{minutes // 60:02d}:{minutes % 60:02d}"))
        return sorted(found, key=lambda b: (b.day, b.time))

    def dump(self) -> str:
        return "\n".join(self.transcript)

    # ---- plumbing -------------------------------------------------------------------------------

    def _last_with_choices(self) -> SentWhatsApp:
        message = next((m for m in reversed(self.last_replies) if m.choices), None)
        assert message is not None, f"no buttons or list under the last reply:\n{self.dump()}"
        return message

    async def _choose(self, message: SentWhatsApp, choice_id: str, title: str) -> list[str]:
        if message.kind == "button":
            item = wa.button_reply(self.number, choice_id, title, context=message.wamid)
        else:
            item = wa.list_reply(self.number, choice_id, title, context=message.wamid)
        return await self.send(item, f"> [{title}]")

    def _record(self, found: list[SentWhatsApp]) -> None:
        for m in found:
            shown = m.text + "".join(f"\n   [{title}]" for _, title in m.choices)
            self.transcript.append(f"< {shown}")
        for m in found:
            try:
                check_wa_reply(m.text)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{self.dump()}") from None
        self.replies += found
        if found:
            self.last_replies = found

    async def _pace(self) -> None:
        """≤ 5 typed messages per rolling 10 s, as the webhook's spam limit demands."""
        now = time.monotonic()
        while self._sent_at and now - self._sent_at[0] > SPAM_WINDOW:
            self._sent_at.popleft()
        if len(self._sent_at) >= SPAM_LIMIT:
            await asyncio.sleep(SPAM_WINDOW - (now - self._sent_at[0]))
            self._sent_at.popleft()
        self._sent_at.append(time.monotonic())

    async def _until_quiet(self, since: int) -> None:
        deadline = time.monotonic() + TURN_TIMEOUT
        while not await asyncio.to_thread(self.stack.outbound_drained) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        count = len(self.fake.sent_to(self.number, since))
        while True:
            await asyncio.sleep(QUIET)
            if (now := len(self.fake.sent_to(self.number, since))) == count:
                return
            count = now


def _phones(raw: Any) -> set[str]:
    values = raw if isinstance(raw, list) else [raw]
    return {p for p in map(normalize_phone, values) if p}
