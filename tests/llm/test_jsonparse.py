"""The 3-step JSON parser (PRODUCT.md §9.1): whatever an LLM returns, `parse_json_object` never raises; real
objects come back whole, from bare, fenced or prose-wrapped replies; fragments of truncated ones never do."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dancebot.llm.jsonparse import MAX_SCAN_CHARS, braced_blocks, fenced_block, parse_json_object, parse_or_retry

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**15), max_value=10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=25,
)
objects = st.dictionaries(st.text(max_size=10), values, max_size=6)
tricky_strings = st.sampled_from(["{", "}", '"', "\\", '{"a": 1}', "```", "\n", "«{»", "\\u007b"])
tricky_objects = st.dictionaries(
    st.text(max_size=6), st.lists(tricky_strings, max_size=4).map("".join), min_size=1, max_size=4
)
prose = st.text(alphabet=st.characters(blacklist_characters="{`", blacklist_categories=("Cs",)), max_size=80)


def dumps(obj: dict[str, Any], style: int) -> str:
    if style == 0:
        return json.dumps(obj)
    if style == 1:
        return json.dumps(obj, ensure_ascii=False)
    return json.dumps(obj, ensure_ascii=False, indent=2)


# -- properties ------------------------------------------------------------------------------------------------


@PROPS
@given(objects | tricky_objects, st.integers(0, 2))
def test_valid_objects_round_trip(obj: dict[str, Any], style: int) -> None:
    assert parse_json_object(dumps(obj, style)) == obj


@PROPS
@given(objects | tricky_objects, prose, prose, st.integers(0, 2))
def test_prose_wrapped_objects_are_found(obj: dict[str, Any], before: str, after: str, style: int) -> None:
    assert parse_json_object(f"{before}{dumps(obj, style)}{after}") == obj


@PROPS
@given(objects | tricky_objects, prose, st.sampled_from(["json", "JSON", ""]), st.booleans())
def test_fenced_objects_are_found(obj: dict[str, Any], before: str, tag: str, closed: bool) -> None:
    body = json.dumps(obj, ensure_ascii=False, indent=2)
    text = f"{before}\n```{tag}\n{body}\n" + ("```\nThat's it." if closed else "")
    assert parse_json_object(text) == obj


@PROPS
@given(objects.filter(bool) | tricky_objects, st.data())
def test_a_truncated_object_is_none_never_a_fragment(obj: dict[str, Any], data: st.DataObject) -> None:
    text = json.dumps(obj, ensure_ascii=False)
    cut = data.draw(st.integers(0, len(text) - 1))
    assert parse_json_object(text[:cut]) is None


@PROPS
@given(st.text(max_size=500))
def test_any_text_never_raises(text: str) -> None:
    result = parse_json_object(text)
    assert result is None or isinstance(result, dict)


@PROPS
@given(st.binary(max_size=500), st.sampled_from(["utf-8", "latin-1", "cp1251"]))
def test_binary_ish_garbage_never_raises(raw: bytes, encoding: str) -> None:
    result = parse_json_object(raw.decode(encoding, errors="replace"))
    assert result is None or isinstance(result, dict)


SOUP = ["{", "}", '"', "\\", ":", ",", "[", "]", "1", "a", " ", "```", "json", "\n"]


@PROPS
@given(st.lists(st.sampled_from(SOUP), max_size=300))
def test_brace_soup_never_raises(parts: list[str]) -> None:
    result = parse_json_object("".join(parts))
    assert result is None or isinstance(result, dict)


# -- examples ---------------------------------------------------------------------------------------------------

REPLY = {"intent": "book", "slots": {"style_raw": "хилс", "date_text": "в пятницу"}, "confidence": 0.9}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(REPLY, ensure_ascii=False),
        f"  \n{json.dumps(REPLY)}\n ",
        f"Sure! Here is the JSON: {json.dumps(REPLY, ensure_ascii=False)}. Anything else?",
        f"```json\n{json.dumps(REPLY, ensure_ascii=False, indent=2)}\n```",
        f"Ответ:\n```\n{json.dumps(REPLY, ensure_ascii=False)}\n```\nГотово.",
        f"Use {{braces}} like {{this}}: {json.dumps(REPLY, ensure_ascii=False)}",
        f'He said "hi" and {{ then: {json.dumps(REPLY, ensure_ascii=False)}',
        f"[{json.dumps(REPLY, ensure_ascii=False)}]",
        f'{json.dumps(REPLY)} and also {{"other": 1}}',
        f"{{see below}} {{ {json.dumps(REPLY, ensure_ascii=False)} }}",
    ],
)
def test_the_reply_object_is_found(text: str) -> None:
    assert parse_json_object(text) == REPLY


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "null",
        "[1, 2]",
        '"just a string"',
        "42",
        "{",
        "}",
        "{'single': 'quotes'}",
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"intent": "book", "slots": {"style_raw": "хилс"}',  # truncated, with a complete inner object
        '{"intent": "book", "slots": {"style_raw": "хи',
        '```json\n{"intent": "bo',
        "Извините, я не понял вопрос.",
        "{not json at all}",
        '{"a": {"b": 1}, "c": }',  # a broken object: its complete inner part is a fragment, not the answer
        "\x00\x01\x02{\x03}",
    ],
)
def test_no_object_is_none(text: str) -> None:
    assert parse_json_object(text) is None


def test_non_str_input_is_none() -> None:
    assert parse_json_object(None) is None  # type: ignore[arg-type]
    assert parse_json_object(b'{"a": 1}') is None  # type: ignore[arg-type]


def test_strings_with_braces_and_escaped_quotes_do_not_confuse_the_scan() -> None:
    obj = {"a": '} { " }', "b": {"c": '\\"{'}}
    text = "prose } { " + json.dumps(obj) + " trailing }"
    assert parse_json_object(text) == obj
    assert braced_blocks('x {"a": "}"} y {"b": {}}') == ['{"a": "}"}', '{"b": {}}']


def test_fenced_block_strips_the_language_tag() -> None:
    assert fenced_block("a ```json\n{}\n``` b") == "{}\n"
    assert fenced_block("a ```{}``` b") == "{}"
    assert fenced_block("no fence") is None


# -- huge inputs --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{" * 500_000,
        "}" * 500_000,
        "[" * 500_000,
        '{"a":' * 100_000,
        '{"a":' * 5_000 + "1" + "}" * 5_000,  # deeper than json's recursion limit
        "{}" * 300_000,
        '"' * 500_000,
        "x" * 5_000_000,
        "```" * 100_000,
        ("{" + '"k": "' + "v" * 1000 + '"') * 200,
    ],
    ids=["open", "close", "brackets", "keys", "deep", "pairs", "quotes", "letters", "fences", "unclosed"],
)
def test_huge_inputs_are_cheap_and_never_raise(text: str) -> None:
    started = time.perf_counter()
    result = parse_json_object(text)
    assert result is None or isinstance(result, dict)
    assert time.perf_counter() - started < 2.0


def test_an_object_at_the_start_of_a_huge_reply_is_found() -> None:
    assert parse_json_object('{"intent": "faq"}' + " blah" * 1_000_000) == {"intent": "faq"}


def test_only_the_first_64kb_are_scanned() -> None:
    assert parse_json_object(" " * MAX_SCAN_CHARS + '{"a": 1}') is None
    big = {"a": "x" * (MAX_SCAN_CHARS + 10)}
    assert parse_json_object(json.dumps(big)) is None


# -- step 3: the retry ------------------------------------------------------------------------------------------


async def test_a_parsable_reply_makes_no_retry() -> None:
    async def retry() -> str | None:
        raise AssertionError("no retry expected")

    assert await parse_or_retry('{"a": 1}', retry) == ({"a": 1}, False)


async def test_the_retry_is_made_once_and_parsed() -> None:
    calls = []

    async def retry() -> str | None:
        calls.append(1)
        return 'Here: {"a": 2}'

    assert await parse_or_retry("not json", retry) == ({"a": 2}, True)
    assert calls == [1]


@pytest.mark.parametrize("again", [None, "", "still not json", '{"a": '])
async def test_a_failed_retry_is_none(again: str | None) -> None:
    async def retry() -> str | None:
        return again

    assert await parse_or_retry("nope", retry) == (None, True)


async def test_a_retry_that_raises_is_none() -> None:
    async def retry() -> str | None:
        raise RuntimeError("boom")

    assert await parse_or_retry(None, retry) == (None, True)
