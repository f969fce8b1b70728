"""What of the KB an LLM call may see (PRODUCT.md §9.1): the names clients use, and passages retrieved for
one question. Never the schedule: that lives in the CRM and reaches a client only through the rules.

`kb_names` lists styles, teachers and branches with their aliases — the words the extractor may point at.
`retrieve` ranks the KB's passages (FAQ entries, styles with their single price, subscriptions, branches,
teachers, holidays, policies) by the question's content lemmas, rarer words weighing more and words of a
passage's title or keywords twice, and returns the best few: the only facts an FAQ answer may be composed
from.
"""

from __future__ import annotations

import math
import weakref
from collections import Counter
from dataclasses import dataclass

from dancebot.kb.schema import KnowledgeBase
from dancebot.understanding.text import analyse

__all__ = ["Passage", "content_lemmas", "content_sequence", "kb_names", "passages", "retrieve"]

TOP_K = 3
_STOP = frozenset(
    "я вы мы ты он она они оно на в во с со и а но ли же бы есть у по за до для к о об не это быть можно мой ваш "
    "вас нас мне что чем как какой такой там тут или то если уже ещё еще весь свой этот тот кто где когда "
    "the a an is are do you i to of and or in on at for it".split()
)


@dataclass(frozen=True)
class Passage:
    title: str
    text: str
    keys: str = ""  # words a question may use for it (FAQ keywords, aliases): found by, never shown

    def render(self) -> str:
        return f"{self.title}: {self.text}"


def content_sequence(text: str) -> list[str]:
    """Lemmas that carry meaning, in order: no stop words, no one-letter tokens."""
    return [lemma for lemma in analyse(text).lemmas if len(lemma) > 1 and lemma not in _STOP]


def content_lemmas(text: str) -> frozenset[str]:
    return frozenset(content_sequence(text))


def kb_names(kb: KnowledgeBase) -> dict[str, list[str]]:
    """`{"styles": ["High Heels (хилс, каблуки, …)", …], "teachers": […], "branches": […]}`."""

    def label(name: str, aliases: list[str]) -> str:
        return f"{name} ({', '.join(aliases)})" if aliases else name

    return {
        "styles": [label(s.name, s.aliases) for s in kb.services],
        "teachers": [label(t.name, t.aliases) for t in kb.teachers],
        "branches": [label(b.name, b.aliases) for b in kb.studio.branches],
    }


# passages; per passage, the lemmas of its text and of its title and keys; each lemma's weight
_Index = tuple[tuple[Passage, ...], tuple[tuple[frozenset[str], frozenset[str]], ...], dict[str, float]]
_INDEXES: dict[int, _Index] = {}


def passages(kb: KnowledgeBase) -> tuple[Passage, ...]:
    """Every fact of the KB a client may ask about, one passage each."""
    return _index(kb)[0]


def _passages(kb: KnowledgeBase) -> tuple[Passage, ...]:
    out = [Passage(f"FAQ «{f.q}»", " ".join(f.a.split()), " ".join(f.keywords)) for f in kb.faq]
    for s in kb.services:
        text = f"{' '.join(s.description.split())} Уровень: {s.level}. Разовое занятие: {s.price_single} ₽."
        out.append(Passage(s.name, text, " ".join(s.aliases)))
    if kb.subscriptions:
        subs = "; ".join(f"{s.name} — {s.price} ₽, {s.validity_days} дн." for s in kb.subscriptions)
        out.append(Passage("Абонементы", subs))
    for b in kb.studio.branches:
        out.append(Passage(f"Филиал {b.name}", b.address, " ".join(b.aliases)))
    for t in kb.teachers:
        taught = [x for x in (kb.service(i) for i in t.styles) if x is not None]
        aliases = " ".join([*t.aliases, *(a for x in taught for a in x.aliases)])
        text = f"Ведёт: {', '.join(x.name for x in taught)}. {' '.join(t.bio.split())}"
        out.append(Passage(t.name, text, aliases))
    for h in kb.holidays:
        out.append(Passage(h.name, " ".join(h.message.split())))
    policies = kb.policies
    if policies.what_to_bring:
        out.append(Passage("Что взять с собой", policies.what_to_bring))
    if policies.late_arrival:
        out.append(Passage("Опоздание", policies.late_arrival))
    out.append(Passage("Отмена записи", f"Отменить без списания можно не позже чем за {policies.late_cancel_hours} ч."))
    out.append(Passage("Студия", f"{kb.studio.name}, телефон {kb.studio.phone}"))
    return tuple(out)


def _index(kb: KnowledgeBase) -> _Index:
    """Passages, their lemmas and each lemma's weight: built once per KB object, dropped with it."""
    cached = _INDEXES.get(id(kb))
    if cached is None:
        found = _passages(kb)
        lemma_sets = tuple((content_lemmas(p.text), content_lemmas(f"{p.title} {p.keys}")) for p in found)
        df = Counter(lemma for text, head in lemma_sets for lemma in text | head)
        idf = {lemma: math.log(1 + len(found) / count) for lemma, count in df.items()}
        cached = _INDEXES[id(kb)] = (found, lemma_sets, idf)
        weakref.finalize(kb, _INDEXES.pop, id(kb), None)
    return cached


def retrieve(question: str, kb: KnowledgeBase, k: int = TOP_K) -> list[Passage]:
    """The `k` passages sharing the most (and the rarest) content lemmas with the question; none shared → []."""
    asked = content_lemmas(question)
    if not asked:
        return []
    found, lemma_sets, idf = _index(kb)
    scored = [
        (sum(idf[w] for w in asked & (text | head)) + sum(idf[w] for w in asked & head), i)
        for i, (text, head) in enumerate(lemma_sets)
    ]
    best = sorted((x for x in scored if x[0] > 0), key=lambda x: (-x[0], x[1]))[:k]
    return [found[i] for _, i in best]
