"""`parse_update` turns real Telegram update JSON into `UnifiedMessage`, and rejects what is not an update."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from dancebot.channels.message import UnifiedMessage
from dancebot.channels.telegram import InvalidUpdate, parse_update, secret_matches
from dancebot.channels.telegram_updates import (
    callback_update,
    contact_update,
    edited_update,
    my_chat_member_update,
    photo_update,
    sticker_update,
    text_update,
    voice_update,
)

CLIENT = 500_100_300
SENT_AT = 1_780_000_000  # a fixed date: parsing itself never drops old messages (the gate does)


def parse(data: dict[str, Any]) -> UnifiedMessage | None:
    """Through JSON text, as the webhook receives it."""
    return parse_update(json.loads(json.dumps(data, ensure_ascii=False)))


def test_text_message_keeps_chat_id_text_sender_and_date() -> None:
    msg = parse(text_update(1, CLIENT, 42, "здрасте, скок стоит хилс на гоголя?", date=SENT_AT, first_name="Маша"))
    assert msg is not None
    assert (msg.channel, msg.chat_id, msg.message_id) == ("telegram", CLIENT, "42")
    assert (msg.message_type, msg.text, msg.is_edit) == ("text", "здрасте, скок стоит хилс на гоголя?", False)
    assert (msg.first_name, msg.language_code) == ("Маша", "ru")
    assert msg.timestamp == datetime.fromtimestamp(SENT_AT, UTC)
    assert msg.is_textual and msg.callback_data is None and msg.contact_phone is None


def test_every_message_gets_its_own_trace_id() -> None:
    first = parse(text_update(1, CLIENT, 1, "привет"))
    second = parse(text_update(1, CLIENT, 1, "привет"))
    assert first is not None and second is not None
    assert len(first.trace_id) == 36 and first.trace_id != second.trace_id


def test_group_chat_ids_are_negative_and_64_bit() -> None:
    msg = parse(text_update(2, -1001234567890, 7, "/reply 500100300 да, есть места"))
    assert msg is not None and msg.chat_id == -1001234567890


def test_edit_is_dated_by_its_edit_and_deduplicated_apart_from_the_original() -> None:
    original = parse(text_update(1, CLIENT, 10, "запишите на сальсу в субботу", date=SENT_AT))
    edit = parse(edited_update(2, CLIENT, 10, "запишите на сальсу в воскресенье", edit_date=SENT_AT + 90))
    assert original is not None and edit is not None
    assert edit.is_edit and edit.message_type == "text" and edit.text == "запишите на сальсу в воскресенье"
    assert edit.message_id == original.message_id == "10"
    assert edit.timestamp == datetime.fromtimestamp(SENT_AT + 90, UTC)
    assert edit.dedup_id != original.dedup_id
    second_edit = parse(edited_update(3, CLIENT, 10, "в воскресенье вечером", edit_date=SENT_AT + 200))
    assert second_edit is not None and second_edit.dedup_id not in (edit.dedup_id, original.dedup_id)


@pytest.mark.parametrize(("sent", "expected"), [("79141234567", "+79141234567"), ("+79141234567", "+79141234567")])
def test_shared_contact_fills_the_phone_with_a_plus(sent: str, expected: str) -> None:
    msg = parse(contact_update(1, CLIENT, 11, sent))
    assert msg is not None
    assert msg.message_type == "contact" and msg.contact_phone == expected
    assert msg.is_textual and msg.text is None


@pytest.mark.parametrize(
    ("update", "kind"),
    [
        (sticker_update(1, CLIENT, 12), "sticker"),
        (voice_update(1, CLIENT, 12, duration=17), "voice"),
        (photo_update(1, CLIENT, 12), "photo"),
    ],
    ids=["sticker", "voice", "photo"],
)
def test_media_are_typed_and_not_textual(update: dict[str, Any], kind: str) -> None:
    msg = parse(update)
    assert msg is not None
    assert msg.message_type == kind and not msg.is_textual and msg.text is None


def test_photo_caption_is_kept_as_text_but_the_message_stays_a_photo() -> None:
    msg = parse(photo_update(1, CLIENT, 13, caption="вот расписание, это актуально?"))
    assert msg is not None
    assert (msg.message_type, msg.text) == ("photo", "вот расписание, это актуально?")
    assert not msg.is_textual


def test_button_tap_carries_its_data_and_is_dated_now_even_under_an_old_message() -> None:
    an_hour_ago = int(time.time()) - 3600
    msg = parse(callback_update(1, CLIENT, 100_005, "slot:salsa:2026-06-06T19:00", "cb-777", date=an_hour_ago))
    assert msg is not None
    assert msg.message_type == "callback" and msg.is_textual
    assert (msg.callback_data, msg.callback_query_id) == ("slot:salsa:2026-06-06T19:00", "cb-777")
    assert msg.chat_id == CLIENT and msg.text is None
    assert abs(msg.timestamp.timestamp() - time.time()) < 5


def test_two_taps_on_the_same_button_are_different_messages() -> None:
    first = parse(callback_update(1, CLIENT, 100_005, "menu:prices", "cb-1"))
    second = parse(callback_update(2, CLIENT, 100_005, "menu:prices", "cb-2"))
    assert first is not None and second is not None
    assert first.dedup_id != second.dedup_id


def test_membership_changes_are_ignored_not_rejected() -> None:
    assert parse(my_chat_member_update(1, CLIENT)) is None


def _msg(**odd: Any) -> dict[str, Any]:
    """A text message with some fields as the hostile-input fuzz sent them."""
    return {"message_id": 1, "date": SENT_AT, "chat": {"id": 1, "type": "private"}, "text": "привет", **odd}


@pytest.mark.parametrize(
    "body",
    [
        {"message": {"message_id": 1, "date": SENT_AT, "chat": {"id": CLIENT, "type": "private"}, "text": "hi"}},
        {"update_id": "5", "message": {"message_id": 1, "date": SENT_AT, "chat": {"id": 1, "type": "private"}}},
        {"update_id": 5, "message": {"text": "no chat"}},
        {"update_id": 5, "message": _msg(message_id={"text": {}})},
        {"update_id": 5, "message": _msg(message_id="1" * 300)},
        {"update_id": 5, "message": _msg(chat={"id": 2**70, "type": "private"})},
        {"update_id": 5, "message": _msg(message_id=True)},
        {"hello": "world"},
        [1, 2, 3],
        "update",
    ],
    ids=["no-update-id", "update-id-not-int", "message-without-chat", "message-id-object", "message-id-300-digits",
         "chat-id-beyond-bigint", "message-id-bool", "foreign-json", "list", "string"],
)  # fmt: skip
def test_garbage_is_an_invalid_update(body: Any) -> None:
    with pytest.raises(InvalidUpdate):
        parse_update(body)


@pytest.mark.parametrize(
    ("received", "ok"),
    [
        ("webhook-secret-4f1c2a", True),
        ("webhook-secret-4f1c2b", False),
        ("webhook-secret", False),
        ("webhook-secret-4f1c2a ", False),
        ("", False),
        (None, False),
    ],
    ids=["exact", "one-char-off", "prefix", "trailing-space", "empty", "missing"],
)
def test_secret_must_match_exactly(received: str | None, ok: bool) -> None:
    assert secret_matches(received, "webhook-secret-4f1c2a") is ok
