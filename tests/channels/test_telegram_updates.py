"""The update builders produce JSON that python-telegram-bot parses as the update kind they claim."""

from __future__ import annotations

import json
import time

from telegram import ChatMemberBanned, Update

from dancebot.channels.telegram_updates import (
    GROUP_MEMBER_ID,
    callback_update,
    contact_update,
    edited_update,
    my_chat_member_update,
    photo_update,
    sticker_update,
    text_update,
    voice_update,
)

CLIENT = 500_100_200


def parse(data: dict) -> Update:
    """Through JSON text, as the webhook receives it."""
    return Update.de_json(json.loads(json.dumps(data, ensure_ascii=False)), bot=None)


def test_text_update_is_a_private_message_from_the_client_sent_now() -> None:
    update = parse(text_update(1, CLIENT, 10, "здрасте, есть хилс на гоголя в субботу?", username="anna_vl"))
    msg = update.message
    assert update.update_id == 1
    assert msg.text == "здрасте, есть хилс на гоголя в субботу?"
    assert (msg.chat.id, msg.chat.type, msg.message_id) == (CLIENT, "private", 10)
    assert (msg.from_user.id, msg.from_user.first_name, msg.from_user.username) == (CLIENT, "Анна", "anna_vl")
    assert msg.from_user.language_code == "ru" and not msg.from_user.is_bot
    assert abs(msg.date.timestamp() - time.time()) < 5


def test_text_update_in_the_admin_supergroup_comes_from_a_member_and_marks_commands() -> None:
    msg = parse(text_update(2, -1001234567890, 11, "/reply 500100200 Да, места есть", date=1_700_000_000)).message
    assert msg.chat.type == "supergroup" and msg.chat.title
    assert msg.from_user.id == GROUP_MEMBER_ID
    assert msg.date.timestamp() == 1_700_000_000
    assert msg.parse_entities() and list(msg.parse_entities().values()) == ["/reply"]


def test_edited_update_keeps_the_message_id_and_carries_the_edit_date() -> None:
    update = parse(edited_update(3, CLIENT, 10, "ой, не в субботу, а в воскресенье", edit_date=1_700_000_600))
    assert update.message is None
    msg = update.edited_message
    assert (msg.message_id, msg.text) == (10, "ой, не в субботу, а в воскресенье")
    assert msg.edit_date.timestamp() == 1_700_000_600
    assert msg.date < msg.edit_date


def test_contact_update_carries_the_clients_own_phone() -> None:
    msg = parse(contact_update(4, CLIENT, 12, "79141234567", first_name="Ольга")).message
    assert msg.text is None
    assert msg.contact.phone_number == "79141234567"
    assert msg.contact.user_id == CLIENT == msg.from_user.id
    assert msg.contact.first_name == "Ольга"


def test_media_updates_parse_as_sticker_voice_and_photo_without_text() -> None:
    sticker = parse(sticker_update(5, CLIENT, 13, emoji="💃")).message
    voice = parse(voice_update(6, CLIENT, 14, duration=9)).message
    photo = parse(photo_update(7, CLIENT, 15, caption="вот мой абонемент")).message
    assert sticker.sticker.emoji == "💃" and sticker.text is None
    assert voice.voice.to_dict()["duration"] == 9 and voice.voice.mime_type == "audio/ogg"
    assert voice.text is None
    assert len(photo.photo) == 3 and photo.photo[-1].width == 1280
    assert photo.caption == "вот мой абонемент" and photo.text is None


def test_callback_update_is_a_tap_under_the_bots_message() -> None:
    query = parse(callback_update(8, CLIENT, 100_001, "slot:2026-12-05T19:00", "cbq-77")).callback_query
    assert (query.id, query.data) == ("cbq-77", "slot:2026-12-05T19:00")
    assert query.from_user.id == CLIENT
    assert query.message.message_id == 100_001
    assert query.message.from_user.is_bot and query.message.chat.id == CLIENT
    assert query.chat_instance


def test_my_chat_member_update_says_the_client_blocked_the_bot() -> None:
    update = parse(my_chat_member_update(9, CLIENT, bot_id=123456789))
    assert update.message is None and update.callback_query is None
    change = update.my_chat_member
    assert isinstance(change.new_chat_member, ChatMemberBanned)
    assert change.new_chat_member.user.id == 123456789
    assert change.old_chat_member.status == "member"
    assert update.effective_chat.id == CLIENT
