"""The 3-step JSON parser of PRODUCT.md §9.1: parse → extract a block → one retry → `None`.

`parse_json_object` is the pure part (steps 1 and 2) and never raises, whatever it is given:

1. `json.loads` of the whole (stripped) text;
2. the first fenced block (```` ```json … ``` ````, also an unterminated one, as a truncated reply leaves
   it) or balanced `{…}` block, whichever comes first; then the next blocks. The brace scan is one linear
   pass that knows JSON strings (braces, quotes and fences inside `"…"` do not count), so nesting and
   prose around the object (even prose with braces: `{see below} {"a": 1}`) are handled. A fragment of a
   truncated or broken object — its complete inner `{…}` — is never mistaken for the answer.

Only a JSON *object* counts (the LLM is always asked for one); `NaN`/`Infinity` are rejected. Work is
capped: at most the first `MAX_SCAN_CHARS` characters are looked at and at most `MAX_CANDIDATES` blocks
are tried, so a huge or hostile reply costs milliseconds.

`parse_or_retry` adds step 3: one retry (a callable supplied by the client that asks for JSON only).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from dancebot.logs import get_logger

__all__ = [
    "JSON_ONLY_INSTRUCTION",
    "MAX_CANDIDATES",
    "MAX_SCAN_CHARS",
    "braced_blocks",
    "fenced_block",
    "parse_json_object",
    "parse_or_retry",
]

log = get_logger(__name__)

MAX_SCAN_CHARS = 64 * 1024
MAX_CANDIDATES = 32
FENCE = "```"
JSON_ONLY_INSTRUCTION = (
    "Your previous reply was not valid JSON. Reply again with exactly one JSON object: "
    "no text before or after it, no code fences, no comments."
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not JSON")


def _loads_object(candidate: str) -> dict[str, Any] | None:
    """`json.loads`, accepting only an object; every failure (deep nesting included) is `None`."""
    try:
        value = json.loads(candidate, parse_constant=_reject_constant)
    except (ValueError, RecursionError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _scan(text: str) -> tuple[list[tuple[int, int]], int | None]:
    """Spans of every balanced `{…}` block (outer before inner), and the first fence outside any block.

    One pass with a stack of open braces. Quotes are tracked only inside a brace (prose apostrophes and
    quotes stay harmless), so braces and fences inside JSON strings do not count. Blocks after an opening
    brace that never closes and looks like a JSON object (`{` then `"` or `}`) are fragments of a
    truncated reply and are left out.
    """
    spans: list[tuple[int, int]] = []
    stack: list[int] = []
    fence: int | None = None
    in_string = False
    escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = bool(stack)
        elif ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            spans.append((stack.pop(), i + 1))
        elif ch == "`" and fence is None and not stack and text.startswith(FENCE, i):
            fence = i
    unclosed = [s for s in stack if _looks_like_object_start(text, s)]
    if unclosed:
        spans = [b for b in spans if b[0] < unclosed[0]]
    spans.sort()
    return spans, fence


def _looks_like_object_start(text: str, brace: int) -> bool:
    rest = text[brace + 1 : brace + 64].lstrip()
    return rest[:1] in ('"', "}")


def braced_blocks(text: str) -> list[str]:
    """The outermost balanced `{…}` blocks of `text`, in order; see `_scan`."""
    out: list[str] = []
    end = -1
    for a, b in _scan(text)[0]:
        if a >= end:
            out.append(text[a:b])
            end = b
    return out


def _first_object(text: str, spans: list[tuple[int, int]], *, tries: list[int]) -> dict[str, Any] | None:
    """The first span that parses as an object. Inside a span that failed, look further only if it is
    not itself JSON-looking (`{see below} {"a": 1}`); a broken JSON object's inner parts are fragments."""
    skip_until = -1
    for a, b in spans:
        if a < skip_until:
            continue
        if tries[0] >= MAX_CANDIDATES:
            return None
        tries[0] += 1
        parsed = _loads_object(text[a:b])
        if parsed is not None:
            return parsed
        if _looks_like_object_start(text, a):
            skip_until = b
    return None


def _fence_body(text: str, start: int) -> str:
    body_start = start + len(FENCE)
    newline = text.find("\n", body_start)
    first_line = text[body_start:newline] if newline >= 0 else text[body_start:]
    tag = first_line.strip()
    if tag and tag.isalnum() and len(tag) <= 16:  # ```json, ```JSON, ```js …
        body_start = newline + 1 if newline >= 0 else len(text)
    end = text.find(FENCE, body_start)
    return text[body_start:end] if end >= 0 else text[body_start:]


def fenced_block(text: str) -> str | None:
    """The body of the first ```` ``` ```` fence outside any `{…}`, without its language tag; unterminated →
    up to the end (a truncated reply)."""
    fence = _scan(text)[1]
    return None if fence is None else _fence_body(text, fence)


def _step_two(text: str) -> dict[str, Any] | None:
    """In order of position: blocks before the first fence, the fence's body (whole, then its blocks), the
    blocks after it. At most `MAX_CANDIDATES` parse attempts."""
    spans, fence = _scan(text)
    tries = [0]
    if fence is None:
        return _first_object(text, spans, tries=tries)
    found = _first_object(text, [s for s in spans if s[0] < fence], tries=tries)
    if found is not None:
        return found
    body = _fence_body(text, fence)
    found = _loads_object(body.strip())
    if found is None:
        found = _first_object(body, _scan(body)[0], tries=tries)
    if found is not None:
        return found
    return _first_object(text, [s for s in spans if s[0] > fence], tries=tries)


def parse_json_object(text: str) -> dict[str, Any] | None:
    """Steps 1–2: the JSON object in an LLM reply, or `None`. Never raises (not even for a non-`str`)."""
    given: object = text  # typed callers pass a str; a bad caller must not make this raise either
    try:
        if not isinstance(given, str) or not given:
            return None
        head = given[:MAX_SCAN_CHARS]
        parsed = _loads_object(head.strip())
        return parsed if parsed is not None else _step_two(head)
    except Exception as exc:  # belt and braces: nothing an LLM returns may raise (PRODUCT.md §9.1)
        log.warning("llm.json_parse_failed", error=type(exc).__name__)
    return None


async def parse_or_retry(
    text: str | None, retry: Callable[[], Awaitable[str | None]]
) -> tuple[dict[str, Any] | None, bool]:
    """Steps 1–4: parse `text`; if that fails, `await retry()` once (it asks for JSON only) and parse that.

    Returns the object (or `None`) and whether the retry was used. A retry that raises counts as `None`.
    """
    parsed = parse_json_object(text) if text else None
    if parsed is not None:
        return parsed, False
    try:
        again = await retry()
    except Exception as exc:
        log.warning("llm.json_retry_failed", error=type(exc).__name__)
        return None, True
    return (parse_json_object(again) if again else None), True
