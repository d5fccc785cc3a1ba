"""Opt-out and opt-in keywords: the platform's answer, before any routing hears them.

A contact who writes STOP (or another of the entry point's opt-out words) is not asking
the bot anything: whatever the routing was doing, the conversation ends, the opt-out is
recorded on the contact (kept on it, and in the conversation's events) and from then on
the bot's messages to them are kept, not sent, and campaigns skip them — until they write
an opt-in word. The contact's record is written before the step commits, conditionally,
so a step replayed after a crash records the change once and never loses it.
"""

from __future__ import annotations

from datetime import datetime

from routing_core.actions.context import Journal
from routing_core.engine.interpreter import Activation
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import (
    OPTED_IN_REASON,
    OPTED_OUT_REASON,
    ConsentChange,
    Inbound,
    Interaction,
)
from routing_core.ports.channels import OptedOut
from routing_core.ports.world import SmsPort
from routing_core.store import Store


async def consent_answer(
    store: Store, entry_point: EntryPoint, interaction: Interaction, journal: Journal,
    message: Inbound, now: datetime,
) -> Activation | None:
    """The end of the conversation when the message is a consent keyword that changes the
    contact's consent; None when the routing should hear it (an opt-in word from a contact
    who never opted out is an ordinary message)."""
    if message.payload is not None or not message.text:
        return None
    keyword = entry_point.consent.keyword(message.text)
    if keyword is None or (keyword == "opt_in" and not interaction.opted_out):
        return None
    opted_out = keyword == "opt_out"
    if opted_out and interaction.opted_out:  # said again: nothing more to record or say
        journal.add("opt_out", None, keyword=message.text.strip()[:60], already=True)
        return Activation(ended=True, reason=OPTED_OUT_REASON)
    change = ConsentChange(opted_out=opted_out, at=now, keyword=message.text.strip()[:60],
                           interaction_id=interaction.id)
    await store.contacts.record_consent(interaction.contact_id, change)
    journal.add("opt_out" if opted_out else "opt_in", None, keyword=change.keyword)
    reply = (entry_point.consent.opt_out_reply if opted_out
             else entry_point.consent.opt_in_reply)
    if opted_out and reply:  # the last message they get: the confirmation they expect
        journal.outbound(None, reply)
    interaction.opted_out = opted_out
    if not opted_out and reply:
        journal.outbound(None, reply)
    return Activation(ended=True, reason=OPTED_OUT_REASON if opted_out else OPTED_IN_REASON)


class ConsentingSms:
    """The SMS port as actions see it: a number whose contact opted out (on any entry
    point) gets nothing; the action takes its ``failure`` branch with ``opted_out``."""

    def __init__(self, sms: SmsPort, store: Store):
        self.sms = sms
        self.store = store

    async def send(self, *, to: str, text: str, sender: str | None) -> str:
        if await self.store.contacts.opted_out(phone=to):
            raise OptedOut(f"{to} opted out of messages: not sent")
        return await self.sms.send(to=to, text=text, sender=sender)
