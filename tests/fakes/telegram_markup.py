"""What the fake Bot API checks in a message before accepting it, with Telegram's error wording.

Formatting errors ("can't parse entities") and invalid keyboards are the 400s real bots hit in
production, so the fake rejects them the way the Bot API does instead of accepting anything. The
entity parsers follow TDLib's rules (UTF-8 byte offsets, reserved MarkdownV2 characters, the tags HTML
allows) closely enough to catch those bugs; they return the text the user would see.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["ApiError", "parse_entities", "validate_reply_markup"]


class ApiError(Exception):
    """A Bot API error: `{"ok": false, "error_code": status, "description": ...}`."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _entities_error(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


def _at(text: str, index: int) -> int:
    """TDLib reports positions as UTF-8 byte offsets."""
    return len(text[:index].encode("utf-8"))


def parse_entities(text: str, parse_mode: str | None) -> str:
    """The visible text of `text` under `parse_mode` (case-insensitive, as in Telegram)."""
    if parse_mode is None:
        return text
    parsers = {"html": _parse_html, "markdownv2": _parse_markdown_v2, "markdown": _parse_markdown}
    parser = parsers.get(parse_mode.lower())
    if parser is None:
        raise ApiError(400, "Bad Request: unsupported parse_mode")
    return parser(text)


_HTML_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "span", "tg-spoiler", "tg-emoji",
     "code", "pre", "blockquote"}
)  # fmt: skip
_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d+)|#x([0-9a-fA-F]+));?")  # TDLib: ";" is optional
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ATTRIBUTES = re.compile(r"""(?:[^>"']|"[^"]*"|'[^']*')*>""")
_HTML_END_REST = re.compile(r"\s*>")


def _html_entity(match: re.Match[str]) -> str | None:
    """The character an entity stands for; None leaves it as literal text (unknown or out of range)."""
    named, decimal, hexadecimal = match.groups()
    if named:
        return _HTML_NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal or "0", 16)
    if 0xD800 <= code <= 0xDFFF:
        raise _entities_error(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    return chr(code) if 0 < code <= 0x10FFFF else None


def _tag_name_end(text: str, i: int) -> int:
    """A tag name runs to a space or ">"."""
    while i < len(text) and not text[i].isspace() and text[i] != ">":
        i += 1
    return i


def _parse_html(text: str) -> str:
    out: list[str] = []
    open_tags: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        entity = _HTML_ENTITY.match(text, i) if char == "&" else None
        if entity and (decoded := _html_entity(entity)) is not None:
            out.append(decoded)
            i = entity.end()
            continue
        if char != "<":
            out.append(char)
            i += 1
            continue
        offset = _at(text, i)
        if text.startswith("</", i):
            if not open_tags:
                raise _entities_error(f"Unexpected end tag at byte offset {offset}")
            name_end = _tag_name_end(text, i + 2)
            name = text[i + 2 : name_end]
            rest = _HTML_END_REST.match(text, name_end)
            if rest is None:
                raise _entities_error(f"Unclosed end tag at byte offset {offset}")
            if name and name.lower() != open_tags[-1]:  # "</>" closes any tag
                raise _entities_error(
                    f'Unmatched end tag at byte offset {offset}, expected "</{open_tags[-1]}>", found "</{name}>"'
                )
            open_tags.pop()
        else:
            name_end = _tag_name_end(text, i + 1)
            if name_end == len(text):
                raise _entities_error(f"Unclosed start tag at byte offset {offset}")
            tag = text[i + 1 : name_end].lower()
            if tag not in _HTML_TAGS:
                raise _entities_error(f'Unsupported start tag "{tag}" at byte offset {offset}')
            rest = _HTML_ATTRIBUTES.match(text, name_end)
            if rest is None:
                raise _entities_error(f"Unclosed start tag at byte offset {offset}")
            if tag == "span" and "tg-spoiler" not in rest.group():
                raise _entities_error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
            open_tags.append(tag)
        i = rest.end()
    if open_tags:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(out)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_MARKERS = ("```", "||", "__", "*", "_", "~", "`", "[")
_MDV2_NAMES = {
    "*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler", "`": "Code",
    "```": "Pre", "[": "TextUrl",
}  # fmt: skip
# After ```: a language ends at whitespace; a line break after it is dropped, a space is kept.
_PRE_LANGUAGE = re.compile(r"[^\s`]*(?:\r\n|\n\r|\n|\r)|[^\s`]+(?= )")


def _skip_url(text: str, i: int) -> int:
    """After a link's `]`: skip an optional `(url)`; returns the index after it."""
    if not text.startswith("(", i):
        return i
    j = i + 1
    while j < len(text) and text[j] != ")":
        j += 2 if text[j] == "\\" else 1
    if j >= len(text):
        raise _entities_error(f"Can't find end of a URL at byte offset {_at(text, i + 1)}")
    return j + 1


def _parse_markdown_v2(text: str) -> str:
    out: list[str] = []
    open_markers: list[tuple[str, str, int]] = []  # (marker, entity name, byte offset)
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            i += 2
            continue
        top = open_markers[-1][0] if open_markers else None
        if top in ("`", "```"):  # inside code only backticks are special; a lone one in pre opens code
            if text.startswith(top, i):
                open_markers.pop()
                i += len(top)
            elif char == "`":
                open_markers.append(("`", "Code", _at(text, i)))
                i += 1
            else:
                out.append(char)
                i += 1
            continue
        if char not in _MDV2_RESERVED:
            out.append(char)
            i += 1
            continue
        marker = next((m for m in _MDV2_MARKERS if text.startswith(m, i)), None)
        if marker is None:
            if char == ">" and (i == 0 or text[i - 1] == "\n"):  # blockquote line
                i += 1
            elif char == "]" and top == "[":
                open_markers.pop()
                i = _skip_url(text, i + 1)
            else:
                raise _entities_error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
            continue
        i += len(marker)
        if marker == top and marker != "[":
            open_markers.pop()
            continue
        name, offset = _MDV2_NAMES[marker], _at(text, i - len(marker))
        if marker == "```" and (language := _PRE_LANGUAGE.match(text, i)):
            name = "PreCode" if language.group().strip() else name
            i = language.end()
        open_markers.append((marker, name, offset))
    if open_markers:
        _, name, offset = open_markers[-1]
        raise _entities_error(f"Can't find end of {name} entity at byte offset {offset}")
    return "".join(out)


def _parse_markdown(text: str) -> str:
    """Legacy Markdown: no nesting, no reserved characters, every entity must be closed."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.append(char)
            i += 1
            continue
        marker = "```" if text.startswith("```", i) else "]" if char == "[" else char
        end = text.find(marker, i + len(marker))  # a link's marker is its closing "]"
        if end == -1:
            raise _entities_error(f"Can't find end of the entity starting at byte offset {_at(text, i)}")
        out.append(text[i + len(marker) : end])
        i = _skip_url(text, end + 1) if char == "[" else end + len(marker)
    return "".join(out)


_INLINE_ACTIONS = (
    "callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "login_url", "web_app", "callback_game", "pay",
)  # fmt: skip
_BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"


def validate_reply_markup(raw: Any, *, private: bool) -> dict[str, Any] | None:
    """The parsed `reply_markup`, or the `ApiError` Telegram gives for it."""
    if raw is None or raw == "":
        return None
    markup = raw
    if isinstance(raw, str):
        try:
            markup = json.loads(raw)
        except ValueError:
            raise ApiError(400, _BAD_MARKUP) from None
    if not isinstance(markup, dict):
        raise ApiError(400, _BAD_MARKUP)
    if "inline_keyboard" in markup:
        for button in _buttons(markup["inline_keyboard"], "inline_keyboard", "InlineKeyboardMarkup"):
            _check_inline_button(button)
    elif "keyboard" in markup:
        for button in _buttons(markup["keyboard"], "keyboard", "ReplyKeyboardMarkup"):
            _check_reply_button(button, private=private)
    elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
        raise ApiError(400, _BAD_MARKUP)
    return markup


def _buttons(rows: Any, name: str, kind: str) -> list[Any]:
    if not isinstance(rows, list):
        raise ApiError(400, f'Bad Request: field "{name}" of the {kind} must be an Array')
    if not all(isinstance(row, list) for row in rows):
        raise ApiError(400, f'Bad Request: field "{name}" of the {kind} must be an Array of Arrays')
    return [button for row in rows for button in row]


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise ApiError(400, 'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String')
    if not any(action in button for action in _INLINE_ACTIONS):
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        )
    data = button.get("callback_data")
    if data is not None and not (isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= 64):
        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _check_reply_button(button: Any, *, private: bool) -> None:
    if isinstance(button, str):
        return
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise ApiError(400, 'Bad Request: can\'t parse keyboard button: Field "text" must be of type String')
    if not private and button.get("request_contact"):
        raise ApiError(400, "Bad Request: phone number can be requested in private chats only")
    if not private and button.get("request_location"):
        raise ApiError(400, "Bad Request: location can be requested in private chats only")
