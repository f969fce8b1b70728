"""PRODUCT.md §8 as another studio meets it: its own stickers extend the defaults, a misspelled message key
is a kb-check warning (never an error), and two services on one CRM style are refused with what to do."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from dancebot.conversation.catalogue import TEXTS
from dancebot.crm.service import sticker_classifier
from dancebot.kb import KBInvalid, load_kb, validate_kb
from tests.kb.test_schema import minimal

SHIPPED = Path(__file__).resolve().parents[2] / "knowledge" / "studio.yaml"
CATALOGUE_KEYS = {key for texts in TEXTS.values() for key in texts}


def with_stickers(stickers: dict[str, list[str]]) -> dict[str, Any]:
    data = minimal()
    data["stickers"] = stickers
    return data


def test_a_studio_adding_one_closed_sticker_keeps_the_default_ones() -> None:
    loaded = validate_kb(with_stickers({"closed": ["СТОП-ЗАПИСЬ"]}))
    classify = sticker_classifier(loaded.kb.stickers)

    assert loaded.warnings == []
    assert classify("Стоп-запись до января") == "closed"
    assert classify("НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ") == "closed"
    assert classify("ГРУППА ЗАКРЫТА") == "closed"
    assert classify("ВЫХОДНОЙ") == "cancelled"
    assert classify("МОЖНО ПРИСОЕДИНИТЬСЯ") == "open"
    assert classify("НОВАЯ ХОРЕОГРАФИЯ") == "open"


def test_a_default_repeated_in_another_case_is_not_listed_twice() -> None:
    stickers = validate_kb(with_stickers({"closed": ["  закрыт ", "нельз"], "open": []})).kb.stickers

    assert [p.casefold() for p in stickers.closed] == ["закрыт", "нельз"]
    assert stickers.cancelled == ["ВЫХОДНОЙ"]
    assert stickers.open == ["МОЖНО ПРИСОЕДИНИТЬСЯ"]


def test_a_default_sticker_the_studio_files_elsewhere_follows_the_studio() -> None:
    # This studio marks a teacher's day off as "ВЫХОДНОЙ" but keeps the class in the schedule as closed.
    loaded = validate_kb(with_stickers({"closed": ["выходной"], "cancelled": ["ОТМЕНА"]}))
    classify = sticker_classifier(loaded.kb.stickers)

    assert classify("ВЫХОДНОЙ у педагога") == "closed"
    assert classify("Отмена: зал на ремонте") == "cancelled"
    assert classify("ГРУППА ЗАКРЫТА") == "closed"
    assert "ВЫХОДНОЙ" not in loaded.kb.stickers.cancelled


def test_two_services_on_one_crm_style_are_refused_with_what_to_do() -> None:
    data = minimal()
    heels = {**data["services"][0], "id": "heels", "name": "High Heels", "crm_style_ids": [1]}
    beginners = {**heels, "id": "heels_beginners", "name": "Heels для начинающих", "aliases": ["хилс с нуля"]}
    data["services"] = [heels, beginners]

    with pytest.raises(KBInvalid) as info:
        validate_kb(data)

    (problem,) = info.value.problems
    assert problem.path == "services[1].crm_style_ids[0]"
    assert "already belongs to service 'heels'" in problem.message
    assert "alias" in problem.message


def test_a_misspelled_message_key_is_a_warning_naming_the_closest_key() -> None:
    data = minimal()
    data["messages"] = {"greting": "Привет! Это «Пульс», чем помочь?", "ask_name": "Как к тебе обращаться?"}

    loaded = validate_kb(data, known_messages=CATALOGUE_KEYS)

    assert loaded.warnings == ["messages.greting: unknown message key, ignored (did you mean 'greeting'?)"]
    assert loaded.kb.messages["ask_name"] == "Как к тебе обращаться?"


def test_a_message_key_like_nothing_known_is_still_only_a_warning(tmp_path: Path) -> None:
    data = minimal()
    data["messages"] = {"zzz": "…", "receipt_wa": "Записала ✅ {klass}, {when}"}
    path = tmp_path / "studio.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    loaded = load_kb(path, known_messages=CATALOGUE_KEYS)

    assert loaded.warnings == ["messages.zzz: unknown message key, ignored"]
    assert set(loaded.kb.messages) == {"zzz", "receipt_wa"}


def test_without_the_catalogue_message_keys_are_not_judged() -> None:
    data = minimal()
    data["messages"] = {"greting": "Привет!"}

    assert validate_kb(data).warnings == []


def test_shipped_studio_has_no_warnings_against_the_catalogue() -> None:
    assert load_kb(SHIPPED, known_messages=CATALOGUE_KEYS).warnings == []
