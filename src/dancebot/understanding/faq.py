"""FAQ retrieval and price answers from the KB only (PRODUCT.md §6, §12.1: prices live in the KB).

An FAQ entry is found by its keywords (every lemma of a keyword phrase present in the message), by
how much of its question the message repeats, and by a fuzzy score for near-verbatim questions.
Below the threshold there is no hit, and the engine asks an LLM or the admin instead of guessing.

A hit must also be about what the message is about: the message's topic words (content words that
are not question framing, studio-wide words or KB names) must be explained by the entry — its
question, keywords or answer. "а кулер с водой в зале есть?" shares "зал" with the addresses entry,
but "кулер" and "вода" are nowhere in it, so it is a different question and gets no hit (an
unanswered question goes to the admin; a wrong answer is never acceptable).

`price_answer` composes prices from `services[].price_single` and `subscriptions` — no other number
can appear in it, which keeps the policy enforcer's "price must match the KB" rule trivially true.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from dancebot.kb.schema import FaqEntry, KnowledgeBase, Subscription
from dancebot.understanding.entities import kb_words
from dancebot.understanding.fuzzy import fuzz
from dancebot.understanding.text import analyse, lemma, lemma_forms, morph, tokenize

__all__ = ["FaqHit", "match_faq", "price_answer"]

THRESHOLD = 0.6
# One matched keyword reaches THRESHOLD; each further keyword adds _PER_KEYWORD; repeating the
# question's own words adds up to _QUESTION_WEIGHT (this is what tells "что взять на первое
# занятие?" — what to bring — from "сколько стоит первое занятие?").
_PER_KEYWORD, _QUESTION_WEIGHT, _FUZZY_MIN = 0.15, 0.4, 85.0
# Words too common to say which question is meant.
_STOP_LEMMAS = frozenset(
    "я вы мы ты он она они на в во с со и а но ли есть у по за до для к о об не это быть можно мой "
    "ваш вас нас мне что чем как какой the a an is are do you i to of".split()
)
# Words that frame a question or name the studio's everyday things without saying what is asked:
# they neither confirm nor contradict an entry ("подскажите, а душ после занятия есть?").
_FRAME_LEMMAS = frozenset(
    "подсказать сказать узнать спросить хотеть хотеться интересовать интересно нужно нужный надо мочь "
    "пожалуйста спасибо здравствуйте привет добрый день вечер утро вопрос вообще тоже также ещё еще "
    "уже очень просто вот ну так там тут здесь сейчас обычно сколько где когда куда откуда почему "
    "зачем или ли же бы либо студия занятие урок тренировка танец танцы группа "
    "прийти приходить ходить приехать приезжать брать взять делать работать стоить цена стоимость платный "
    "бесплатный звать имя представиться "
    "please hi hello can could would tell what where when how name".split()
)
# Parts of speech that never carry a question's topic.
_FUNCTION_POS = frozenset({"NPRO", "PREP", "CONJ", "PRCL", "INTJ", "PRED", "NUMR"})
# Share of the message's topic words an entry must explain when some are left unexplained:
# one stray word beside two on-topic ones is a paraphrase, not a different question.
_MIN_EXPLAINED = 2 / 3


@dataclass(frozen=True)
class FaqHit:
    index: int
    question: str
    answer: str
    score: float
    whole: bool = False  # the message has every content word of the entry's question: it asks exactly that


def match_faq(text: str, kb: KnowledgeBase, *, names: Sequence[str] = ()) -> FaqHit | None:
    """The KB FAQ entry the message asks, or None when no entry is a confident match. `names` are the
    client's own names read from the message ("меня зовут Оля, а где вы находитесь?"): an introduction
    is not what the question is about."""
    doc = analyse(text)
    if not doc.tokens:
        return None
    forms = doc.forms
    content = {lemma(t) for t in doc.tokens} - _STOP_LEMMAS
    skip = frozenset(lemma(t) for name in names for t in tokenize(name))
    topic = tuple(t for t in _topic_tokens(doc.tokens, kb) if not t & skip)
    best: FaqHit | None = None
    for index, entry in enumerate(kb.faq):
        if not _explains(entry, topic):
            continue
        keywords = {_phrase_lemmas(k) for k in entry.keywords} - {()}
        hits = sum(1 for words in keywords if all(w in forms for w in words))
        question = _content_lemmas(entry.q)
        overlap = len(question & content) / len(question) if question else 0.0
        score = THRESHOLD + _PER_KEYWORD * (hits - 1) + _QUESTION_WEIGHT * overlap if hits else 0.0
        verbatim = fuzz.token_set_ratio(doc.norm, analyse(entry.q).norm)
        if verbatim >= _FUZZY_MIN and len(content) >= 2:
            score = max(score, verbatim / 100)
        score = round(min(score, 1.0), 3)
        if score >= THRESHOLD and (best is None or score > best.score):
            whole = bool(question) and question <= content
            best = FaqHit(index=index, question=entry.q, answer=entry.a, score=score, whole=whole)
    return best


@lru_cache(maxsize=4096)
def _phrase_lemmas(text: str) -> tuple[str, ...]:
    return tuple(lemma(t) for t in tokenize(text))


def _content_lemmas(text: str) -> frozenset[str]:
    return frozenset(_phrase_lemmas(text)) - _STOP_LEMMAS


def _topic_tokens(tokens: Sequence[str], kb: KnowledgeBase) -> tuple[frozenset[str], ...]:
    """Dictionary forms of each distinct word that says what the message is about: not a function
    word, not question framing, not a style, branch or teacher of the KB (those are slots, not topics)."""
    names = kb_words(kb, teachers=True)
    topic: dict[str, frozenset[str]] = {}
    for token in tokens:
        forms = lemma_forms(token)
        main = lemma(token)
        if main in _STOP_LEMMAS or main in _FRAME_LEMMAS or forms & names or token.isdigit() or len(token) < 2:
            continue
        if _is_function_word(token):
            continue
        topic.setdefault(main, forms)
    return tuple(topic.values())


@lru_cache(maxsize=4096)
def _is_function_word(token: str) -> bool:
    parses = morph().parse(token) if token.isalpha() and not token.isascii() else []
    return bool(parses) and (parses[0].tag.POS in _FUNCTION_POS or "Anum" in parses[0].tag)


def _explains(entry: FaqEntry, topic: tuple[frozenset[str], ...]) -> bool:
    """Does the entry speak of (nearly) everything the message is about?"""
    if not topic:
        return True
    vocabulary = _vocabulary(entry.q, entry.a, tuple(entry.keywords))
    explained = sum(1 for forms in topic if forms & vocabulary)
    return explained == len(topic) or explained / len(topic) >= _MIN_EXPLAINED


@lru_cache(maxsize=256)
def _vocabulary(question: str, answer: str, keywords: tuple[str, ...]) -> frozenset[str]:
    """Every dictionary form of every word of the entry's question, answer and keywords."""
    words = tokenize(" ".join((question, answer, *keywords)))
    return frozenset().union(*(lemma_forms(w) for w in words))


_PRICE_TEXTS = {
    "ru": {
        "one": "{name} — {price} ₽ за разовое занятие.",
        "many": "Разовое занятие: {items}.",
        "subs": "Абонементы: {items}.",
        "subs_same_validity": "Абонементы (действуют {days} дн.): {items}.",
        "validity": "{days} дн.",
    },
    "en": {
        "one": "{name}: {price} ₽ per class.",
        "many": "Single class: {items}.",
        "subs": "Passes: {items}.",
        "subs_same_validity": "Passes (valid {days} days): {items}.",
        "validity": "{days} days",
    },
}


def price_answer(
    style_ids: Sequence[str],
    kb: KnowledgeBase,
    lang: Literal["ru", "en"] = "ru",
    *,
    subscriptions: bool = True,
    classes: int | None = None,
) -> str:
    """Single-class prices of `style_ids` (all styles when empty) and the subscriptions, from the KB.
    `classes` ("абонемент на 8 занятий"): only the subscriptions of that many classes, when the KB has any."""
    texts = _PRICE_TEXTS[lang]
    matching = [s for s in kb.subscriptions if classes is not None and s.classes == classes]
    if matching:
        return _subscriptions_line(matching, texts)
    services = [s for s in (kb.service(i) for i in style_ids) if s is not None] or list(kb.services)
    if len(services) == 1:
        lines = [texts["one"].format(name=services[0].name, price=services[0].price_single)]
    else:
        items = ", ".join(f"{s.name} — {s.price_single} ₽" for s in services)
        lines = [texts["many"].format(items=items)]
    if subscriptions and kb.subscriptions:
        lines.append(_subscriptions_line(kb.subscriptions, texts))
    return " ".join(lines)


def _subscriptions_line(subs: Sequence[Subscription], texts: dict[str, str]) -> str:
    validities = {s.validity_days for s in subs}
    if len(validities) == 1:
        items = "; ".join(f"{s.name} — {s.price} ₽" for s in subs)
        return texts["subs_same_validity"].format(days=validities.pop(), items=items)
    items = "; ".join(f"{s.name} — {s.price} ₽ ({texts['validity'].format(days=s.validity_days)})" for s in subs)
    return texts["subs"].format(items=items)
