"""Client and attendee names (PRODUCT.md §5.1 `client_name`).

Names arrive three ways: introduced ("меня зовут Аня", "я Мария", "это Олег Петров", "my name is
Anna"), for someone else ("запишите дочь Машу", "сына Артёма" — the attendee's name, put back into
the nominative for the CRM), or bare when the bot has just asked ("Катя", "Анна Смирнова"). A bare word
is only a name when asked, and never a word the studio uses for something else: styles, branches,
weekdays, greetings, yes/no — the caller passes the KB's words as `stop_words`. Teacher names are not
stop words: clients are called Катя and Дима too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from dancebot.understanding.text import (
    is_cyrillic,
    is_gibberish_word,
    is_known_word,
    is_latin,
    lemma,
    morph,
    normalize,
)

__all__ = ["NameResult", "asks_why_contact", "extract_name", "relation_in"]

MIN_LETTERS, MAX_LETTERS = 2, 50
_NAME_TAGS = frozenset({"Name", "Surn", "Patr"})
# Lemma of a relation word → (how it is reported, grammatical gender of the attendee or None).
_RELATIONS: dict[str, tuple[str, str | None]] = {
    "дочь": ("дочь", "femn"), "дочка": ("дочь", "femn"), "доча": ("дочь", "femn"),
    "сын": ("сын", "masc"), "сынок": ("сын", "masc"), "сынишка": ("сын", "masc"),
    "ребенок": ("ребёнок", None), "жена": ("жена", "femn"), "муж": ("муж", "masc"),
    "подруга": ("подруга", "femn"), "друг": ("друг", "masc"), "мама": ("мама", "femn"),
    "мать": ("мама", "femn"), "папа": ("папа", "masc"), "сестра": ("сестра", "femn"),
    "брат": ("брат", "masc"), "племянница": ("племянница", "femn"), "внучка": ("внучка", "femn"),
    "племянник": ("племянник", "masc"), "внук": ("внук", "masc"), "daughter": ("дочь", "femn"),
    "son": ("сын", "masc"), "wife": ("жена", "femn"), "husband": ("муж", "masc"),
    "child": ("ребёнок", None), "friend": ("друг", None),
}  # fmt: skip
# Words that are never names, whatever the dictionary says ("хай" is also the name Хая).
_NEVER_NAMES = frozenset(
    """привет здравствуйте здрасте здрасти здравствуй здарова здорово приветствую прив приветик хелло
    добрый доброе день вечер утро хай салют hi hello hey
    да нет ага ок окей ok yes no спасибо пожалуйста thanks please хорошо ладно
    понедельник вторник среда четверг пятница суббота воскресенье пн вт ср чт пт сб вс
    сегодня завтра послезавтра утром вечером днем январь февраль март апрель май мая июнь июль
    август сентябрь октябрь ноябрь декабрь admin админ администратор человек менеджер
    че чё чо шо нафига нафиг пачему пачиму зачм хз неа ало алло ау йоу лол хаха ахах ахаха сорян сори упс опа
    вайфай вайфая нейросеть ии бот робот оператор щас ща сек секу ммм эээ ээ хм кек ок""".split()
)
# A bare reply that starts with one of these (after "а", "и", "ну") asks or remarks; it gives no name.
_QUESTION_STARTS = frozenset(
    """зачем почему для где куда откуда когда как какой какая какое какие каков сколько скока скоко скольки
    кто что чего чем можно нельзя нужно надо обязательно необязательно разве неужели это а
    what whats where wheres why when who whos how which is are do does did can could should would will must
    any anything so""".split()
)
_LEADS = frozenset({"а", "и", "ну", "так", "and", "but", "so", "ok", "okay"})
# Common English words a bare Latin reply may be made of: without a dictionary, these are never names.
_ENGLISH_WORDS = frozenset(
    """a an the is are was were be been am do does did done can could should would shall must have has had
    i me my mine you your yours we our it its this that these those there here what whats where why when who
    how which not no yes yeah yep nope nah ok okay kk sure fine good great cool nice perfect thanks thank thx
    ty please pls sorry wait hold on one sec second moment minute later now then hmm hm um uh erm idk dunno
    whatever nvm brb lol yo gm hi hello hey bye skip it name names phone number price cost costs much many
    how long time end ends start address location where parking wifi wi fi shower towel shoes clothes bring
    wear need needed necessary required mandatory obligatory optional anonymous anonymously rather prefer not
    tell say give want don t to for of in at by with without about from and or but so if just also too really
    maybe well very bot robot human admin class lesson dance studio free available open close closed""".split()
)
_LATIN_VOWELS = frozenset("aeiouy")
_INTRO_SELF = (("меня", "зовут"), ("мое", "имя"), ("зовут",), ("имя",), ("my", "name", "is"), ("name",))
_INTRO_SHORT = (("я",), ("это",), ("i", "am"), ("i", "m"), ("im",), ("this", "is"))
_CLAUSE_RE = re.compile(r"[,.;!?\n]+|\s[-–—]\s")
_WORD_RE = re.compile(r"[a-zа-яё]+(?:-[a-zа-яё]+)?|\d+", re.IGNORECASE)
_REPEAT3_RE = re.compile(r"(.)\1\1")
_VOWELS = frozenset("аеёиоуыэюя")


@dataclass(frozen=True)
class NameResult:
    """`name` in the nominative, capitalised; `relation` ("дочь", "сын", …) when it is someone else's."""

    name: str
    for_someone_else: bool = False
    relation: str | None = None


def extract_name(text: str, *, asked: bool, stop_words: Collection[str] = ()) -> NameResult | None:
    """The name the message gives, or None; bare words count only when the bot `asked` for a name."""
    stop = frozenset(stop_words) | _NEVER_NAMES
    clauses = _clauses(text)
    words = [w for clause in clauses for w in clause]
    relation = _relation_index(words)
    if relation is not None:
        found = _after_relation(words[relation:], stop)
        if found:
            return found
    for clause in clauses:
        found = _introduced(clause, stop)
        if found:
            return found
    return _bare(clauses, stop, _asking(text)) if asked else None


def relation_in(text: str) -> str | None:
    """The relation ("дочь", "сын", …) when the message books someone else ("запишите дочку")."""
    words = [w for clause in _clauses(text) for w in clause]
    index = _relation_index(words)
    return None if index is None else _RELATIONS[lemma(words[index].norm)][0]


@dataclass(frozen=True)
class _Word:
    norm: str
    capitalised: bool


def _clauses(text: str) -> list[list[_Word]]:
    """Words per clause (commas, full stops… split clauses), normalised but remembering capitals."""
    text = unicodedata.normalize("NFKC", text)
    clauses = ([_Word(normalize(w), w[:1].isupper()) for w in _WORD_RE.findall(c)] for c in _CLAUSE_RE.split(text))
    return [c for c in clauses if c]


def _asking(text: str) -> list[bool]:
    """Per clause of `_clauses(text)`: whether it ends with a question mark."""
    text = unicodedata.normalize("NFKC", text)
    flags: list[bool] = []
    for match in re.finditer(r"(.*?)([,.;!?\n]+|\s[-–—]\s|$)", text, flags=re.DOTALL):
        body, end = match.group(1), match.group(2)
        if _WORD_RE.search(body):
            flags.append("?" in end)
        if not match.group(0):
            break
    return flags


def _relation_index(words: list[_Word]) -> int | None:
    for i, word in enumerate(words):
        if lemma(word.norm) in _RELATIONS and not (i > 0 and words[i - 1].norm == "я"):
            return i
    return None


def _after_relation(words: list[_Word], stop: frozenset[str]) -> NameResult | None:
    """`words[0]` is the relation word: "дочь Машу", "сына зовут Артём", "daughter Anna"."""
    relation, gender = _RELATIONS[lemma(words[0].norm)]
    rest = words[1:]
    norms = [w.norm for w in rest]
    if norms[:1] in (["зовут"], ["имя"]):
        rest = rest[1:]
    elif norms[:2] in (["ее", "зовут"], ["его", "зовут"]):
        rest = rest[2:]
    name = _name_at(rest, stop, gender=gender, strict=True)
    return NameResult(name=name, for_someone_else=True, relation=relation) if name else None


def _introduced(clause: list[_Word], stop: frozenset[str]) -> NameResult | None:
    norms = [w.norm for w in clause]
    for i in range(len(norms) - 2):  # "меня Настя зовут", "меня марина зовут"
        if norms[i] == "меня" and norms[i + 2] == "зовут":
            name = _name_at(clause[i + 1 : i + 2], stop, gender=None, strict=False)
            if name:
                return NameResult(name=name)
    if norms[1:3] == ["меня", "зовут"]:  # "Ксения меня зовут, а …"
        name = _name_at(clause[:1], stop, gender=None, strict=True)
        if name:
            return NameResult(name=name)
    for intro in _INTRO_SELF:
        start = _find(norms, intro)
        if start == 0 or (start > 0 and intro == ("меня", "зовут")):
            name = _name_at(clause[start + len(intro) :], stop, gender=None, strict=False)
            if name:
                return NameResult(name=name)
    for intro in _INTRO_SHORT:
        if tuple(norms[: len(intro)]) != intro:
            continue
        rest = clause[len(intro) :]
        if intro == ("это",) and len(rest) > 1 and not rest[1].norm.isdigit() and not _is_name_word(rest[1].norm):
            continue  # "это Настя ведёт?" asks about a teacher; "это Олег Петров" introduces.
        name = _name_at(rest, stop, gender=None, strict=True)
        if name:
            return NameResult(name=name)
    return None


def _bare(clauses: list[list[_Word]], stop: frozenset[str], asking: list[bool]) -> NameResult | None:
    """A clause of one to three name-like words; never a question ("is there wifi?", "а зачем вам имя?")."""
    for clause, asks in zip(clauses, asking, strict=True):
        letters = [w for w in clause if not w.norm.isdigit()]
        if not letters or len(letters) > 3 or asks or _question_start(letters):
            continue
        if all(_plausible_bare(w.norm, stop) for w in letters):
            name = _name_at(letters, stop, gender=None, strict=False)
            if name:
                return NameResult(name=name)
    return None


def _question_start(words: list[_Word]) -> bool:
    """ "где это", "а сколько стоит", "is there parking", "why": a question word first (after "а", "ну")."""
    norms = [w.norm for w in words]
    while len(norms) > 1 and norms[0] in _LEADS:
        norms = norms[1:]
    return norms[0] in _QUESTION_STARTS and not (len(norms) == 1 and _is_name_word(norms[0]))


def _plausible_bare(word: str, stop: frozenset[str]) -> bool:
    if _is_stop(word, stop) or is_gibberish_word(word):
        return False
    if is_latin(word):  # no dictionary: common words are not names, nor are vowelless "thx", "nvm"
        return word not in _ENGLISH_WORDS and bool(_LATIN_VOWELS & set(word)) and len(word) >= 2
    if _is_name_word(word):  # a name as one answers "Как вас зовут?": "Лена", not "лол" (Лола, gen. pl.)
        return any(_NAME_TAGS & p.tag.grammemes and {"nomn", "sing"} <= p.tag.grammemes for p in morph().parse(word))
    return not is_known_word(word) and bool(_VOWELS & set(word))


def _name_at(words: list[_Word], stop: frozenset[str], *, gender: str | None, strict: bool) -> str | None:
    """The name starting at words[0] (first name + up to two more name words), nominative."""
    if not words or _is_stop(words[0].norm, stop):
        return None
    first = words[0].norm
    if is_latin(first):
        if strict and not words[0].capitalised:
            return None  # "I'm late" is not a name; "I'm Anna" is.
        tail = [w.norm for w in words[1:3] if is_latin(w.norm) and w.capitalised and not _is_stop(w.norm, stop)]
        return _checked(" ".join(w.capitalize() for w in [first, *tail]))
    nominative = _nominative(first, gender, strict=strict, first=True)
    if nominative is None:
        return None
    gender = gender or _gender_of(first)
    parts = [nominative]
    for word in words[1:3]:
        if _is_stop(word.norm, stop) or not is_cyrillic(word.norm):
            break
        extra = _nominative(word.norm, gender, strict=True, first=False)
        if extra is None:
            break
        parts.append(extra)
    return _checked(" ".join(parts))


def _is_stop(word: str, stop: frozenset[str]) -> bool:
    return word in stop or lemma(word) in stop


def _nominative(word: str, gender: str | None, *, strict: bool, first: bool) -> str | None:
    """`word` as a name in the nominative; a word the dictionary lacks passes only when not `strict`."""
    if "-" in word:  # "Анна-Мария"
        parts = [_nominative(p, gender, strict=strict, first=first) for p in word.split("-")]
        return "-".join(p for p in parts if p) if all(parts) else None
    if not is_cyrillic(word) or _REPEAT3_RE.search(word):
        return None
    if first:
        wanted = {"Name", "Geox"} if strict else {"Name", "Geox", "Surn"}
    else:
        wanted = {"Surn", "Patr", "Name"}
    parses = [p for p in morph().parse(word) if p.tag.POS == "NOUN" and wanted & p.tag.grammemes]
    if gender is not None:
        parses = [p for p in parses if gender in p.tag] or parses
    if parses:
        best = next((p for p in parses if "nomn" in p.tag), parses[0])
        inflected = best.inflect({"nomn", "sing"}) or best
        return _capitalise(inflected.word)
    if is_known_word(word) or (strict and first):
        return None
    return _capitalise(word)


def _is_name_word(word: str) -> bool:
    return any(p.tag.POS == "NOUN" and _NAME_TAGS & p.tag.grammemes for p in morph().parse(word))


def _gender_of(word: str) -> str | None:
    for parse in morph().parse(word):
        if "Name" in parse.tag:
            gender: str | None = parse.tag.gender
            return gender
    return None


def _capitalise(word: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))


def _checked(name: str) -> str | None:
    letters = sum(ch.isalpha() for ch in name)
    return name if MIN_LETTERS <= letters <= MAX_LETTERS else None


def _find(words: list[str], seq: tuple[str, ...]) -> int:
    for i in range(len(words) - len(seq) + 1):
        if tuple(words[i : i + len(seq)]) == seq:
            return i
    return -1


# "Зачем вам имя?", "а это обязательно?", "можно без имени?", "why do you need my phone?": the client asks
# why the contact is needed instead of giving it.
_WHY_CONTACT_RE = re.compile(
    r"\b(?:зачем|зачм|для\s+чего|почему|нафига|нафиг|why|what\s+for)\b"
    r"|\bобязательн|\bнеобязательн|\bбез\s+(?:имени|фамилии|телефона|номера|контакт)"
    r"|\bможно\s+не\s+(?:говор|назыв|указ|писа|остав|сообща|дава)|\bанонимн"
    r"|\bне\s+(?:хочу|хотелось\s+бы|буду)\s+(?:говор|назыв|указ|писа|остав|сообща|дава|свой|мо)|\bне\s+скажу"
    r"|\b(?:necessary|required|mandatory|obligatory|optional)\b|\bdo\s+i\s+(?:have|need)\s+to\b"
    r"|\bcan\s+i\s+(?:skip|not)\b|\bwithout\s+(?:a\s+|my\s+)?(?:name|phone|number)\b|\banonymous",
    re.IGNORECASE,
)


def asks_why_contact(text: str) -> bool:
    """The reply to "Как вас зовут?" / the phone question asks why it is needed, or whether it may be skipped."""
    return bool(_WHY_CONTACT_RE.search(unicodedata.normalize("NFKC", text).replace("ё", "е")))
