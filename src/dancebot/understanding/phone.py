"""Phone numbers in client messages, normalised to E.164 (PRODUCT.md §5.1 `client_phone`).

Clients write "8 914 123-45-67", "+7(914)1234567", "79141234567" or just "914 123 45 67", often
inside a longer message ("Аня, 89141234567, в пятницу"). `phonenumbers` finds and validates them
with region RU. A digit run that looks like an attempt at a phone but is not a valid number is
reported with `valid=False`, so the engine can say once "that number looks wrong, e.g. +7 914
123-45-67" instead of silently ignoring it. Dates and times ("15.12.2026", "19:30") are not phones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher

__all__ = ["PhoneResult", "display_phone", "extract_phone", "mask_phone"]

REGION = "RU"
# A run of digits with the usual separators, long enough to be meant as a phone number.
_ATTEMPT_RE = re.compile(r"\+?\d[\d\s\-()]{5,}\d")
_MIN_ATTEMPT_DIGITS = 7
# Digits right after a word that announces a phone ("тел 12345", "номер: 914-12") are meant as one.
_CUED_RE = re.compile(
    r"(?:\bтел(?:ефон|\.)?|\bтлф|\bномер|\bмоб(?:ильный|\.)?|\bphone|\btel\.?)\s*[:\-]?\s*(\+?\d[\d\s\-()]*\d|\d)",
    re.I,
)


@dataclass(frozen=True)
class PhoneResult:
    """A phone found in text: `e164` is set only when `valid`; `raw` is what the client typed."""

    raw: str
    e164: str | None
    valid: bool


def extract_phone(text: str) -> PhoneResult | None:
    """The first valid phone in `text`; else an invalid attempt (valid=False); else None."""
    invalid: PhoneResult | None = None
    for match in PhoneNumberMatcher(text, REGION, leniency=Leniency.POSSIBLE):
        if phonenumbers.is_valid_number(match.number):
            e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
            return PhoneResult(raw=match.raw_string, e164=e164, valid=True)
        invalid = invalid or PhoneResult(raw=match.raw_string, e164=None, valid=False)
    if invalid:
        return invalid
    for attempt in _ATTEMPT_RE.finditer(text):
        raw = attempt.group(0).strip()
        if _is_phone_attempt(raw):
            return PhoneResult(raw=raw, e164=None, valid=False)
    cued = _CUED_RE.search(text)
    if cued and sum(ch.isdigit() for ch in cued.group(1)) >= 3:
        return PhoneResult(raw=cued.group(0).strip(), e164=None, valid=False)
    return None


def _is_phone_attempt(raw: str) -> bool:
    digits = sum(ch.isdigit() for ch in raw)
    # "19 00" or "12 12" are times and dates, not phones; a long run or a leading +7/8 is a phone.
    return digits >= _MIN_ATTEMPT_DIGITS or (raw.startswith(("+7", "8")) and digits >= 6)


def mask_phone(e164: str) -> str:
    """ "+79141234567" → "+7914****567": enough to recognise, not enough to call (PRODUCT.md §13)."""
    digits = e164.lstrip("+")
    prefix = "+" if e164.startswith("+") else ""
    if len(digits) < 8:
        return prefix + "*" * max(len(digits) - 2, 0) + digits[-2:]
    return f"{prefix}{digits[:4]}****{digits[-3:]}"


def display_phone(e164: str) -> str:
    """ "+79141234567" → "+7 914 123-45-67", as the client reads it back in a summary."""
    try:
        number = phonenumbers.parse(e164, REGION)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
