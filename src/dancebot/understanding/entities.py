"""Styles, teachers and branches named in a message, resolved to KB ids (PRODUCT.md §5.1).

Clients inflect ("на сальсу", "сальсой", "к Насте", "на Светланской"), abbreviate ("хилс",
"контемп"), misspell ("хилз", "стрейчинг") and mix scripts ("hip hop"). Matching is by word, never
by substring ("настроение" is not Настя), in this order of trust: the alias as written, an inflected
form of it (pymorphy lemmas; for people, name parses and case endings), the words run together
("хип хопом" → "хипхоп"), and last a small edit distance on words the dictionary does not know, so
that "дома" never becomes "Дима". A style the studio does not teach is reported, never invented:
`unknown_style_mention` finds "бачата" and `nearest_styles` lists what the studio has instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, TypeAlias

from dancebot.kb.schema import KnowledgeBase
from dancebot.understanding.fuzzy import Levenshtein, fuzz
from dancebot.understanding.style_lexicon import DANCE_STYLES
from dancebot.understanding.text import (
    Doc,
    analyse,
    is_cyrillic,
    is_gibberish_word,
    is_known_word,
    is_latin,
    lemma,
    lemma_forms,
    name_forms,
    normalize,
    tokenize,
)

__all__ = [
    "BranchMatch",
    "EntityMatch",
    "StyleMatch",
    "TeacherMatch",
    "kb_words",
    "nearest_styles",
    "resolve_branches",
    "resolve_styles",
    "resolve_teachers",
    "unknown_style_mention",
]

Mode = Literal["word", "name"]
EXACT, INFLECTED, JOINED = 1.0, 0.95, 0.9
MAX_WINDOW = 3
_CASE_ENDINGS = frozenset(
    "а я у ю е ы и ой ей ою ом ем ам ям ах ях ами ями ов ев ку".split()
) | {""}  # fmt: skip
# A branch word that means something else after these ("торговый центр" is not the Центр branch).
_NOT_AFTER = frozenset({"торговый", "торговом", "торгового", "тц", "бизнес", "развлекательный"})
_ASK_CUES = frozenset({"есть", "ли", "учите", "преподаете", "ведете", "на", "по"})
_WANT_CUES = frozenset({"хотеть", "записаться", "записать"})
_DANCE_CONTEXT = frozenset({"танец", "танцевать", "направление", "стиль", "занятие", "группа", "урок"})
_SKIP_AFTER_CUE = frozenset({"ли", "у", "вас", "еще", "тоже", "а", "и", "по", "на", "занятия", "танец", "танцы"})


@dataclass(frozen=True)
class EntityMatch:
    """A KB entity named in the message: `id` is the KB id, `surface` the words that named it."""

    id: str
    score: float
    surface: str
    start: int


StyleMatch: TypeAlias = EntityMatch
TeacherMatch: TypeAlias = EntityMatch
BranchMatch: TypeAlias = EntityMatch


@dataclass(frozen=True)
class _Term:
    entity_id: str
    tokens: tuple[str, ...]
    lemmas: tuple[str, ...]
    key: str  # the words run together: "хип хоп" → "хипхоп"
    key_lemma: str

    @classmethod
    def of(cls, entity_id: str, tokens: tuple[str, ...]) -> _Term:
        key = "".join(tokens)
        return cls(entity_id, tokens, tuple(lemma(t) for t in tokens), key, lemma(key))


@dataclass(frozen=True)
class _Span:
    entity_id: str
    score: float
    start: int
    end: int


@dataclass(frozen=True)
class _Index:
    styles: tuple[_Term, ...]
    teachers: tuple[_Term, ...]
    branches: tuple[_Term, ...]
    lexicon: tuple[_Term, ...]

    def words(self, *, teachers: bool) -> frozenset[str]:
        groups = [self.styles, self.branches, self.lexicon, *([self.teachers] if teachers else [])]
        words = {t for group in groups for term in group for t in term.tokens if len(t) > 2}
        return frozenset(words | {lemma(w) for w in words})


_INDEXES: dict[int, tuple[_Index, frozenset[str], frozenset[str]]] = {}


def _terms(pairs: Iterable[tuple[str, str]]) -> tuple[_Term, ...]:
    seen: dict[tuple[str, tuple[str, ...]], _Term] = {}
    for entity_id, phrase in pairs:
        tokens = tuple(tokenize(phrase))
        if tokens:
            seen.setdefault((entity_id, tokens), _Term.of(entity_id, tokens))
    return tuple(seen.values())


def _index(kb: KnowledgeBase) -> _Index:
    return _cached(kb)[0]


def _cached(kb: KnowledgeBase) -> tuple[_Index, frozenset[str], frozenset[str]]:
    """Terms and vocabularies of one KB, built once per KB object and dropped with it."""
    cached = _INDEXES.get(id(kb))
    if cached is None:
        index = _Index(
            styles=_terms((s.id, p) for s in kb.services for p in (s.name, *s.aliases)),
            teachers=_terms((t.id, p) for t in kb.teachers for p in (t.name, *t.aliases)),
            branches=_terms((b.id, p) for b in kb.studio.branches for p in (b.name, *b.aliases)),
            lexicon=_lexicon_terms(),
        )
        cached = (index, index.words(teachers=False), index.words(teachers=True))
        _INDEXES[id(kb)] = cached
        weakref.finalize(kb, _INDEXES.pop, id(kb), None)
    return cached


@lru_cache(maxsize=1)
def _lexicon_terms() -> tuple[_Term, ...]:
    return _terms((name, p) for name, (spellings, _) in DANCE_STYLES.items() for p in (name, *spellings))


def resolve_styles(text: str, kb: KnowledgeBase) -> list[StyleMatch]:
    """KB services named in `text` ("на сальсу", "хилсы", "хип хопом", "контемпорари", "хилз")."""
    return _best(analyse(text), _match(analyse(text), _index(kb).styles, mode="word", fuzzy=True))


def resolve_teachers(text: str, kb: KnowledgeBase) -> list[TeacherMatch]:
    """KB teachers named in `text` ("к Насте", "у Димы", "с Катюшей", "Игорёк", "Ковалёвой")."""
    return _best(analyse(text), _match(analyse(text), _index(kb).teachers, mode="name", fuzzy=True))


def resolve_branches(text: str, kb: KnowledgeBase) -> list[BranchMatch]:
    """KB branches named in `text` ("на Светланской", "на гоголя", "в центре")."""
    doc = analyse(text)
    spans = [
        s
        for s in _match(doc, _index(kb).branches, mode="word", fuzzy=True)
        if not (s.start > 0 and doc.tokens[s.start - 1] in _NOT_AFTER)
    ]
    return _best(doc, spans)


def unknown_style_mention(text: str, kb: KnowledgeBase) -> str | None:
    """A dance style the client asks about that the KB does not have ("есть бачата?" → "бачата")."""
    doc = analyse(text)
    index = _index(kb)
    known = list(_match(doc, index.styles, mode="word", fuzzy=True))
    taken = {i for s in known for i in range(s.start, s.end)}
    foreign = [
        s for s in _match(doc, index.lexicon, mode="word", fuzzy=False) if taken.isdisjoint(range(s.start, s.end))
    ]
    if foreign:
        return max(foreign, key=lambda s: (s.end - s.start, -s.start)).entity_id
    if known:
        return None
    for spans in (
        _match(doc, index.teachers, mode="name", fuzzy=False),
        _match(doc, index.branches, mode="word", fuzzy=False),
    ):
        taken |= {i for s in spans for i in range(s.start, s.end)}
    return _asked_unknown_word(doc, taken)


def _asked_unknown_word(doc: Doc, taken: set[int]) -> str | None:
    """A word no dictionary knows, asked for as a class: "хочу на лимбоданс", "есть ли у вас занятия
    по лимбодансу?". Without a booking wish or dance words ("есть вайфай?") nothing is reported."""
    if doc.forms.isdisjoint(_WANT_CUES) and doc.forms.isdisjoint(_DANCE_CONTEXT):
        return None
    tokens = doc.tokens
    for i, token in enumerate(tokens):
        if token not in _ASK_CUES:
            continue
        j = i + 1
        while j < len(tokens) and tokens[j] in _SKIP_AFTER_CUE:
            j += 1
        if j >= len(tokens) or j in taken:
            continue
        candidate = tokens[j]
        if is_cyrillic(candidate) and len(candidate) >= 4 and not is_known_word(candidate):
            if not is_gibberish_word(candidate):
                return lemma(candidate)
    return None


def nearest_styles(raw: str, kb: KnowledgeBase, k: int = 4) -> list[str]:
    """Up to `k` KB service ids closest to `raw` (a style the studio lacks), nearest first."""
    ranked: list[str] = []
    for hint in _hints(raw):
        for match in resolve_styles(hint, kb):
            if match.id not in ranked:
                ranked.append(match.id)
    norm = normalize(raw)
    by_similarity = sorted(
        kb.services,
        key=lambda s: -max(fuzz.WRatio(norm, normalize(p)) for p in (s.name, *s.aliases)),
    )
    ranked += [s.id for s in by_similarity if s.id not in ranked]
    return ranked[:k]


def _hints(raw: str) -> tuple[str, ...]:
    """Hint words of the known dance style `raw` names ("бачата" → "латина", "сальса")."""
    spans = list(_match(analyse(raw), _lexicon_terms(), mode="word", fuzzy=False))
    if not spans:
        return ()
    longest = max(spans, key=lambda s: (s.end - s.start, -s.start))
    return DANCE_STYLES[longest.entity_id][1]


def kb_words(kb: KnowledgeBase, *, teachers: bool = False) -> frozenset[str]:
    """Words (and their lemmas) the KB uses for styles and branches, plus known dance styles.

    These are never a client's name ("хилс" is not a name even when asked); with `teachers`, the
    teachers' names too — for telling studio words from gibberish, not for names.
    """
    _, words, with_teachers = _cached(kb)
    return with_teachers if teachers else words


def _best(doc: Doc, spans: Iterable[_Span]) -> list[EntityMatch]:
    """One match per entity (its best), most certain first, then in message order."""
    best: dict[str, _Span] = {}
    for span in spans:
        current = best.get(span.entity_id)
        if current is None or (span.score, -span.start) > (current.score, -current.start):
            best[span.entity_id] = span
    ordered = sorted(best.values(), key=lambda s: (-s.score, s.start))
    return [EntityMatch(s.entity_id, s.score, " ".join(doc.tokens[s.start : s.end]), s.start) for s in ordered]


def _match(doc: Doc, terms: Iterable[_Term], *, mode: Mode, fuzzy: bool) -> Iterator[_Span]:
    """Every span of `doc` naming one of `terms`. The rules ask the same question of one message several
    times (styles for the booking and for the unknown-style check…): the answer is kept on the message,
    for that very `terms` object."""
    memo: dict[tuple[int, Mode, bool], tuple[object, tuple[_Span, ...]]] = doc.__dict__.setdefault("_spans", {})
    key = (id(terms), mode, fuzzy)
    kept = memo.get(key)
    if kept is not None and kept[0] is terms:  # the same object, not a new one at a reused address
        return iter(kept[1])
    spans = tuple(_scan(doc, terms, mode=mode, fuzzy=fuzzy))
    memo[key] = (terms, spans)
    return iter(spans)


def _scan(doc: Doc, terms: Iterable[_Term], *, mode: Mode, fuzzy: bool) -> Iterator[_Span]:
    tokens = doc.tokens
    runs, run_lemmas = _runs(tokens)
    positions = doc.positions
    for term in terms:
        size = len(term.tokens)
        if mode == "word":  # a word's first token must be it or one of its forms: look it up
            first = positions.get(term.tokens[0], ()) + positions.get(term.lemmas[0], ())
            starts: Iterable[int] = sorted({i for i in first if i <= len(tokens) - size})
        else:
            starts = range(len(tokens) - size + 1)
        for start in starts:
            window = tokens[start : start + size]
            if window == term.tokens:
                yield _Span(term.entity_id, EXACT, start, start + size)
            elif all(_same_word(t, term, j, mode) for j, t in enumerate(window)):
                yield _Span(term.entity_id, INFLECTED, start, start + size)
        # Words run together or split differently: "хип хопом", "хипхопом", "hip hop" → "hiphop".
        for start, end in (*runs.get(term.key, ()), *run_lemmas.get(term.key_lemma, ())):
            if not (size == 1 and end - start == 1):  # one word against one word: done above
                yield _Span(term.entity_id, JOINED, start, end)
        if fuzzy:
            yield from _fuzzy(tokens, term, mode)


def _same_word(token: str, term: _Term, j: int, mode: Mode) -> bool:
    """`token` is the term's j-th word inflected: "сальсу"/"сальса", "насте"/"настя", "димоном"."""
    word = term.tokens[j]
    if token == word:
        return True
    if mode == "word":
        return term.lemmas[j] in lemma_forms(token)
    if name_forms(token) & (name_forms(word) or {word}):
        return True
    stem = word[:-1] if word[-1] in "аяьйо" else word
    return len(stem) >= 3 and token.startswith(stem) and token[len(stem) :] in _CASE_ENDINGS


Runs = dict[str, list[tuple[int, int]]]


@lru_cache(maxsize=512)
def _runs(tokens: tuple[str, ...]) -> tuple[Runs, Runs]:
    """Where each run of 1–3 words, written together, occurs — as typed and lemmatised."""
    runs: Runs = {}
    run_lemmas: Runs = {}
    for size in range(1, MAX_WINDOW + 1):
        for start in range(len(tokens) - size + 1):
            joined = "".join(tokens[start : start + size])
            runs.setdefault(joined, []).append((start, start + size))
            if is_cyrillic(joined):
                run_lemmas.setdefault(lemma(joined), []).append((start, start + size))
    return runs, run_lemmas


def _fuzzy(tokens: tuple[str, ...], term: _Term, mode: Mode) -> Iterator[_Span]:
    """Typos, only in words no dictionary knows ("хилз", "стрейчинг"); for people, also in words it
    takes for some name ("анастосия"), so that "дома" never becomes "Дима"."""
    key = term.key
    if len(key) < (4 if mode == "word" else 7):
        return
    allowed = 1 if len(key) <= 7 or mode == "name" else 2
    for start, token, its_lemma, known in _fuzzy_candidates(tokens, mode):
        clipped = len(token) >= 5 and key.startswith(token) and len(key) - len(token) == 1  # "детски" → "детские"
        if known and not clipped:
            continue
        distance = min(
            Levenshtein.distance(token, key, score_cutoff=allowed),
            Levenshtein.distance(its_lemma, key, score_cutoff=allowed),
        )
        if distance <= allowed:
            yield _Span(term.entity_id, round(0.85 - 0.05 * distance, 2), start, start + 1)


@lru_cache(maxsize=512)
def _fuzzy_candidates(tokens: tuple[str, ...], mode: Mode) -> tuple[tuple[int, str, str, bool], ...]:
    """The message's words a typo could hide in, once per message instead of once per KB term:
    (position, word, lemma, a dictionary word that only a clipped ending lets through)."""
    found = []
    for start, token in enumerate(tokens):
        if len(token) < 4 or token.isdigit():
            continue
        if not (is_cyrillic(token) or is_latin(token)):
            continue
        known = is_known_word(token) and (mode == "word" or not name_forms(token))
        found.append((start, token, lemma(token), known))
    return tuple(found)
