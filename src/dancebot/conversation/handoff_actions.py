"""Human handoff (contract §14, SPEC §11): the client is told, the admin chat gets the context and the
exact command to answer; while a human is on it every client message is relayed and the bot stays quiet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dancebot.conversation.turn import Turn

if TYPE_CHECKING:
    from dancebot.conversation.engine import Engine

__all__ = ["HandoffActions"]


class HandoffActions:
    async def handoff(self: Engine, t: Turn, reason: str | None = None) -> None:  # type: ignore[misc]
        s = t.session
        if reason is None:
            reason = t.text if t.text and not t.msg.callback_data else "клиент попросил администратора"
        self.admin_job(
            t,
            self.t(
                t,
                "handoff_admin",
                who=self.who(t),
                channel=t.msg.channel,
                state=s.state,
                reason=reason,
                history=" | ".join(s.history[-4:]),
                handle=self.client_handle(t),
            ),
            purpose="handoff",
        )
        s.slots.clear()
        s.pending.clear()
        t.say(self.t(t, "handoff"))

    async def relay(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        text = t.text or t.msg.callback_data or ""
        if text:
            self.admin_job(
                t, self.t(t, "relay_admin", who=self.who(t), text=text, handle=self.client_handle(t)), purpose="relay"
            )

    async def admin_reply(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        t.say(self.t(t, "admin_prefix", text=t.session.pending.pop("admin_text", "")))

    async def admin_close(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        t.say(self.t(t, "admin_closed"))
        t.session.slots.clear()

    async def handoff_reminder(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        self.admin_job(t, self.t(t, "handoff_again_admin", handle=self.client_handle(t)))
