"""The fake rejects formatting and keyboards the way Telegram does.

Error cases with emoji come from TDLib's own parser tests (td/test/message_entities.cpp), so offsets are
UTF-8 bytes as Telegram reports them; the rest are the mistakes a bot's templates really make.
"""

from __future__ import annotations

import pytest

from tests.fakes.telegram_markup import ApiError, parse_entities, validate_reply_markup


def entities_error(text: str, mode: str) -> str:
    with pytest.raises(ApiError) as caught:
        parse_entities(text, mode)
    assert caught.value.status == 400
    return caught.value.description.removeprefix("Bad Request: can't parse entities: ")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        ("🏟 🏟&lt;<i>a</em   >", 'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"'),
        ("Абонемент <8 занятий> — 4000 ₽", 'Unsupported start tag "8" at byte offset 19'),
        ("Стоимость < 700 ₽", 'Unsupported start tag "" at byte offset 19'),
        ("Строка<br>вторая", 'Unsupported start tag "br" at byte offset 12'),
        ("<b>Запись подтверждена", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<span>сюрприз</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_html_errors(text: str, error: str) -> None:
    assert entities_error(text, "HTML") == error


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>", "🏟 🏟🏟 ><🏟"),
        ("&lt;&gt;&amp;&quot;&laquo;&#12345678;", '<>&"&laquo;&#12345678;'),
        ("🏟 🏟&lt;<i    aba  =  '&lt;&gt;&quot;'>a</>", "🏟 🏟<a"),
        ('<b>Анна</b>, ждём вас в <a href="https://ritm.example/map">«Ритме»</a> &amp; хорошего дня!',
         "Анна, ждём вас в «Ритме» & хорошего дня!"),
        ('<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span><pre><code class="language-py">z</code></pre>',
         "xyz"),
    ],
)  # fmt: skip
def test_html_visible_text(text: str, visible: str) -> None:
    assert parse_entities(text, "html") == visible


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("🏟 🏟_abac * asd ", "Can't find end of Bold entity at byte offset 15"),
        ("🏟 🏟```a ", "Can't find end of PreCode entity at byte offset 9"),
        ("🏟 🏟_🏟 🏟__", "Can't find end of Underline entity at byte offset 19"),
        ("🏟 🏟```🏟 🏟`", "Can't find end of Code entity at byte offset 21"),
        ("🏟 🏟__🏟 _🏟___", "Can't find end of Italic entity at byte offset 23"),
        ("[telegram\\.org](asd\\)", "Can't find end of a URL at byte offset 16"),
        ("Ждём вас в 19.00", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("Стоимость: 700-800 ₽", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("Скидка (для студентов)", "Character '(' is reserved and must be escaped with the preceding '\\'"),
        ("Хай хилс | Центр", "Character '|' is reserved and must be escaped with the preceding '\\'"),
    ],
)
def test_markdown_v2_errors(text: str, error: str) -> None:
    assert entities_error(text, "MarkdownV2") == error


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("🏟 🏟_🏟 __🏟___", "🏟 🏟🏟 🏟"),
        ("🏟 🏟```🏟\n🏟```", "🏟 🏟🏟"),
        ("`_* *_`__*` `*__", "_* *_ "),
        ("[telegram\\.org](https://telegram.dog?\\\\\\()", "telegram.org"),
        ("*Анна*, ждём вас в 19\\.00 на ||Гоголя||\\!", "Анна, ждём вас в 19.00 на Гоголя!"),
        ("> Цитата\nТекст", " Цитата\nТекст"),
    ],
)
def test_markdown_v2_visible_text(text: str, visible: str) -> None:
    assert parse_entities(text, "MarkdownV2") == visible


def test_legacy_markdown_needs_closed_entities_but_no_escapes() -> None:
    assert parse_entities("*Запись* на _субботу_, [карта](https://ritm.example). Ждём!", "Markdown") == (
        "Запись на субботу, карта. Ждём!"
    )
    assert entities_error("Цена 700 * 2", "Markdown") == "Can't find end of the entity starting at byte offset 13"


def test_plain_text_is_untouched_and_unknown_modes_are_refused() -> None:
    assert parse_entities("Цена < 700 ₽ *без* разметки", None) == "Цена < 700 ₽ *без* разметки"
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        parse_entities("Привет", "BBCode")


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("{not json", "can't parse reply keyboard markup JSON object"),
        ({"buttons": []}, "can't parse reply keyboard markup JSON object"),
        ({"inline_keyboard": [{"text": "Да", "callback_data": "yes"}]}, "must be an Array of Arrays"),
        ({"inline_keyboard": [[{"text": "Да"}]]}, "Text buttons are unallowed in the inline keyboard"),
        ({"inline_keyboard": [[{"text": "Да", "callback_data": ""}]]}, "BUTTON_DATA_INVALID"),
        ({"inline_keyboard": [[{"text": "Да", "callback_data": "ы" * 33}]]}, "BUTTON_DATA_INVALID"),
        ({"keyboard": [[{"request_contact": True}]]}, 'Field "text" must be of type String'),
    ],
)
def test_invalid_keyboards(markup: object, error: str) -> None:
    with pytest.raises(ApiError) as caught:
        validate_reply_markup(markup, private=True)
    assert caught.value.status == 400 and error in caught.value.description


def test_valid_keyboards_come_back_parsed() -> None:
    inline = '{"inline_keyboard": [[{"text": "Сб 19:00", "callback_data": "slot:4711"}]]}'
    assert validate_reply_markup(inline, private=False) == {
        "inline_keyboard": [[{"text": "Сб 19:00", "callback_data": "slot:4711"}]]
    }
    contact = {"keyboard": [[{"text": "📱 Отправить номер", "request_contact": True}], ["Отмена"]]}
    assert validate_reply_markup(contact, private=True) == contact
    assert validate_reply_markup({"remove_keyboard": True}, private=True) == {"remove_keyboard": True}
    assert validate_reply_markup(None, private=True) is None
    with pytest.raises(ApiError, match="private chats only"):
        validate_reply_markup(contact, private=False)
