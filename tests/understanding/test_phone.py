"""Phones as clients type them end up in E.164; a mistyped one is flagged, dates are left alone."""

from __future__ import annotations

import pytest

from dancebot.understanding.phone import extract_phone, mask_phone


@pytest.mark.parametrize(
    "text",
    [
        "8 914 123-45-67",
        "+7(914)1234567",
        "79141234567",
        "914 123 45 67",
        "мой номер 8-914-123-45-67",
        "Аня, 89141234567, в пятницу в 19",
        "тел. +7 914 123 45 67 запишите плиз",
        "в 19 89141234567",
    ],
)
def test_russian_mobile_in_any_spelling_becomes_e164(text: str) -> None:
    result = extract_phone(text)
    assert result is not None and result.valid
    assert result.e164 == "+79141234567"


def test_the_first_of_two_numbers_is_taken() -> None:
    result = extract_phone("89141234567 или запасной 89147654321")
    assert result is not None and result.e164 == "+79141234567"


def test_studio_landline_and_foreign_numbers_are_valid_too() -> None:
    landline = extract_phone("+7 (423) 200-12-34")
    belarus = extract_phone("+375 29 123-45-67")
    assert landline is not None and landline.e164 == "+74232001234"
    assert belarus is not None and belarus.e164 == "+375291234567"


@pytest.mark.parametrize("text", ["мой номер 8914123", "8 914 123 456", "телефон 123456789012345"])
def test_a_mistyped_number_is_reported_invalid_without_an_e164(text: str) -> None:
    result = extract_phone(text)
    assert result is not None
    assert not result.valid and result.e164 is None


@pytest.mark.parametrize(
    "text",
    [
        "на 15.12.2026 в 19:30",
        "запишите на 3 занятия по пн и ср",
        "12.12 в 19 00",
        "опаздываю на 10 минут",
        "сколько стоит абонемент на 8 занятий",
        "привет",
    ],
)
def test_dates_times_and_counts_are_not_phones(text: str) -> None:
    assert extract_phone(text) is None


def test_masked_phone_keeps_country_operator_and_last_three_digits() -> None:
    assert mask_phone("+79141234567") == "+7914****567"
    assert mask_phone("+79991234567") == "+7999****567"


def test_short_numbers_are_masked_except_the_last_two_digits() -> None:
    assert mask_phone("+12345") == "+***45"
