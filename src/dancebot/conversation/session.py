"""Conversation sessions and client profiles in Redis (PRODUCT.md §12: sessions 24 h, profiles 90 d).

A session is one typed JSON document per chat: the FSM state, the booking slots collected so far
(`Slots`), what the bot is waiting for (`Pending`), and a few counters. The `sessions` ZSET indexes them
by last update so the worker can sweep timeouts without scanning the keyspace.

Sessions written by an older version load as long as their values still make sense (unknown keys are
ignored); one that does not validate is dropped with a log line and the chat starts afresh — a client
never gets stuck on a document we can no longer read.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.asyncio import Redis

from dancebot.crm.models import BookedClass, Occurrence
from dancebot.logs import get_logger
from dancebot.outbound.messages import Button
from dancebot.storage import keys
from dancebot.understanding.temporal import TimeConstraint

__all__ = [
    "PROFILE_TTL",
    "SESSION_TTL",
    "CancelFlow",
    "Freeze",
    "Pending",
    "Profile",
    "Replaces",
    "Session",
    "SessionStore",
    "Slots",
    "When",
]

log = get_logger(__name__)

SESSION_TTL = 24 * 3600
PROFILE_TTL = 90 * 24 * 3600
SlotName = Literal["group", "datetime", "client_name", "client_phone", "confirmation"]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore")


class When(_Doc):
    """A remembered time constraint: the usable parts of `TimeConstraint` (PRODUCT.md §6.3)."""

    dates: list[dt.date] | None = None
    date_range: tuple[dt.date, dt.date] | None = None
    weekdays: list[int] | None = None
    times: list[dt.time] | None = None
    time_range: tuple[dt.time, dt.time] | None = None
    earliest_only: bool = False

    @classmethod
    def of(cls, c: TimeConstraint | None) -> When | None:
        if c is None or c.is_empty:
            return None
        return cls(
            dates=sorted(c.dates) if c.dates is not None else None,
            date_range=c.date_range,
            weekdays=sorted(c.weekdays) if c.weekdays is not None else None,
            times=sorted(c.times) if c.times is not None else None,
            time_range=c.time_range,
            earliest_only=c.earliest_only,
        )

    def constraint(self) -> TimeConstraint:
        return TimeConstraint(
            dates=frozenset(self.dates) if self.dates is not None else None,
            date_range=self.date_range,
            weekdays=frozenset(self.weekdays) if self.weekdays is not None else None,
            times=frozenset(self.times) if self.times is not None else None,
            time_range=self.time_range,
            earliest_only=self.earliest_only,
        )


class Replaces(_Doc):
    """The booking a reschedule releases once the new class is booked."""

    reservation_id: int
    occurrence_id: str
    phone: str | None = None
    line: str


class Slots(_Doc):
    """What the client has told us for the booking being collected (PRODUCT.md §5)."""

    style: str | None = None  # KB service id
    teacher: str | None = None  # KB teacher id
    branch: str | None = None  # KB branch id
    when: When | None = None
    when_failed: bool = False  # the last `when` matched no class: a new time starts a new request
    occurrence: Occurrence | None = None  # the exact class, once resolved against the CRM
    client_name: str | None = None  # the attendee
    client_phone: str | None = None  # E.164
    relation: str | None = None  # booking for someone else: "дочь", "other"…
    contact_name: str | None = None  # the parent who books for a child
    topic_style: str | None = None  # the style of the last price question, for "запишите на четверг"
    count: int | None = None  # a series: how many classes
    series: list[Occurrence] = Field(default_factory=list)
    replaces: Replaces | None = None


class CancelFlow(_Doc):
    """Where a cancel, a reschedule or "мои записи" stands (PRODUCT.md §5.3)."""

    mode: Literal["cancel", "reschedule", "list"] = "cancel"
    step: Literal["phone", "select", "confirm"] = "phone"
    phone: str | None = None
    new_when: When | None = None  # "перенесите на субботу"
    bookings: list[BookedClass] = Field(default_factory=list)
    chosen: BookedClass | None = None


class Freeze(_Doc):
    """A subscription freeze being asked for: the reason and the dates the admin needs (PRODUCT.md §11)."""

    reason: str | None = None
    dates: str | None = None
    asked: int = 0  # how often the bot asked for what is missing


class Pending(_Doc):
    """What the bot is waiting for: the last question (asked again after a side question), its buttons,
    the slot it asks for, and the cancel flow's progress."""

    question: str | None = None
    buttons: list[list[Button]] = Field(default_factory=list)
    request_contact: bool = False
    slot: SlotName | None = None
    cancel: CancelFlow | None = None
    freeze: Freeze | None = None  # collecting a freeze request's facts (conversation/actions/handoff.py)


class Session(_Doc):
    channel: Literal["telegram", "whatsapp"]
    chat_id: int
    state: str = "IDLE"
    slots: Slots = Field(default_factory=Slots)
    pending: Pending = Field(default_factory=Pending)
    state_since: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    language: str | None = None
    unknown_streak: int = 0
    reprompts: dict[str, int] = Field(default_factory=dict)
    history: list[str] = Field(default_factory=list)  # last client messages, for the admin's context
    reprompted_confirm: bool = False  # the one timeout reminder of this state was sent
    last_topic: str | None = None  # "price" / "schedule": what the last message asked, for "а на сальсу?"
    missed: str | None = None  # the message the KB or the CRM had no answer for: pressing for it goes to a human
    keyboard: list[str] | None = None  # data of the buttons under the latest reply; None: not known (old session)

    def enter(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_since = time.time()
            self.reprompted_confirm = False

    def remember(self, text: str, limit: int = 6) -> None:
        self.history = [*self.history, text][-limit:]

    def reset(self) -> None:
        """Forget the flow: no slots, nothing pending."""
        self.slots = Slots()
        self.pending = Pending()


class Profile(_Doc):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str | None = None
    phone: str | None = None  # offered again at the next booking: possibly only typed in
    # A phone proven the client's own (SPEC §5.3): booked with from this chat, or shared as their own
    # contact. Only this one reveals or cancels bookings; a typed phone the CRM already knew (a duplicate,
    # a fallback) stays in `phone` and never gets here.
    own_phone: str | None = None


class SessionStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def load(self, channel: Literal["telegram", "whatsapp"], chat_id: int) -> Session:
        return self._session(channel, chat_id, await self._redis.get(keys.session(channel, chat_id)))

    async def load_with_profile(
        self, channel: Literal["telegram", "whatsapp"], chat_id: int
    ) -> tuple[Session, Profile]:
        """Both in one round trip (a turn needs both)."""
        raw_session, raw_profile = await self._redis.mget(
            [keys.session(channel, chat_id), keys.profile(channel, chat_id)]
        )
        return self.parse(channel, chat_id, raw_session, raw_profile)

    def parse(
        self,
        channel: Literal["telegram", "whatsapp"],
        chat_id: int,
        raw_session: bytes | str | None,
        raw_profile: bytes | str | None,
    ) -> tuple[Session, Profile]:
        """Session and profile from what was read of them (`inbox.ChatLock.open`); None: none stored."""
        return self._session(channel, chat_id, raw_session), self._profile(channel, chat_id, raw_profile)

    @staticmethod
    def _session(channel: Literal["telegram", "whatsapp"], chat_id: int, raw: bytes | str | None) -> Session:
        if raw:
            try:
                return Session.model_validate_json(raw)
            except ValidationError as exc:
                log.warning("session.dropped", channel=channel, chat_id=chat_id, errors=exc.error_count())
        return Session(channel=channel, chat_id=chat_id)

    async def save(self, session: Session) -> None:
        session.updated_at = time.time()
        key = keys.session(session.channel, session.chat_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(key, session.model_dump_json(), ex=SESSION_TTL)
        pipe.zadd(keys.SESSION_INDEX, {key: session.updated_at})
        await pipe.execute()

    async def delete(self, channel: str, chat_id: int) -> None:
        key = keys.session(channel, chat_id)
        await self._redis.delete(key)
        await self._redis.zrem(keys.SESSION_INDEX, key)

    async def load_profile(self, channel: str, chat_id: int) -> Profile:
        return self._profile(channel, chat_id, await self._redis.get(keys.profile(channel, chat_id)))

    @staticmethod
    def _profile(channel: str, chat_id: int, raw: bytes | str | None) -> Profile:
        if raw:
            try:
                return Profile.model_validate_json(raw)
            except ValidationError:
                log.warning("profile.dropped", channel=channel, chat_id=chat_id)
        return Profile()

    async def save_profile(self, channel: str, chat_id: int, profile: Profile) -> None:
        await self._redis.set(keys.profile(channel, chat_id), profile.model_dump_json(), ex=PROFILE_TTL)
