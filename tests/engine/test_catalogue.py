"""Every fixed text the bot sends (PRODUCT.md §2, §5.5): present in each language, formattable
with the fields the engine passes, overridable from the KB, and within the conversation rules.

The fields come from the engine's source: every `t.t("key", field=...)`, `catalogue.text("key", ...)`
and `offer(t, "key", ...)` call is read with `ast`; the few calls whose key is chosen at run time are
listed by hand below.
"""

from __future__ import annotations

import ast
import string
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from dancebot.conversation.catalogue import TEXTS, Catalogue
from dancebot.kb import load_kb

CONVERSATION = Path(__file__).resolve().parents[2] / "src" / "dancebot" / "conversation"
DEFAULTS = {"studio": "Ритм"}  # what the runtime always passes (runtime.py)
OFFER_FIELDS = {"style", "days"}  # what actions/booking.offer passes with its key
# Lookups whose key is a variable, by (file, enclosing function): [(possible keys, fields passed)].
DYNAMIC_CALLS: dict[tuple[str, str], list[tuple[tuple[str, ...], set[str]]]] = {
    ("booking.py", "offer"): [  # the key of offer(t, _why_none(...), ...)
        (("several_match", "no_match_time", "out_of_window", "past_time"), OFFER_FIELDS),
        (("holiday",), OFFER_FIELDS | {"day", "reason"}),
    ],
    ("booking.py", "_summary"): [(("summary_who", "summary_who_other"), {"name"})],
    ("outcome.py", "expire"): [(("expired", "admin_later"), set())],
    ("common.py", "yes_no_buttons"): [
        (("yes_button", "no_button", "btn_cancel_yes", "btn_reschedule_yes", "btn_cancel_no"), set())
    ],
    ("cancel.py", "_choose"): [(("confirm_cancel", "late_cancel_warning", "confirm_reschedule"), {"line", "hours"})],
    ("cancel.py", "cancelled"): [(("cancelled", "rescheduled"), {"line"})],
    ("series.py", "series_receipt"): [  # the reason a class of a series was not booked
        (
            (
                "series_reason_full",
                "series_reason_closed",
                "series_reason_past",
                "series_reason_booked",
                "series_reason_admin",
            ),
            set(),
        ),
    ],
}
WRAPPERS = {("turn.py", "t")}  # Turn.t itself: its key is its caller's
SAMPLE = {
    "style": "High Heels",
    "days": 14,
    "day": "12.12",
    "reason": "Отчётный концерт",
    "name": "Аня",
    "line": "Ср 09.12 19:00 High Heels",
    "hours": 4,
}


def _keys(node: ast.expr) -> list[str] | None:
    """The literal keys a key expression can take; None when it is a variable."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _keys(node.body), _keys(node.orelse)
        return a + b if a is not None and b is not None else None
    if (  # {"full": "rejected_full", ...}.get(reason, "rejected_other")
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Dict)
    ):
        values = [_keys(v) for v in node.func.value.values if v is not None] + [_keys(a) for a in node.args[1:]]
        return None if any(v is None for v in values) else [k for v in values for k in v or []]
    return None


def _catalogue_calls() -> Iterator[tuple[str, str, list[str] | None, set[str]]]:
    """(file, enclosing function, keys or None, keyword names) for each call that looks a text up.

    `offer(t, "key", ...)` counts as a lookup with `OFFER_FIELDS`; one whose key is itself computed is
    skipped (its keys are `offer`'s entry in DYNAMIC_CALLS).
    """
    for path in sorted(CONVERSATION.rglob("*.py")):
        for func_def in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(func_def, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func_def):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                fields = {k.arg for k in node.keywords if k.arg is not None}
                if isinstance(func, ast.Name) and func.id == "offer" and len(node.args) >= 2:
                    if (keys := _keys(node.args[1])) is not None:
                        yield path.name, func_def.name, keys, OFFER_FIELDS
                    continue
                if not isinstance(func, ast.Attribute):
                    continue
                on_turn = isinstance(func.value, ast.Name) and func.value.id == "t"
                if func.attr == "t" and on_turn:
                    key_node = node.args[0]
                elif (
                    func.attr in ("text", "text_for")
                    and isinstance(func.value, ast.Attribute)
                    and func.value.attr == "catalogue"
                ):
                    key_node = node.args[0]
                else:
                    continue
                yield path.name, func_def.name, _keys(key_node), fields


CALLS = list(_catalogue_calls())
LITERAL_USES = [(keys, fields) for _, _, keys, fields in CALLS if keys is not None]
ALL_USES = LITERAL_USES + [(list(keys), fields) for uses in DYNAMIC_CALLS.values() for keys, fields in uses]


def test_the_scan_sees_the_engine() -> None:
    # Guards the scan itself: if the call style changes, this fails instead of every check passing empty.
    assert len(LITERAL_USES) >= 60
    dynamic = {(file, func) for file, func, keys, _ in CALLS if keys is None}
    assert dynamic == set(DYNAMIC_CALLS) | WRAPPERS, "a key chosen at run time is missing from DYNAMIC_CALLS"


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_use_formats_with_the_fields_it_passes(lang: str) -> None:
    catalogue = Catalogue(**DEFAULTS)
    for keys, fields in ALL_USES:
        for key in keys:
            assert key in TEXTS["ru"], f"{key!r} is used but has no text"
            catalogue.text(key, lang, **{f: SAMPLE.get(f, f"<{f}>") for f in fields})


def test_every_placeholder_is_a_field_some_call_passes() -> None:
    # A template asking for a field no call gives would raise KeyError in front of a client.
    passed: dict[str, set[str]] = {}
    for keys, fields in ALL_USES:
        for key in keys:
            passed.setdefault(key, set()).update(fields)
            passed.setdefault(f"{key}_wa", set()).update(fields)
    for lang, texts in TEXTS.items():
        for key in passed.keys() & texts.keys():
            wanted = {name for _, name, _, _ in string.Formatter().parse(texts[key]) if name}
            assert wanted <= passed[key] | set(DEFAULTS), (lang, key, wanted)


def test_every_text_is_sent_somewhere() -> None:
    # A text nobody sends is either dead or a reply the engine forgot (e.g. the contract's L3 notice).
    used = {key for keys, _ in ALL_USES for key in keys}
    used |= {f"{key}_wa" for key in used}  # a channel form is sent wherever its key is (`Catalogue.text_for`)
    unused = sorted(set(TEXTS["ru"]) - used)
    assert unused == [], f"never sent: {unused}"


def test_every_key_exists_in_russian_and_every_client_text_in_english() -> None:
    ru, en = TEXTS["ru"], TEXTS["en"]
    assert set(en) <= set(ru)
    missing = sorted(k for k in ru if not k.endswith("_admin") and k not in en)
    assert missing == []


def test_admin_texts_stay_russian_whatever_the_client_writes() -> None:
    catalogue = Catalogue(**DEFAULTS)
    text = catalogue.text("relay_admin", "en", who="Anna", text="hello", handle="42")
    assert text.startswith("💬 Anna: hello\nОтветить: /reply 42")


def test_summary_and_receipt_carry_what_the_contract_requires() -> None:
    # Summary: name, phone, class, weekday+date+time, address. Receipt: class, date/time, address, what to bring.
    for texts in TEXTS.values():
        assert {"{who}", "{phone}", "{klass}", "{when}", "{where}"} <= _placeholders(texts["summary"])
        assert {"{klass}", "{when}", "{where}", "{bring}"} <= _placeholders(texts["receipt"])


def _placeholders(template: str) -> set[str]:
    return {"{" + name + "}" for _, name, _, _ in string.Formatter().parse(template) if name}


def test_kb_override_applies_in_the_kb_language_only() -> None:
    ru_studio = Catalogue({"ask_name": "Как к вам обращаться?"}, kb_language="ru", **DEFAULTS)
    assert ru_studio.text("ask_name", "ru") == "Как к вам обращаться?"
    assert ru_studio.text("ask_name", "en") == TEXTS["en"]["ask_name"]
    en_studio = Catalogue({"ask_name": "Your name, please?"}, kb_language="en", **DEFAULTS)
    assert en_studio.text("ask_name", "en") == "Your name, please?"
    assert en_studio.text("ask_name", "ru") == TEXTS["ru"]["ask_name"]


def test_kb_override_gets_the_same_fields() -> None:
    catalogue = Catalogue({"greeting": "Привет! Это «{studio}». Чем помочь?"}, kb_language="ru", **DEFAULTS)
    assert catalogue.text("greeting", "ru") == "Привет! Это «Ритм». Чем помочь?"


def test_demo_kb_catalogue_greets_with_the_studio_name() -> None:
    kb = load_kb("knowledge/studio.yaml").kb
    catalogue = Catalogue(kb.messages, kb_language=kb.tone.language, studio=kb.studio.name)
    assert kb.studio.name in catalogue.text("greeting", "ru")


def test_unknown_language_falls_back_to_russian() -> None:
    assert Catalogue(**DEFAULTS).text("ask_style", "de") == TEXTS["ru"]["ask_style"]


ALL_TEXTS = [(lang, key, text) for lang, texts in TEXTS.items() for key, text in texts.items()]


@pytest.mark.parametrize(("lang", "key", "text"), ALL_TEXTS, ids=[f"{lang}-{key}" for lang, key, _ in ALL_TEXTS])
def test_text_follows_the_conversation_rules(lang: str, key: str, text: str) -> None:
    low = text.lower()
    assert "как ии" not in low and "as an ai" not in low and "языковая модель" not in low
    assert len([ch for ch in text if unicodedata.category(ch) == "So"]) <= 2  # at most 2 emoji
    assert text.count("?") <= 1  # one question per message
