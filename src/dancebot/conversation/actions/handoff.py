"""Human handoff (PRODUCT.md §11): the client is told, the admin chat gets the context and the exact
command to answer; while a human is on it every client message is relayed and the bot stays quiet."""

from __future__ import annotations

from dancebot.conversation.effects import AdminText
from dancebot.conversation.session import Slots
from dancebot.conversation.turn import Turn

__all__ = ["admin_close", "admin_reply", "hand_over", "handoff", "handoff_reminder", "relay"]


async def handoff(t: Turn) -> None:
    """The client asked for a person (or pressed the admin button)."""
    hand_over(t)


def hand_over(t: Turn, reason: str | None = None) -> None:
    s = t.session
    if reason is None:
        reason = t.text if t.text and not t.u.callback else "клиент попросил администратора"
    t.alert_admin(
        t.t(
            "handoff_admin",
            who=t.who(),
            channel=t.msg.channel,
            state=s.state,
            reason=reason,
            history=" | ".join(s.history[-4:]),
            handle=t.handle,
        ),
        purpose="handoff",
    )
    s.reset()
    t.say(t.t("handoff"))


async def relay(t: Turn) -> None:
    text = t.text or t.u.callback or ""
    if text:
        t.alert_admin(t.t("relay_admin", who=t.who(), text=text, handle=t.handle), purpose="relay")


async def admin_reply(t: Turn) -> None:
    text = t.outcome.text if isinstance(t.outcome, AdminText) else ""
    t.say(t.t("admin_prefix", text=text))


async def admin_close(t: Turn) -> None:
    t.say(t.t("admin_closed"))
    t.session.slots = Slots()


async def handoff_reminder(t: Turn) -> None:
    t.alert_admin(t.t("handoff_again_admin", handle=t.handle))
