"""Natural rewording of the engine's replies (PRODUCT.md §6.2, `LLM_REWRITE=true`), at the I/O edge.

The engine's text stays the truth: a rewording may only say the same thing in other words. So only a
client reply without digits is offered (a schedule, a summary, a receipt, a price or a phone stays exactly
as the engine wrote it), buttons and everything else of the job are kept, and the new text must pass the
Policy Enforcer and keep to the original's words (most content words and the question, if any). Anything
else — the LLM down or over budget, an error, a violation — sends the original. Nothing raises.
"""

from __future__ import annotations

import re

from dancebot.conversation.session import Session
from dancebot.kb.schema import KnowledgeBase
from dancebot.llm.client import LLMClient
from dancebot.llm.health import LLMHealth
from dancebot.llm.passages import content_lemmas
from dancebot.llm.policy import enforce
from dancebot.llm.prompts import data_block, system_prompt
from dancebot.logs import get_logger
from dancebot.outbound.messages import OutboundJob

__all__ = ["PURPOSE", "REWRITE_TASK", "Rewriter", "keeps_meaning"]

log = get_logger(__name__)

PURPOSE = "rewrite"
MAX_TOKENS = 200  # a reply is at most 300 characters
KEEP_WORDS = 0.5  # share of the original's content words the rewording must keep
REWRITE_TASK = """Reword the studio's reply given in the data block (section reply) so it reads naturally and
warmly for the client whose message is the user message. Keep every fact, name and the question it asks, add
nothing, do not answer the client's message yourself. Reply with the reworded text only."""


def keeps_meaning(original: str, new: str) -> bool:
    """The same facts in other words: no digits, the question kept, most content words kept."""
    if re.search(r"\d", new):
        return False
    if ("?" in original) != ("?" in new):
        return False
    words = content_lemmas(original)
    return not words or len(words & content_lemmas(new)) / len(words) >= KEEP_WORDS


class Rewriter:
    def __init__(self, kb: KnowledgeBase, client: LLMClient, health: LLMHealth) -> None:
        self._kb = kb
        self._client = client
        self._health = health

    async def __call__(self, jobs: list[OutboundJob], session: Session) -> list[OutboundJob]:
        """The runner's hook: each job, reworded where allowed."""
        out: list[OutboundJob] = []
        for job in jobs:
            try:
                out.append(await self._one(job, session))
            except Exception as exc:  # a rewording never costs the client a reply
                log.error("llm.rewrite_failed", trace_id=job.trace_id, error=type(exc).__name__)
                out.append(job)
        return out

    async def _one(self, job: OutboundJob, session: Session) -> OutboundJob:
        text = job.text
        if job.kind != "message" or job.purpose != "reply" or not text.strip() or re.search(r"\d", text):
            return job
        if await self._health.status(alert=True) != "ok":
            return job
        lang = "en" if session.language == "en" else "ru"
        system = system_prompt(REWRITE_TASK, tone=self._kb.tone.style_notes, language=lang)
        client_text = session.history[-1] if session.history else "-"
        data = data_block({"reply": text})
        result = await self._client.complete(PURPOSE, system, data, client_text, job.trace_id, max_tokens=MAX_TOKENS)
        await self._health.observe(result)
        if not result.ok or not result.content:
            return job
        verdict = enforce(result.content, kb=self._kb, channel=job.channel, user_text=client_text, lang=lang)
        if not verdict.ok or not verdict.text:
            return job
        if not keeps_meaning(text, verdict.text):
            log.info("llm.policy_violation", rule="rewrite_changed_meaning", trace_id=job.trace_id)
            return job
        return job.model_copy(update={"text": verdict.text})
