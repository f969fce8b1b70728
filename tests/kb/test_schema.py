"""KnowledgeBase models: lookups callers rely on, defaults of optional sections, strict types."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from dancebot.kb import KnowledgeBase
from dancebot.kb.schema import Holiday, Subscription

SHIPPED = Path(__file__).resolve().parents[2] / "knowledge" / "studio.yaml"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.model_validate(yaml.safe_load(SHIPPED.read_text(encoding="utf-8")))


def minimal() -> dict[str, Any]:
    """A studio with only the required sections, as another studio might write it."""
    return {
        "schema_version": "1.0",
        "studio": {
            "name": "Пульс",
            "phone": "+7 (423) 000-00-00",
            "timezone": "Asia/Vladivostok",
            "branches": [
                {
                    "id": "main",
                    "name": "Основной",
                    "address": "ул. Алеутская, 1",
                    "crm_branch_id": 7,
                    "aliases": [],
                }
            ],
        },
        "tone": {"language": "ru", "pronoun": "ты", "style_notes": "", "allowed_emoji": []},
        "services": [
            {
                "id": "bachata",
                "name": "Бачата",
                "description": "",
                "aliases": ["бачата"],
                "crm_style_ids": [3],
                "price_single": 800,
                "level": "с нуля",
            }
        ],
        "teachers": [],
        "faq": [],
        "holidays": [],
        "escalation": {"triggers": ["жалоба"]},
    }


def error_locs(data: dict[str, Any]) -> list[tuple[str | int, ...]]:
    with pytest.raises(ValidationError) as info:
        KnowledgeBase.model_validate(data)
    return [error["loc"] for error in info.value.errors()]


def test_lookups_by_kb_id(kb: KnowledgeBase) -> None:
    assert kb.service("high_heels").price_single == 700
    assert kb.teacher("igor").name == "Игорь Ким"
    assert kb.branch("gogolya").address == "ул. Гоголя, 41, ТЦ «Гоголь», 2 этаж"
    assert kb.service("zumba") is None
    assert kb.teacher("masha") is None
    assert kb.branch("lugovaya") is None


def test_lookups_by_crm_id(kb: KnowledgeBase) -> None:
    assert kb.branch_by_crm_id(2).id == "gogolya"
    assert kb.service_by_crm_style_id(14).id == "salsa"
    assert kb.teacher_by_crm_id(105).id == "olga"
    assert kb.branch_by_crm_id(99) is None
    assert kb.service_by_crm_style_id(99) is None
    assert kb.teacher_by_crm_id(999) is None


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 12, 12), "Отчётный концерт"),
        (date(2026, 12, 13), None),
        (date(2026, 12, 30), None),
        (date(2026, 12, 31), "Новогодние каникулы"),
        (date(2027, 1, 2), "Новогодние каникулы"),
        (date(2027, 1, 4), "Новогодние каникулы"),
        (date(2027, 1, 5), None),
    ],
)
def test_holidays_include_both_ends(kb: KnowledgeBase, day: date, name: str | None) -> None:
    holiday = kb.holiday_on(day)
    assert (holiday.name if holiday else None) == name


def test_timezone_and_prices(kb: KnowledgeBase) -> None:
    assert kb.tz.key == "Asia/Vladivostok"
    assert {500, 550, 600, 650, 700, 2400, 4400, 6900} <= kb.prices()
    assert 300 not in kb.prices()


def test_optional_sections_get_defaults() -> None:
    kb = KnowledgeBase.model_validate(minimal())

    assert kb.subscriptions == []
    assert kb.policies.late_cancel_hours == 4
    assert (kb.booking.lookahead_days, kb.booking.max_serial) == (14, 5)
    assert kb.stickers.closed == ["НЕЛЬЗ", "ЗАКРЫТ"]
    assert kb.stickers.cancelled == ["ВЫХОДНОЙ"]
    assert kb.stickers.open == ["МОЖНО ПРИСОЕДИНИТЬСЯ"]
    assert kb.messages == {}
    assert kb.prices() == {800}


def test_models_are_frozen(kb: KnowledgeBase) -> None:
    with pytest.raises(ValidationError):
        kb.service("salsa").price_single = 1  # type: ignore[misc]


def test_types_are_not_coerced() -> None:
    data = minimal()
    data["services"][0]["price_single"] = "800"
    data["services"][0]["crm_style_ids"] = [3.0]
    data["studio"]["branches"][0]["crm_branch_id"] = True
    data["studio"]["phone"] = 4232000000

    assert error_locs(data) == [
        ("studio", "phone"),
        ("studio", "branches", 0, "crm_branch_id"),
        ("services", 0, "crm_style_ids", 0),
        ("services", 0, "price_single"),
    ]


def test_at_least_one_service_and_branch() -> None:
    data = minimal()
    data["services"] = []
    data["studio"]["branches"] = []

    assert error_locs(data) == [("studio", "branches"), ("services",)]


def test_holiday_dates_may_be_quoted_but_must_be_ordered() -> None:
    holiday = Holiday.model_validate({"from": "2026-03-08", "to": "2026-03-08", "name": "8 Марта", "message": ""})
    assert holiday.covers(date(2026, 3, 8))

    with pytest.raises(ValidationError) as info:
        Holiday.model_validate({"from": "2026-03-09", "to": "2026-03-08", "name": "8 Марта", "message": ""})
    assert [e["loc"] for e in info.value.errors()] == [("to",)]


def test_cross_reference_errors_are_all_reported() -> None:
    data = minimal()
    teacher = {
        "id": "lena",
        "name": "Лена",
        "aliases": [],
        "styles": ["bachata"],
        "bio": "",
        "crm_teacher_id": 5,
    }
    data["teachers"] = [teacher, {**teacher, "styles": ["kizomba", "bachata", "zouk"]}]

    assert error_locs(data) == [
        ("teachers", 1, "id"),
        ("teachers", 1, "crm_teacher_id"),
        ("teachers", 1, "styles", 0),
        ("teachers", 1, "styles", 2),
    ]


def test_rating_is_reported_alongside_field_errors() -> None:
    data = minimal()
    data["teachers"] = [{"id": "lena", "name": "Лена", "aliases": [], "styles": ["bachata"], "bio": 5, "rating": 5}]

    assert error_locs(data) == [("teachers", 0, "bio"), ("teachers", 0, "rating")]


def test_unlimited_subscription() -> None:
    unlimited = Subscription(name="Безлимит", price=6900, classes=-1, validity_days=30)
    assert unlimited.unlimited
    assert not Subscription(name="8 занятий", price=4400, classes=8, validity_days=30).unlimited
