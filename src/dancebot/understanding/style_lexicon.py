"""Dance styles clients ask about that a studio may not teach (PRODUCT.md §5.1: never invent a style).

When a client asks "есть бачата?" and the KB has no bachata, the bot must say so and list what the
studio has, nearest first. Recognising "бачата" as a dance style needs a vocabulary beyond the KB;
this is it. Each style carries hint words — words a studio typically uses for the closest
directions ("латина" for bachata). Hints are resolved against the KB's own aliases, so a hint that
the studio does not use simply finds nothing; nothing here becomes a fact about the studio.
"""

from __future__ import annotations

__all__ = ["DANCE_STYLES"]

_LATIN = ("латина", "сальса")
_STREET = ("хип хоп", "hiphop")
_FEMININE = ("хилс", "high heels", "каблуки")
_CONTEMPORARY = ("контемп", "contemporary", "современный танец")
_FLEXIBILITY = ("растяжка", "стретчинг", "шпагат")

# Display name → (other spellings, hint words for the nearest directions).
DANCE_STYLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "бачата": (("bachata",), _LATIN),
    "кизомба": (("kizomba",), _LATIN),
    "меренге": (("merengue",), _LATIN),
    "реггетон": (("реггетон", "reggaeton"), _LATIN + _STREET),
    "зумба": (("zumba",), _LATIN + _STREET),
    "румба": (("rumba",), _LATIN),
    "самба": (("samba",), _LATIN),
    "ча-ча-ча": (("ча ча ча", "cha cha"), _LATIN),
    "танго": (("tango",), _LATIN),
    "хастл": (("hustle",), _LATIN),
    "вальс": (("waltz",), _LATIN),
    "бальные танцы": (("бальные", "бальник", "ballroom"), _LATIN),
    "свинг": (("swing", "линди хоп", "lindy hop"), _LATIN),
    "рок-н-ролл": (("рок н ролл", "рокнролл"), _LATIN + _STREET),
    "фламенко": (("flamenco",), _LATIN + _CONTEMPORARY),
    "брейк-данс": (("брейк", "брейкданс", "breakdance", "breaking", "брейкинг"), _STREET),
    "дэнсхолл": (("дансхолл", "dancehall"), _STREET + _FEMININE),
    "тверк": (("twerk",), _STREET + _FEMININE),
    "k-pop": (("кпоп", "кей поп", "kpop"), _STREET),
    "джаз-фанк": (("джаз фанк", "джазфанк", "jazz funk", "jazzfunk"), _STREET + _FEMININE),
    "вог": (("vogue", "вог"), _FEMININE + _STREET),
    "вакинг": (("waacking", "вакинг"), _STREET + _FEMININE),
    "локинг": (("locking",), _STREET),
    "поппинг": (("popping",), _STREET),
    "крамп": (("krump",), _STREET),
    "хаус": (("house dance",), _STREET),
    "шафл": (("shuffle",), _STREET),
    "go-go": (("гоу гоу", "гоу-гоу", "go go"), _FEMININE),
    "стрип-пластика": (("стрип", "стрип пластика", "стрипдэнс", "strip"), _FEMININE),
    "pole dance": (("пол дэнс", "пилон", "пол денс", "poledance"), _FEMININE + _FLEXIBILITY),
    "восточные танцы": (("восточные", "беллиданс", "belly dance", "танец живота"), _FEMININE),
    "джаз": (("jazz",), _CONTEMPORARY),
    "модерн": (("modern",), _CONTEMPORARY),
    "балет": (("ballet", "классика", "классический танец"), _CONTEMPORARY + _FLEXIBILITY),
    "ирландские танцы": (("ирландские", "irish dance"), ()),
    "йога": (("yoga",), _FLEXIBILITY),
    "пилатес": (("pilates",), _FLEXIBILITY),
    "акробатика": (("acrobatics", "акро"), _FLEXIBILITY),
    "чирлидинг": (("cheerleading",), _STREET),
    "лезгинка": (("lezginka",), ()),
}
