"""A client of the running bot for whole conversations: real update JSON into `dancebot serve`, the
replies of each turn as they reach the fake Telegram Bot API, the fake Impulse CRM's reservations.

Every reply a client receives is checked against the hard rules of PRODUCT.md §5.5 by
`check_reply`, so no conversation can pass with a long, emoji-laden or double-question message.
The webhook drops more than 5 messages in 10 s from one chat (PRODUCT.md §4); `Client` paces itself below
that, so a slow test is a long conversation, never a dropped message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import re
import time
from collections import deque
from typing import Any, NamedTuple

from dancebot.channels.telegram_updates import callback_update, contact_update, edited_update, text_update
from dancebot.crm.fake import FakeImpulse
from dancebot.crm.models import normalize_phone
from tests.conftest import ADMIN_CHAT_ID
from tests.e2e.stack import Stack
from tests.fakes.telegram import FakeTelegram, SentMessage

__all__ = [
    "CENTER",
    "GOGOLYA",
    "Booked",
    "Client",
    "assert_receipt",
    "assert_summary",
    "check_reply",
    "shows_phone",
    "text_of",
]

MAX_LENGTH = 300  # Telegram (PRODUCT.md §5.5)
MAX_EMOJI = 2
SPAM_LIMIT, SPAM_WINDOW = 5, 10.4  # the gate's 5 per 10 s, with a margin for clock skew between processes
QUIET = 0.15  # a turn is over when nothing more arrived for this long
TURN_TIMEOUT = 15.0

# Pictographs as a client sees them; plain marks such as ✓ (U+2713) are text, not emoji.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u26ff\u2705\u2714\u2716\u2728\u2733\u2734\u2744\u2747\u274c\u274e"
    "\u2753-\u2755\u2757\u2763\u2764\u2795-\u2797\u27a1\u27b0\u27bf\u23e9-\u23fa\u2b50\u2b55\u203c\u2049]"
)
_AI_TALK = re.compile(r"как\s+ии\b|\bии\b|\bAI\b|искусственн\w*\s+интеллект|языков\w*\s+модел|as an ai", re.I)
_message_ids = itertools.count(1)
# The shared stack's chat ids, here rather than in conftest.py: a conftest imported again by another folder
# (tests/admin) is a second module with a second counter, and two tests would talk in one chat.
CHAT_IDS = itertools.count(6_100_001)  # the phone of a client is derived from its chat id
CENTER = "ул. Светланская, 29"  # the branch addresses a summary and a receipt must carry
GOGOLYA = "ул. Гоголя, 41"


class Booked(NamedTuple):
    """One active reservation as the studio sees it: which weekly template, which day, what time."""

    schedule_id: int
    day: str  # ISO date, e.g. "2026-12-03"
    time: str  # "HH:MM"


def check_reply(text: str) -> None:
    """PRODUCT.md §5.5: ≤ 300 characters, ≤ 2 emoji, one question per message, no talk of being an AI."""
    assert len(text) <= MAX_LENGTH, f"{len(text)} characters > {MAX_LENGTH}: {text!r}"
    emoji = _EMOJI.findall(text)
    assert len(emoji) <= MAX_EMOJI, f"{len(emoji)} emoji {emoji}: {text!r}"
    assert text.count("?") <= 1, f"more than one question: {text!r}"
    assert not _AI_TALK.search(text), f"talks about being an AI: {text!r}"


def text_of(replies: list[str]) -> str:
    """All messages of one turn as the client reads them."""
    return "\n".join(replies)


def shows_phone(text: str, e164: str) -> bool:
    """Some line of `text` is the phone, however it is formatted (+7 953 570-00-02)."""
    return any(e164[2:] in re.sub(r"\D", "", line) for line in text.splitlines())


def assert_summary(reply: str, *, name: str, phone: str, klass: str, day: str, time: str, where: str) -> None:
    """The mandatory summary (PRODUCT.md §5.5): name, phone, class, weekday + date + time, branch address, one yes."""
    assert klass and where, "say which class and address the summary must show"
    assert "Всё верно?" in reply or "Is that right?" in reply, f"not a summary: {reply!r}"
    assert name in reply and shows_phone(reply, phone), f"name/phone missing: {reply!r}"
    assert klass in reply and where in reply, f"class/address missing: {reply!r}"
    assert re.search(rf"\b{day}\b", reply) and time in reply, f"not {day} {time}: {reply!r}"
    weekday = re.search(r"\b(пн|вт|ср|чт|пт|сб|вс|mon|tue|wed|thu|fri|sat|sun)\b", reply, re.I)
    assert weekday, f"no weekday: {reply!r}"


def assert_receipt(reply: str, *, klass: str, day: str, time: str, where: str) -> None:
    """The receipt (PRODUCT.md §5.5): date, time, group, address, and what to bring."""
    assert "записан" in reply or "booked" in reply, f"not a receipt: {reply!r}"
    assert klass in reply and day in reply and time in reply and where in reply, f"receipt lacks facts: {reply!r}"
    assert "удобную одежду" in reply, f"receipt lacks what to bring: {reply!r}"


class Client:
    """One Telegram chat with the bot, written like a real client; `phone` is unique to the chat."""

    def __init__(
        self, stack: Stack, tg: FakeTelegram, crm: FakeImpulse, chat_id: int, *, phone: str | None = None,
        first_name: str = "Анна", language_code: str = "ru",
    ) -> None:  # fmt: skip
        self.stack, self.tg, self.crm, self.chat_id = stack, tg, crm, chat_id
        self.first_name, self.language_code = first_name, language_code
        national = f"953{chat_id % 10_000_000:07d}"
        e164 = normalize_phone(phone or f"+7{national}")
        assert e164, f"not a phone: {phone}"
        self.e164 = e164
        digits = e164[2:]
        self.phone = f"8{digits}"  # as people type it: 89535000001
        self.phone_pretty = f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
        self.message_ids: list[int] = []  # the client's own messages, for `edit`
        self.transcript: list[str] = []
        self.last_replies: list[SentMessage] = []
        self._sent_at: deque[float] = deque()
        self._start_seq = self._seq()

    # ---- what the client does -------------------------------------------------------------------

    async def say(self, text: str, *, silent: bool = False) -> list[str]:
        """Send a text message; the bot's replies to it (none expected when `silent`)."""
        message_id = next(_message_ids)
        self.message_ids.append(message_id)
        await self._pace()
        update = text_update(self.stack.next_id(), self.chat_id, message_id, text, **self._sender())
        return await self._turn(f"> {text}", update, silent=silent)

    async def tap(self, n: int) -> list[str]:
        """Press button `n` (1-based, rows read left to right) of the last reply's inline keyboard."""
        buttons = self.last_buttons
        assert 1 <= n <= len(buttons), f"no button {n} in {buttons}"
        return await self._press(*buttons[n - 1])

    async def tap_label(self, part: str) -> list[str]:
        """Press the button whose label contains `part` (e.g. a date "04.12")."""
        hits = [b for b in self.last_buttons if part.lower() in b[0].lower()]
        assert len(hits) == 1, f"{len(hits)} buttons with {part!r} in {self.last_buttons}"
        return await self._press(*hits[0])

    async def edit(self, message_id: int, text: str) -> list[str]:
        """The client edits an earlier message of theirs (Telegram `edited_message`)."""
        await self._pace()
        update = edited_update(self.stack.next_id(), self.chat_id, message_id, text, **self._sender())
        return await self._turn(f"> (edit #{message_id}) {text}", update)

    async def share_contact(self, phone: str | None = None) -> list[str]:
        """Tap "share my number": Telegram sends the number without a plus."""
        await self._pace()
        number = (phone or self.e164).lstrip("+")
        update = contact_update(self.stack.next_id(), self.chat_id, next(_message_ids), number, **self._sender())
        return await self._turn(f"> [contact {number}]", update)

    async def tap_on(self, message: SentMessage, part: str) -> list[str]:
        """Press the button whose label contains `part` under an earlier reply, as the client saw it then
        (a stale keyboard: the step it belonged to may be over)."""
        hits = [b for b in _inline_buttons(message.reply_markup) if part.lower() in b[0].lower()]
        assert len(hits) == 1, f"{len(hits)} buttons with {part!r} in {_inline_buttons(message.reply_markup)}"
        return await self._press_on(message, *hits[0])

    async def share_contact_card(self, phone: str, *, owner_id: int | None = None) -> list[str]:
        """Share a contact card that is NOT the sender's own number (someone else's, forwarded from the
        address book): its `user_id` is `owner_id`, or absent when that person is not on Telegram."""
        await self._pace()
        number = phone.lstrip("+")
        update = contact_update(self.stack.next_id(), self.chat_id, next(_message_ids), number, **self._sender())
        contact = update["message"]["contact"]
        contact["first_name"] = "Мария"
        if owner_id is None:
            del contact["user_id"]
        else:
            contact["user_id"] = owner_id
        return await self._turn(f"> [contact card {number}]", update)

    async def tap_stale(self, message: SentMessage, part: str) -> str:
        """Press a button of an earlier reply whose step may be over; what the client sees in answer: a
        message, or the text of the tap's answer (a toast), whichever the bot chose."""
        hits = [b for b in _inline_buttons(message.reply_markup) if part.lower() in b[0].lower()]
        assert len(hits) == 1, f"{len(hits)} buttons with {part!r} in {_inline_buttons(message.reply_markup)}"
        label, data = hits[0]
        since, callback_id = self._seq(), f"cb-{self.chat_id}-{next(_message_ids)}"
        update = callback_update(self.stack.next_id(), self.chat_id, message.message_id, data, callback_id,
                                 message_text=message.text, **self._sender())  # fmt: skip
        self.transcript.append(f"> [{label}] (a button of an earlier message)")
        await self._post(update)

        def toast() -> str | None:
            return next((a.text for a in self.tg.callback_answers if a.callback_query_id == callback_id), None)

        deadline = time.monotonic() + TURN_TIMEOUT
        while not (toast() or self.tg.sent_to(self.chat_id, since)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer to the tap within {TURN_TIMEOUT}s:\n{self.dump()}")
            await asyncio.sleep(0.05)
        await self._until_quiet(since)
        found = self.tg.sent_to(self.chat_id, since)
        seen = [f"(toast) {toast()}"] if toast() else []
        self.transcript += [*(f"< {t}" for t in seen), *(f"< {m.text}" for m in found)]
        self._check(found)
        if found:
            self.last_replies = found
        return "\n".join([*(t.removeprefix("(toast) ") for t in seen), *(m.text for m in found)])

    def mark(self) -> int:
        """A point in the chat's history, for `wait_for_message(since=...)`."""
        return self._seq()

    async def wait_for_message(self, part: str, timeout: float, *, since: int | None = None) -> list[str]:
        """Wait for a message containing `part` that the bot sends later on its own (not as the answer
        to a message of the client's); every message that arrived after `since` (default: now), in order."""
        since = self._seq() if since is None else since
        deadline = time.monotonic() + timeout
        while not any(part in m.text for m in self.tg.sent_to(self.chat_id, since)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no message with {part!r} within {timeout}s:\n{self.dump()}")
            await asyncio.sleep(0.1)
        await self._until_quiet(since)
        found = self.tg.sent_to(self.chat_id, since)
        shown = max([since, *(m.seq for m in self.last_replies)])  # a turn's replies are in the transcript
        self.transcript += [f"< (later) {m.text}" for m in found if m.seq > shown]
        self._check(found)
        return [m.text for m in found]

    async def admin(self, command: str) -> list[str]:
        """The studio's administrator writes in the admin chat; what reached this client as a result."""
        since = self._seq()
        update = text_update(self.stack.next_id(), ADMIN_CHAT_ID, next(_message_ids), command, first_name="Админ")
        await self._post(update)
        await self.tg.wait_for(ADMIN_CHAT_ID, 1, TURN_TIMEOUT, since=since)  # the admin's confirmation
        await self._until_quiet(since)
        found = self.tg.sent_to(self.chat_id, since)
        self.transcript += [f"[admin] {command}", *(f"< {m.text}" for m in found)]
        self._check(found)
        return [m.text for m in found]

    # ---- what the client and the studio see -----------------------------------------------------

    @property
    def last_buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of the inline keyboard under the last reply of the last turn."""
        for m in reversed(self.last_replies):
            rows = (m.reply_markup or {}).get("inline_keyboard")
            if rows:
                return [(b["text"], b["callback_data"]) for row in rows for b in row]
        return []

    @property
    def asked_for_contact(self) -> bool:
        """The last reply offers Telegram's "share my number" keyboard button."""
        markup = self.last_replies[-1].reply_markup if self.last_replies else None
        rows = (markup or {}).get("keyboard") or []
        return any(isinstance(b, dict) and b.get("request_contact") for row in rows for b in row)

    def admin_messages(self) -> list[str]:
        """Everything that reached the admin chat since this client started."""
        return [m.text for m in self.tg.sent_to(ADMIN_CHAT_ID, self._start_seq)]

    def reservations(self) -> list[Booked]:
        """The CRM's active reservations of every client with this phone, earliest first."""
        ids = {cid for cid, c in list(self.crm.clients.items()) if self.e164 in _phones(c.get("phone"))}
        found = []
        for r in list(self.crm.reservations.values()):
            if r["client"]["id"] in ids and not r["deleted"] and not r["archived"]:
                day = dt.datetime.fromtimestamp(r["date"], dt.UTC).date()
                minutes = r["schedule"]["minutesBegin"]
                found.append(Booked(r["schedule"]["id"], day.isoformat(), f"{minutes // 60:02d}:{minutes % 60:02d}"))
        return sorted(found, key=lambda b: (b.day, b.time))

    def keyboard_now(self, message: SentMessage) -> list[tuple[str, str]]:
        """The inline buttons `message` shows the client now, after the bot's edits to it."""
        now = next(m for m in self.tg.sent if m.chat_id == self.chat_id and m.message_id == message.message_id)
        return _inline_buttons(now.reply_markup)

    def received(self) -> list[str]:
        """Every message this chat got from the bot so far."""
        return [m.text for m in self.tg.sent_to(self.chat_id, self._start_seq)]

    def crm_requests(self, entity: str, action: str) -> list[dict[str, Any]]:
        """Bodies of the CRM requests `entity/action` about this client (by its CRM client id), e.g.
        ("reservation", "update") = every create the bot sent, ("reservation", "archive") = every cancel."""
        ids = {cid for cid, c in list(self.crm.clients.items()) if self.e164 in _phones(c.get("phone"))}
        mine = {r for r, res in list(self.crm.reservations.items()) if res["client"]["id"] in ids}
        found = []
        for req in list(self.crm.requests):
            if (req.entity, req.action) != (entity, action) or not isinstance(req.body, dict):
                continue
            client = req.body.get("client")
            about = client.get("id") if isinstance(client, dict) else None
            if about in ids or (action == "archive" and req.body.get("id") in mine):
                found.append(req.body)
        return found

    def dump(self) -> str:
        """The conversation so far, for assertion messages."""
        return "\n".join(self.transcript)

    # ---- plumbing -------------------------------------------------------------------------------

    def _sender(self) -> dict[str, Any]:
        return {"first_name": self.first_name, "language_code": self.language_code}

    def _seq(self) -> int:
        return self.tg.sent[-1].seq if self.tg.sent else 0

    async def _press(self, label: str, data: str) -> list[str]:
        message = next(m for m in reversed(self.last_replies) if m.reply_markup)
        return await self._press_on(message, label, data)

    async def _press_on(self, message: SentMessage, label: str, data: str) -> list[str]:
        update = callback_update(self.stack.next_id(), self.chat_id, message.message_id, data,
                                 f"cb-{self.chat_id}-{next(_message_ids)}", message_text=message.text,
                                 **self._sender())  # fmt: skip
        return await self._turn(f"> [{label}]", update)  # taps are not counted by the spam limit

    async def _pace(self) -> None:
        """Keep ≤ 5 typed messages per rolling 10 s in this chat, as the webhook's spam limit demands."""
        now = time.monotonic()
        while self._sent_at and now - self._sent_at[0] > SPAM_WINDOW:
            self._sent_at.popleft()
        if len(self._sent_at) >= SPAM_LIMIT:
            await asyncio.sleep(SPAM_WINDOW - (now - self._sent_at[0]))
            self._sent_at.popleft()
        self._sent_at.append(time.monotonic())

    async def _post(self, update: dict[str, Any]) -> None:
        response = await asyncio.to_thread(self.stack.post, update)
        assert response.status_code == 200, response.text
        result = response.json().get("result")
        assert result in ("pass", None), f"the webhook dropped the update ({result}):\n{self.dump()}"

    async def _turn(self, label: str, update: dict[str, Any], *, silent: bool = False) -> list[str]:
        since = self._seq()
        self.transcript.append(label)
        await self._post(update)
        if silent:
            await asyncio.sleep(0.5)
        else:
            try:
                await self.tg.wait_for(self.chat_id, 1, TURN_TIMEOUT, since=since)
            except TimeoutError as exc:
                raise AssertionError(f"no reply within {TURN_TIMEOUT}s:\n{self.dump()}") from exc
            await self._until_quiet(since)
        found = self.tg.sent_to(self.chat_id, since)
        assert not (silent and found), f"the bot answered while it should stay quiet: {[m.text for m in found]}"
        self.transcript += [f"< {m.text}" for m in found]
        self._check(found)
        if found:
            self.last_replies = found
        return [m.text for m in found]

    def _check(self, found: list[SentMessage]) -> None:
        for m in found:
            try:
                check_reply(m.text)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{self.dump()}") from None

    async def _until_quiet(self, since: int) -> None:
        """Until neither this chat nor the admin chat got anything for `QUIET` s (other chats may talk)."""

        def arrived() -> int:
            return len(self.tg.sent_to(self.chat_id, since)) + len(self.tg.sent_to(ADMIN_CHAT_ID, since))

        deadline = time.monotonic() + TURN_TIMEOUT
        while not await asyncio.to_thread(self.stack.outbound_drained) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)  # the replies this turn queued are all delivered, however slow the worker
        count = arrived()
        while True:
            await asyncio.sleep(QUIET)
            if (now := arrived()) == count:
                return
            count = now


def _inline_buttons(markup: dict[str, Any] | None) -> list[tuple[str, str]]:
    rows = (markup or {}).get("inline_keyboard") or []
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def _phones(raw: Any) -> set[str]:
    values = raw if isinstance(raw, list) else [raw]
    return {p for p in map(normalize_phone, values) if p}
