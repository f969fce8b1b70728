"""Cloud API payloads → `UnifiedMessage` (PRODUCT.md §4.1, §4.3), the signature and the verify token —
pure, on payloads shaped as Meta sends them."""

from __future__ import annotations

import json

import pytest

from dancebot.channels import whatsapp
from dancebot.channels import whatsapp_payloads as wa

NUMBER = "79537000001"
SECRET = "app-secret-for-parse-tests"


def parse(*items: dict[str, object], **kw: object) -> whatsapp.Payload:
    return whatsapp.parse_payload(wa.payload(items, names={NUMBER: "Анна Петрова"}, **kw), wa.PHONE_NUMBER_ID)  # type: ignore[arg-type]


def test_a_text_is_a_message_from_the_senders_number_with_the_wamid_as_its_id() -> None:
    item = wa.text(NUMBER, "Здравствуйте! хочу на хилс в чт", ts=1_800_000_000)
    (msg,) = parse(item).messages
    assert msg.channel == "whatsapp" and msg.chat_id == int(NUMBER)
    assert msg.sender_phone == f"+{NUMBER}"
    assert msg.message_id == item["id"] and msg.dedup_id == item["id"]  # the gate deduplicates on the wamid
    assert msg.text == "Здравствуйте! хочу на хилс в чт" and msg.message_type == "text"
    assert int(msg.timestamp.timestamp()) == 1_800_000_000
    assert msg.first_name == "Анна"  # the profile name's first word, offered as the name button


def test_reply_buttons_and_list_rows_are_button_taps_with_our_ids() -> None:
    button, row = parse(
        wa.button_reply(NUMBER, "yes", "Да, записать"), wa.list_reply(NUMBER, "pick:304:2026-12-03", "Чт 03.12 20:00")
    ).messages
    assert (button.message_type, button.callback_data, button.text) == ("callback", "yes", None)
    assert (row.message_type, row.callback_data) == ("callback", "pick:304:2026-12-03")
    assert button.sender_phone == f"+{NUMBER}"


def test_a_template_quick_reply_reads_as_the_words_on_the_button() -> None:
    (msg,) = parse(wa.template_button(NUMBER, "Отменить запись", payload="cancel-payload")).messages
    assert (msg.message_type, msg.text) == ("text", "Отменить запись")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("voice", "voice"), ("audio", "audio"), ("image", "photo"), ("sticker", "sticker"), ("video", "video"),
     ("document", "document")],
)  # fmt: skip
def test_media_are_not_text(kind: str, expected: str) -> None:
    (msg,) = parse(wa.media(NUMBER, kind, caption="вот")).messages
    assert msg.message_type == expected and not msg.is_textual


def test_a_location_and_a_contact_card_get_the_text_only_reply() -> None:
    someone = {"name": {"formatted_name": "Маша"}, "phones": [{"phone": "+79990000000"}]}
    card = {**wa.text(NUMBER, ""), "type": "contacts", "contacts": [someone]}
    card.pop("text")
    place, contact = parse(wa.location(NUMBER), card).messages
    assert place.message_type == "location" and not place.is_textual
    assert contact.message_type == "other" and contact.contact_phone is None  # someone else's number fills nothing


def test_reactions_and_system_notices_are_not_messages_anyone_answers() -> None:
    system = {**wa.text(NUMBER, ""), "type": "system", "system": {"body": "User changed number"}}
    system.pop("text")
    payload = parse(wa.reaction(NUMBER, wa.new_wamid()), system, wa.text(NUMBER, "спасибо"))
    assert [m.text for m in payload.messages] == ["спасибо"]
    assert payload.skipped == 2


def test_several_messages_keep_their_order() -> None:
    texts = ["привет", "хочу на сальсу", "в субботу"]
    assert [m.text for m in parse(*(wa.text(NUMBER, t) for t in texts)).messages] == texts


def test_statuses_carry_their_error_codes() -> None:
    wamid = wa.new_wamid(NUMBER)
    payload = whatsapp.parse_payload(
        wa.payload(statuses=[wa.status(wamid, NUMBER, "delivered"),
                             wa.status(wamid, NUMBER, "failed", code=131047, title="Re-engagement message")]),
        wa.PHONE_NUMBER_ID,
    )  # fmt: skip
    delivered, failed = payload.statuses
    assert (delivered.wamid, delivered.status, delivered.errors) == (wamid, "delivered", ())
    assert failed.status == "failed" and [e.code for e in failed.errors] == [131047]
    assert failed.errors[0].title == "Re-engagement message"
    assert payload.messages == ()


def test_traffic_of_another_number_of_the_business_is_skipped() -> None:
    payload = whatsapp.parse_payload(wa.payload([wa.text(NUMBER, "привет")], phone_number_id="999"), "106540352242922")
    assert payload.messages == () and payload.skipped == 1


def test_other_fields_and_odd_items_are_skipped_not_fatal() -> None:
    data = wa.payload(
        [wa.text(NUMBER, "привет"), {"from": "not-a-number", "id": "x", "timestamp": "1", "type": "text"}]
    )
    data["entry"][0]["changes"].append({"field": "message_template_status_update", "value": {"event": "APPROVED"}})
    payload = whatsapp.parse_payload(data, wa.PHONE_NUMBER_ID)
    assert [m.text for m in payload.messages] == ["привет"] and payload.skipped == 2


@pytest.mark.parametrize("data", [{"update_id": 1}, {"object": "page", "entry": []}, [], "text"])
def test_json_that_is_not_a_cloud_api_payload_is_refused(data: object) -> None:
    with pytest.raises(whatsapp.InvalidPayload):
        whatsapp.parse_payload(data)


def test_the_signature_is_the_hmac_of_the_exact_raw_body() -> None:
    body = json.dumps(wa.payload([wa.text(NUMBER, "привет")]), ensure_ascii=False).encode()
    header = wa.sign(body, SECRET)
    assert header.startswith("sha256=") and whatsapp.signature_matches(body, header, SECRET)
    assert whatsapp.signature_matches(body, header.upper().replace("SHA256=", "sha256="), SECRET)  # hex case
    assert not whatsapp.signature_matches(body, wa.sign(body, "another-secret"), SECRET)
    assert not whatsapp.signature_matches(body.replace("привет".encode(), "пакет!".encode()), header, SECRET)
    assert not whatsapp.signature_matches(body + b" ", header, SECRET)
    assert not whatsapp.signature_matches(body, None, SECRET)
    assert not whatsapp.signature_matches(body, "", SECRET)
    assert not whatsapp.signature_matches(body, header.removeprefix("sha256="), SECRET)


def test_the_verify_token_must_match_exactly() -> None:
    assert whatsapp.token_matches("tok-123", "tok-123")
    assert not whatsapp.token_matches("tok-12", "tok-123")
    assert not whatsapp.token_matches(None, "tok-123")


@pytest.mark.parametrize("ts", [-62_135_596_801, -1, 10**15])
def test_a_timestamp_no_date_can_hold_is_skipped_not_a_crash(ts: int) -> None:
    """Found by the hostile-input fuzz: year 0 made the webhook answer 500; such a message is skipped."""
    payload = parse(wa.text(NUMBER, "здравствуйте", ts=ts), wa.text(NUMBER, "а это дойдёт", ts=1_800_000_000))
    assert [m.text for m in payload.messages] == ["а это дойдёт"] and payload.skipped == 1


@pytest.mark.parametrize("wamid", ["", "wamid." + "A" * 300])
def test_a_message_id_no_real_message_has_is_skipped(wamid: str) -> None:
    """Found by the hostile-input fuzz: an id longer than `messages.message_id` holds was refused by PostgreSQL."""
    odd = {**wa.text(NUMBER, "здравствуйте"), "id": wamid}
    payload = parse(odd, wa.text(NUMBER, "а это дойдёт"))
    assert [m.text for m in payload.messages] == ["а это дойдёт"] and payload.skipped == 1


def test_a_sender_longer_than_any_phone_number_is_skipped() -> None:
    payload = parse(wa.text("7" * 30, "здравствуйте"), wa.text(NUMBER, "а это дойдёт"))
    assert [m.text for m in payload.messages] == ["а это дойдёт"] and payload.skipped == 1
