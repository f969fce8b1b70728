"""Text normalisation, tokenisation and lemmas shared by every rule of understanding (PRODUCT.md §6).

Clients type fast: mixed case, "ё" or "е", Latin letters that look Cyrillic ("хилc" with a Latin
"c"), hyphens ("хип-хоп"). Everything downstream compares normalised tokens and lemmas, so this is
the one place that decides what a word is.

pymorphy3 is slow to build (dictionaries load from disk), so one `MorphAnalyzer` is created on first
use and shared; per-word results are cached because clients repeat the same few hundred words.
Latin words skip pymorphy entirely.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache

import pymorphy3

__all__ = [
    "Doc",
    "analyse",
    "is_cyrillic",
    "is_gibberish_word",
    "is_known_word",
    "is_latin",
    "lemma",
    "lemma_forms",
    "lemmas",
    "morph",
    "name_forms",
    "normalize",
    "tokenize",
]

# Latin letters that render like Cyrillic ones, and back; applied only inside mixed-script words.
_LAT_TO_CYR = str.maketrans("aceopxykmtbh", "асеорхукмтвн")
_CYR_TO_LAT = str.maketrans("асеорхукмтвн", "aceopxykmtbh")
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−"})
_TOKEN_RE = re.compile(r"[a-zа-я]+|\d+")
_CYR_RE = re.compile(r"[а-я]")
_LAT_RE = re.compile(r"[a-z]")
_WORD_RE = re.compile(r"[a-zа-яё]+", re.IGNORECASE)
_NAME_TAGS = frozenset({"Name", "Surn", "Patr"})
_KEYBOARD_ROWS = ("йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_VOWELS = frozenset("аеиоуыэюяaeiouy")
_REPEAT3_RE = re.compile(r"(.)\1\1")
_CONSONANT_RUN_RE = re.compile(r"[^аеиоуыэюяaeiouyьъй\d]{5,}")


@lru_cache(maxsize=1)
def morph() -> pymorphy3.MorphAnalyzer:
    """The process-wide analyser, built on first use (never at import)."""
    return pymorphy3.MorphAnalyzer()


def _fix_mixed_script(match: re.Match[str]) -> str:
    word = match.group(0)
    cyr = len(_CYR_RE.findall(word))
    lat = len(_LAT_RE.findall(word))
    if not cyr or not lat:
        return word
    return word.translate(_LAT_TO_CYR) if cyr >= lat else word.translate(_CYR_TO_LAT)


def normalize(text: str) -> str:
    """Lowercase, NFKC, "ё"→"е", one kind of dash, mixed-script words made single-script."""
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е").translate(_DASHES)
    return _WORD_RE.sub(_fix_mixed_script, text)


def tokenize(text: str) -> list[str]:
    """Words and digit runs of the normalised text; punctuation and hyphens separate tokens."""
    return _TOKEN_RE.findall(normalize(text))


def is_latin(token: str) -> bool:
    return bool(token) and token.isascii() and token.isalpha()


def is_cyrillic(token: str) -> bool:
    """A word that starts with a Russian letter (called for every token of every rule: keep it cheap)."""
    return bool(token) and ("а" <= token[0] <= "я" or token[0] == "ё") and token.isalpha()


@lru_cache(maxsize=20_000)
def _parses(token: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """(normal form, grammemes) per pymorphy parse, best first, with "ё" folded to "е"."""
    return tuple((p.normal_form.replace("ё", "е"), frozenset(p.tag.grammemes)) for p in morph().parse(token))


def lemma(token: str) -> str:
    """The most likely dictionary form; Latin words and numbers are returned as they are."""
    if not is_cyrillic(token):
        return token
    parses = _parses(token)
    return parses[0][0] if parses else token


@lru_cache(maxsize=20_000)
def lemma_forms(token: str) -> frozenset[str]:
    """Every dictionary form pymorphy considers ("насте" → {"наст", "настя"}), plus the token."""
    if not is_cyrillic(token):
        return frozenset({token})
    return frozenset({token, *(form for form, _ in _parses(token))})


@lru_cache(maxsize=20_000)
def name_forms(token: str) -> frozenset[str]:
    """Dictionary forms of the parses that read the token as a first name, surname or patronymic."""
    if not is_cyrillic(token):
        return frozenset()
    return frozenset(form for form, grammemes in _parses(token) if grammemes & _NAME_TAGS)


@lru_cache(maxsize=20_000)
def is_known_word(token: str) -> bool:
    """True for a Russian dictionary word; typos, gibberish and Latin words are unknown."""
    return is_cyrillic(token) and morph().word_is_known(token)


def is_gibberish_word(token: str) -> bool:
    """Keyboard mashing: "ааааа", "ывапролд", "qwerty", "ghbdtn" (a word typed in the wrong layout)."""
    if len(token) < 3 or token.isdigit():
        return False
    if _REPEAT3_RE.search(token) and len(set(token)) <= 2:
        return True
    # Four keys in a row; five for Latin, where "property" and "liberty" contain "erty".
    run = 5 if token.isascii() else 4
    if any(
        token[i : i + run] in row or token[i : i + run][::-1] in row
        for row in _KEYBOARD_ROWS
        for i in range(len(token) - run + 1)
    ):
        return not is_known_word(token)
    if len(token) >= 4 and not _VOWELS & set(token):
        return True
    return bool(_CONSONANT_RUN_RE.search(token)) and not is_known_word(token)


def lemmas(text: str) -> list[str]:
    """Lemmas of the text's tokens, in order."""
    return list(analyse(text).lemmas)


@dataclass(frozen=True)
class Doc:
    """One message, analysed once and shared by all rules."""

    raw: str
    norm: str
    tokens: tuple[str, ...]
    lemmas: tuple[str, ...]

    @cached_property
    def forms(self) -> frozenset[str]:
        """Every dictionary form of every token: recall first, for keyword cues."""
        return frozenset().union(*(lemma_forms(t) for t in self.tokens))

    @cached_property
    def positions(self) -> dict[str, tuple[int, ...]]:
        """Where each token and each of its dictionary forms occurs: lets a KB term be looked up
        instead of tried at every position of every message."""
        found: dict[str, list[int]] = {}
        for i, token in enumerate(self.tokens):
            for form in lemma_forms(token):
                found.setdefault(form, []).append(i)
        return {form: tuple(at) for form, at in found.items()}


@lru_cache(maxsize=512)
def analyse(text: str) -> Doc:
    """Normalise, tokenise and lemmatise `text`; cached, so every rule can call it freely."""
    norm = normalize(text)
    tokens = tuple(_TOKEN_RE.findall(norm))
    return Doc(raw=text, norm=norm, tokens=tokens, lemmas=tuple(lemma(t) for t in tokens))
