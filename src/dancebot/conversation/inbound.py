"""One inbound message from gate to queued replies: the unit of work of a webhook (PRODUCT.md §4).

Order: admin chat → admin handler; gate (replay, dedup, spam); button tap acknowledged; then under the
per-chat lock: session, audit of the inbound text, non-text reply or the conversation, session saved,
replies queued and audited. If anything fails after the dedup mark, the mark is removed so the
channel's redelivery is processed — a request is never lost to our own error.
"""

from __future__ import annotations

import time
from typing import Protocol

from dancebot.channels import gate
from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.session import Session
from dancebot.logs import bind_trace, get_logger
from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.queue import enqueue
from dancebot.runtime import Runtime
from dancebot.storage import keys

__all__ = ["InboundProcessor"]

log = get_logger(__name__)
LOCK_TTL = 60  # a booking turn may take 30 s at the CRM plus a schedule read


class ConversationHandler(Protocol):
    async def handle(self, msg: UnifiedMessage, session: Session) -> list[OutboundJob]: ...


class AdminHandler(Protocol):
    async def handle(self, msg: UnifiedMessage) -> list[OutboundJob]: ...


class InboundProcessor:
    def __init__(self, rt: Runtime, conversation: ConversationHandler, admin: AdminHandler) -> None:
        self._rt = rt
        self._conversation = conversation
        self._admin = admin

    async def process(self, msg: UnifiedMessage) -> gate.Verdict:
        bind_trace(msg.trace_id, channel=msg.channel, chat_id=msg.chat_id)
        started = time.perf_counter()
        if self._rt.settings.admin_chat_id is not None and msg.chat_id == self._rt.settings.admin_chat_id:
            if (
                await self._rt.redis.set(
                    keys.seen(msg.channel, msg.chat_id, msg.dedup_id), 1, nx=True, ex=gate.DEDUP_TTL
                )
                is None
            ):
                return gate.Verdict.DUPLICATE  # a redelivered /reply must not reach the client twice
            await self._rt.audit.message(
                trace_id=msg.trace_id,
                channel=msg.channel,
                chat_id=msg.chat_id,
                direction="in",
                text=msg.text,
                message_id=msg.message_id,
                message_type=msg.message_type,
                state="ADMIN",
            )
            await self._send(await self._admin.handle(msg), state="ADMIN")
            return gate.Verdict.PASS
        log.info(
            "inbound.message",
            type=msg.message_type,
            text=msg.text or msg.callback_data or msg.contact_phone,
            edit=msg.is_edit,
        )
        verdict, first_spam = await gate.check(self._rt.redis, msg)
        if verdict is not gate.Verdict.PASS:
            if verdict is not gate.Verdict.SPAM or first_spam:
                log.info("inbound.dropped", reason=verdict.value, message_id=msg.message_id)
            return verdict
        try:
            await self._process_locked(msg)
        except BaseException:
            await gate.forget(self._rt.redis, msg)
            raise
        log.info("inbound.processed", ms=int((time.perf_counter() - started) * 1000))
        return verdict

    async def _process_locked(self, msg: UnifiedMessage) -> None:
        if msg.callback_query_id:
            await self._send(
                [
                    OutboundJob(
                        kind="callback_answer",
                        chat_id=msg.chat_id,
                        callback_query_id=msg.callback_query_id,
                        trace_id=msg.trace_id,
                        channel=msg.channel,
                    )
                ],
                state=None,
                audit=False,
            )
        buffer_key = keys.buffer(msg.channel, msg.chat_id)
        peek = await self._rt.sessions.load(msg.channel, msg.chat_id)
        buffered = peek.state == "BOOKING_IN_PROGRESS"
        if buffered:  # processed in order once the booking is over (PRODUCT.md §5)
            await self._rt.redis.rpush(buffer_key, msg.model_dump_json())
            await self._rt.redis.expire(buffer_key, 24 * 3600)
            log.info("inbound.buffered")
        lock = self._rt.redis.lock(
            keys.lock(msg.channel, msg.chat_id), timeout=LOCK_TTL, blocking_timeout=LOCK_TTL * 2, sleep=0.02
        )
        async with lock:
            if not buffered:
                await self._turn(msg)
            while raw := await self._rt.redis.lindex(buffer_key, 0):  # removed only once handled
                waiting = UnifiedMessage.model_validate_json(raw)
                bind_trace(waiting.trace_id, channel=waiting.channel, chat_id=waiting.chat_id)
                try:
                    await self._turn(waiting)
                except Exception as exc:  # one broken message must not block the chat or the request it rides on
                    log.exception("inbound.buffered_failed")
                    await self._rt.audit.error(
                        trace_id=waiting.trace_id, source="inbound.buffer", kind=type(exc).__name__, message=str(exc)
                    )
                await self._rt.redis.lpop(buffer_key)

    async def _turn(self, msg: UnifiedMessage) -> None:
        session = await self._rt.sessions.load(msg.channel, msg.chat_id)
        await self._rt.audit.message(
            trace_id=msg.trace_id,
            channel=msg.channel,
            chat_id=msg.chat_id,
            direction="in",
            text=msg.text or msg.callback_data or msg.contact_phone,
            message_id=msg.message_id,
            message_type=msg.message_type,
            state=session.state,
            is_edit=msg.is_edit,
        )
        if msg.is_textual:
            jobs = await self._conversation.handle(msg, session)
        else:
            lang = session.language or self._rt.kb.tone.language
            jobs = [self.reply(msg, self._rt.catalogue.text("text_only", lang))]
        await self._rt.sessions.save(session)
        await self._send(jobs, state=session.state)

    async def _send(self, jobs: list[OutboundJob], *, state: str | None, audit: bool = True) -> None:
        await enqueue(self._rt.redis, *jobs)
        if not audit:
            return
        for job in jobs:
            if job.kind == "message":
                await self._rt.audit.message(
                    trace_id=job.trace_id,
                    channel=job.channel,
                    chat_id=job.chat_id,
                    direction="out",
                    text=job.text,
                    state=job.state or state,
                )

    @staticmethod
    def reply(msg: UnifiedMessage, text: str) -> OutboundJob:
        return OutboundJob(chat_id=msg.chat_id, channel=msg.channel, text=text, trace_id=msg.trace_id)
