"""The masking processor: what may never reach a log line (PRODUCT.md §13)."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dancebot.logs import _mask_personal, bind_trace, configure_logging, get_logger, mask_text, register_secrets


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+79991234567", "+7999****567"),
        ("мой номер 8 (999) 123-45-67, звоните", "мой номер +7999****567, звоните"),
        ("79991234567", "+7999****567"),
        ("+7 914 123 45 67", "+7914****567"),
        ("914 123 45 67", "+7914****567"),
        ("9141234567", "+7914****567"),
        ("тел89141234567", "тел+7914****567"),
        ("+7 914 12 34 567", "+7914****567"),
        ("студия 8 (423) 200-12-34", "студия +7423****234"),
        ("chat 100000001, update 5000001", "chat 100000001, update 5000001"),
        ("пишите на masha.petrova@mail.ru", "пишите на m***@mail.ru"),
        ("в 19:30 на 12.12.2026", "в 19:30 на 12.12.2026"),  # dates and times stay readable
        ("chat -1001234567890", "chat -1001234567890"),  # a group chat id is not a phone
    ],
)
def test_mask_text(raw: str, masked: str) -> None:
    assert mask_text(raw) == masked


_PIECES = st.sampled_from(
    ["+", "7", "8", "9", "0", "1", "4", " ", "-", "(", ")", "@", ".", "a", "ru", "м", ":", "T", "/", "olga", "@mail.ru"]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES | st.text(alphabet="0123456789 -()+@.xя", max_size=6), max_size=30).map("".join))
def test_the_quick_check_never_lets_a_phone_or_email_through(text: str) -> None:
    """Strings without a long digit run or an "@" skip the masking regexes: the result is always the same
    as running them."""
    assert mask_text(text) == _mask_personal(text)


def test_log_lines_are_json_with_trace_id_and_masked_values() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    register_secrets(["super-secret-bot-token-123"])
    bind_trace("trace-abc", chat_id=42)
    get_logger("t").info(
        "sent", text="звоните +79991234567", token="super-secret-bot-token-123", nested={"p": "89991234567"}
    )
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["trace_id"] == "trace-abc"
    assert line["text"] == "звоните +7999****567"
    assert line["token"] == "***"
    assert line["nested"] == {"p": "+7999****567"}


def test_a_whatsapp_chat_id_is_a_phone_and_is_masked() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    get_logger("t").info("inbound.message", channel="whatsapp", chat_id=79141234567, telegram_chat=123456789)
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["chat_id"] == "7914****567"
    assert line["telegram_chat"] == 123456789  # a Telegram id is no phone
