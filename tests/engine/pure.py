"""A server-free engine for unit tests: the demo studio's schedule from the fake CRM's seed, expanded
in memory, behind the read-only queries the engine is given. No Redis, no PostgreSQL, no HTTP."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.catalogue import Catalogue
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.session import Profile, Session
from dancebot.crm.errors import CRMUnavailable
from dancebot.crm.fake_seed import build_seed
from dancebot.crm.models import BookedClass, Occurrence, ScheduleTemplate
from dancebot.crm.occurrences import expand
from dancebot.crm.service import sticker_classifier
from dancebot.kb import KnowledgeBase, load_kb
from dancebot.understanding.seam import RulesUnderstander

TZ = ZoneInfo("Asia/Vladivostok")
NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=TZ)


class StaticCRM:
    """The CRM's schedule as data; `down = True` makes every query fail like an unreachable CRM."""

    def __init__(self, kb: KnowledgeBase, today: dt.date | None = None) -> None:
        self._kb = kb
        self._templates = [ScheduleTemplate.model_validate(t) for t in build_seed(today or NOW.date(), TZ).templates]
        self.bookings: dict[str, list[BookedClass]] = {}
        self.down = False

    async def occurrences(self, now: dt.datetime | None = None) -> list[Occurrence]:
        if self.down:
            raise CRMUnavailable("down")
        now_local = (now or NOW).astimezone(TZ)
        return expand(
            self._templates,
            today_local=now_local.date(),
            now_local=now_local,
            days=self._kb.booking.lookahead_days,
            holidays=lambda day: self._kb.holiday_on(day) is not None,
            sticker_status=sticker_classifier(self._kb.stickers),
        )

    async def client_bookings(self, phone_e164: str, now: dt.datetime | None = None) -> list[BookedClass]:
        if self.down:
            raise CRMUnavailable("down")
        return list(self.bookings.get(phone_e164, []))


def demo_kb() -> KnowledgeBase:
    return load_kb("knowledge/studio.yaml").kb


def make_engine(kb: KnowledgeBase | None = None) -> tuple[Engine, StaticCRM]:
    kb = kb or demo_kb()
    crm = StaticCRM(kb)
    catalogue = Catalogue(kb.messages, kb_language=kb.tone.language, studio=kb.studio.name)
    return Engine(kb, catalogue, crm, RulesUnderstander(kb)), crm


def message(chat_id: int, text: str | None = None, *, callback: str | None = None, n: int = 1) -> UnifiedMessage:
    return UnifiedMessage(
        channel="telegram",
        chat_id=chat_id,
        message_id=str(n),
        timestamp=NOW,
        text=text,
        callback_data=callback,
        message_type="callback" if callback else "text",
    )


async def say(engine: Engine, session: Session, text: str, profile: Profile | None = None) -> Step:
    return await engine.handle(
        message(session.chat_id, text), session, profile or Profile(), now=NOW, epoch=time.time()
    )
