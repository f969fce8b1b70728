"""Every text a client can get fits WhatsApp's 200 characters with real values (PRODUCT.md §5.5): the demo
studio's longest address, its "what to bring", a five-class series. A text that does not fit is cut by
`render.enforce_limits`, and the cut takes its end — the question or the receipt's facts — with it."""

from __future__ import annotations

import string

import pytest

from dancebot.conversation import render
from dancebot.conversation.catalogue import TEXTS, Catalogue
from dancebot.kb import load_kb
from dancebot.understanding.phone import display_phone
from tests.conftest import KB_PATH
from tests.factories import occ

KB = load_kb(KB_PATH).kb
LIMIT = render.LIMITS["whatsapp"]
CLASS = occ(304, "2026-12-03", "20:00", 11, 101, 2)  # High Heels at Гоголя: the longest address
SERIES = [occ(304, f"2026-12-{d:02d}", "20:00", 11, 101, 2) for d in (3, 10, 17, 24, 31)][: KB.booking.max_serial]


def fields(lang: str) -> dict[str, object]:
    when = [render.when_label(o, lang) for o in SERIES]
    klass = render.class_label(CLASS, KB, lang)
    line = render.occ_line(CLASS, KB, lang)
    return {
        "studio": KB.studio.name,
        "name": "Александра",
        "who": "Александра",
        "phone": display_phone("+79537000001"),
        "klass": klass,
        "when": render.when_label(CLASS, lang),
        "where": render.branch_address(CLASS, KB),
        "bring": KB.policies.what_to_bring,
        "policy": KB.policies.late_arrival,
        "style": max((s.name for s in KB.services), key=len),
        "teacher": "Настя",
        "options": ", ".join(s.name for s in KB.services[:4]),
        "a": KB.services[0].name,
        "b": KB.services[2].name,
        "day": "31.12",
        "reason": max((h.name for h in KB.holidays), key=len, default="Новый год"),
        "days": KB.booking.lookahead_days,
        "question": TEXTS[lang]["ask_phone"],
        "line": line,
        "hours": KB.policies.late_cancel_hours,
        "summary_line": f"{klass}, {render.when_label(CLASS, lang)}",
        "max": KB.booking.max_serial,
        "lines": "\n".join(when),
        "text": "Здравствуйте! Да, в субботу есть места",
        "value": "25:00",  # what the client wrote that cannot be a time or a phone
        "teachers": ", ".join(t.name for t in KB.teachers[:3]),
        "start": "20:00",
        "time": "20:00",
        "end": "21:00",
        "times": "18:00, 19:30 и 21:00",
        "found": 2,
        "wanted": 5,
        "message": max((h.message or h.name for h in KB.holidays), key=len, default="Новый год"),
    }


def rendered(lang: str, key: str) -> str:
    values = fields(lang)
    base = key.removesuffix("_wa")
    if base == "summary":
        values["who"] = Catalogue(**{"studio": KB.studio.name}).text("summary_who", lang, name="Александра")
    if key == "series_summary_wa":
        values["lines"] = render.series_dates(SERIES, lang, compact=True)
    if base == "series_summary":
        values["klass"] = f"{values['klass']}, {values['where']}"
    if base == "series_receipt":
        values["lines"] = "\n".join(f"• {w}" for w in str(values["lines"]).split("\n"))
        values["bring"] = ""  # a series receipt too long with it sends what to bring as its own message
    wanted = {n for _, n, _, _ in string.Formatter().parse(TEXTS[lang][key]) if n}
    assert wanted <= values.keys() | {"studio"}, f"give {key} a realistic {wanted - values.keys()}"
    return Catalogue(**{"studio": KB.studio.name}).text(key, lang, **{k: v for k, v in values.items() if k in wanted})


# What a WhatsApp client gets: a key's WhatsApp form (`{key}_wa`) where it has one (`Catalogue.text_for`).
CLIENT_TEXTS = [
    (lang, key)
    for lang, texts in TEXTS.items()
    for key in texts
    if not key.endswith("_admin") and f"{key}_wa" not in texts
]


@pytest.mark.parametrize(("lang", "key"), CLIENT_TEXTS, ids=[f"{lang}-{key}" for lang, key in CLIENT_TEXTS])
def test_every_client_text_fits_whatsapp(lang: str, key: str) -> None:
    text = rendered(lang, key)
    assert len(text) <= LIMIT, f"{len(text)} > {LIMIT} characters on WhatsApp:\n{text}"
