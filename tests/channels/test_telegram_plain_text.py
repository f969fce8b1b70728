"""The plain text fast path (`_plain_text`) reads an update exactly as python-telegram-bot's path does.

Generated updates: plain text messages as Telegram sends them (Cyrillic, emoji, phone-number entities,
no sender, group chats), and near misses of every kind — a key missing, a key we don't know, a field of
the wrong type, a date no clock has, malformed entities. For each, either the fast path declines (PTB
reads it) or it gives the very `UnifiedMessage` PTB's path gives; and `parse_update` as a whole never
fails with anything but `InvalidUpdate`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dancebot.channels import telegram
from dancebot.channels.message import UnifiedMessage
from dancebot.channels.telegram import InvalidUpdate, parse_update
from dancebot.channels.telegram_updates import text_update

TEXTS = st.text(alphabet=st.characters(max_codepoint=0x1FAFF, exclude_categories=("Cs",)), max_size=60)
IDS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
WEIRD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def entities(draw: st.DrawFn, text: str) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        entity: dict[str, Any] = {
            "type": draw(st.sampled_from(["phone_number", "url", "bold", "text_link", "mention"])),
            "offset": draw(st.integers(0, max(0, len(text)))),
            "length": draw(st.integers(1, 20)),
        }
        if entity["type"] == "text_link":
            entity["url"] = draw(st.sampled_from(["https://t.me/studio", "http://example.org"]))
        out.append(entity)
    return out


@st.composite
def plain_updates(draw: st.DrawFn) -> dict[str, Any]:
    """What Telegram sends for a text message, with every optional part varied."""
    text = draw(TEXTS)
    chat_id = draw(st.one_of(st.integers(1, 2**52), st.integers(-(2**52), -1), IDS))
    update: dict[str, Any] = {
        "update_id": draw(st.integers(0, 2**31)),
        "message": {
            "message_id": draw(st.integers(1, 2**31)),
            "date": draw(st.integers(0, 4_000_000_000)),
            "chat": {"id": chat_id, "type": draw(st.sampled_from(["private", "group", "supergroup"]))},
            "text": text,
        },
    }
    message = update["message"]
    if draw(st.booleans()):
        message["chat"]["first_name"] = draw(TEXTS)
    if draw(st.booleans()):
        user: dict[str, Any] = {"id": abs(chat_id) or 1, "is_bot": draw(st.booleans()), "first_name": draw(TEXTS)}
        for key in ("last_name", "username", "language_code"):
            if draw(st.booleans()):
                user[key] = draw(st.sampled_from(["ru", "en", "Оля", "dance_fan", ""]))
        if draw(st.booleans()):
            user["is_premium"] = True
        message["from"] = user
    if draw(st.booleans()):
        message["entities"] = draw(entities(text))
    return update


PATHS = [
    (),
    ("message",),
    ("message", "chat"),
    ("message", "from"),
]


@st.composite
def near_misses(draw: st.DrawFn) -> dict[str, Any]:
    """A plain update with one thing wrong or unusual."""
    update = copy.deepcopy(draw(plain_updates()))
    path = draw(st.sampled_from(PATHS))
    target: Any = update
    for key in path:
        if not isinstance(target, dict) or key not in target:
            return update
        target = target[key]
    move = draw(st.sampled_from(["drop", "retype", "extra"]))
    if move == "extra":
        target[draw(st.sampled_from(["caption", "photo", "reply_to_message", "via_bot", "zzz", "edit_date"]))] = draw(
            WEIRD
        )
    elif target:
        key = draw(st.sampled_from(sorted(target)))
        if move == "drop":
            del target[key]
        else:
            target[key] = draw(WEIRD)
    message = update.get("message")
    if draw(st.booleans()) and isinstance(message, dict) and "entities" in message:
        message["entities"] = draw(
            st.one_of(WEIRD, st.lists(st.dictionaries(st.sampled_from(["type", "offset", "length", "user"]), WEIRD)))
        )
    return update


def with_ptb(data: dict[str, Any]) -> UnifiedMessage | str | None:
    """PTB's path, wrapped as `parse_update` wraps it; a refusal as the string "invalid"."""
    try:
        return telegram._parse_with_ptb(data)
    except (InvalidUpdate, ValueError, TypeError, AttributeError):
        return "invalid"


def same(a: UnifiedMessage, b: UnifiedMessage) -> bool:
    return a.model_dump(exclude={"trace_id"}) == b.model_dump(exclude={"trace_id"})


def check(update: dict[str, Any]) -> UnifiedMessage | None:
    data = json.loads(json.dumps(update, ensure_ascii=False))  # as the webhook receives it
    try:
        fast = telegram._plain_text(data)
    except (ValueError, TypeError):
        fast = None  # e.g. a chat id outside 64 bits: UnifiedMessage refuses it, as on PTB's path
        assert with_ptb(data) == "invalid"
    if fast is not None:
        reference = with_ptb(data)
        assert isinstance(reference, UnifiedMessage), (data, reference)
        assert same(fast, reference), (fast, reference)
    try:
        parse_update(data)
    except InvalidUpdate:
        pass
    return fast


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(plain_updates())
@example(text_update(1, 500_100_300, 42, "Здравствуйте! Запишите на сальсу 89141234567 😊"))
def test_plain_text_messages_read_as_ptb_reads_them(update: dict[str, Any]) -> None:
    check(update)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(near_misses())
def test_near_misses_are_declined_or_read_as_ptb_reads_them(update: dict[str, Any]) -> None:
    check(update)


def test_the_fast_path_takes_the_common_update_and_declines_the_rest() -> None:
    """So the property above is about the fast path, not about PTB alone."""
    common = text_update(1, 500_100_300, 42, "сколько стоит абонемент?")
    assert telegram._plain_text(common) is not None
    no_sender = copy.deepcopy(common)
    del no_sender["message"]["from"]
    assert telegram._plain_text(no_sender) is not None
    for odd in (
        {**common, "edited_message": common["message"]},
        {"update_id": 1, "message": {**common["message"], "photo": []}},
        {"update_id": 1, "message": {**common["message"], "date": 10**20}},
        {"update_id": 1, "message": {**common["message"], "from": {"id": 1, "first_name": "Оля"}}},  # no is_bot
        {"update_id": 1, "message": {**common["message"], "entities": [{"type": "bold"}]}},
    ):
        assert telegram._plain_text(odd) is None
