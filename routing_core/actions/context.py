"""What an action sees while it runs, and the journal that records what it does.

Actions read parameters, variables, the contact, the last message and the clock, and
call ``send``/``set_variable``/``emit``; the journal turns these into events with
deterministic ids (interaction id + sequence), so a replayed step writes the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from routing_core.expressions.templates import evaluate, render
from routing_core.model.interaction import (
    OPTED_OUT,
    DeliveryStatus,
    Event,
    Inbound,
    Interaction,
    OutboundChoice,
)
from routing_core.model.tree import Action
from routing_core.ports.world import Ports

# run: reached; reply: the contact answered; timeout: the wait's time is up; signal: the
# platform resumed the wait (e.g. an agent took the conversation), see ``ctx.signal``.
Trigger = Literal["run", "reply", "timeout", "signal"]


@dataclass(frozen=True)
class OutboundLimits:
    """How many messages the bot may send in one conversation: per message of the customer
    (or per timer, or per agent's act), and per hour in steps nobody prompted (timers: the
    customer may have left). A tree that loops cannot flood anybody; a chatty customer is
    never cut, however many of their messages one step takes."""

    per_step: int = 20
    per_hour: int = 120


class Journal:
    """The events of one activation, numbered after the interaction's last one."""

    def __init__(self, interaction: Interaction, now: datetime):
        self.interaction = interaction
        self.now = now
        self.events: list[Event] = []
        self.bot_messages = 0  # sent by actions in this activation
        self.capped = False
        self.prompted = False  # a message of the customer (or an agent's act) started it

    def new_prompt(self) -> None:
        """A customer message opens its own allowance of bot messages: under load one step
        takes several messages at once, and each gets what it would have got alone."""
        self.bot_messages = 0
        self.capped = False

    def add(self, kind: str, action: str | None = None, /, **data: Any) -> Event:
        self.interaction.event_seq += 1
        event = Event(
            id=f"{self.interaction.id}:{self.interaction.event_seq:06d}",
            interaction_id=self.interaction.id,
            at=self.now,
            type=kind,
            action=action,
            data=data,
            # every event carries the shard key of its collection (docs/deploy.md)
            entry_point_id=self.interaction.entry_point_id,
            contact=self.interaction.contact,
        )
        self.events.append(event)
        return event

    def outbound(
        self,
        action: str | None,
        text: str,
        choices: list[OutboundChoice] | None = None,
        media_url: str | None = None,
        **extra: Any,
    ) -> Event:
        data: dict[str, Any] = {"text": text, **extra}
        if choices:
            data["choices"] = [choice.model_dump() for choice in choices]
        if media_url:
            data["media_url"] = media_url
        event = self.add("outbound", action, **data)
        event.channel = self.interaction.channel
        if self.interaction.opted_out:  # kept for the record, never sent
            event.status = DeliveryStatus.failed
            event.error_kind = OPTED_OUT
            event.error = ("not sent: the contact opted out of messages; it can be sent "
                           "again once they opt back in")
            event.failed_at = self.now
            return event
        event.status = DeliveryStatus.pending
        event.next_attempt_at = self.now
        return event

    def outbound_messages(self) -> list[Event]:
        """The messages of the step to send (not those kept because of an opt-out)."""
        return [event for event in self.events
                if event.type == "outbound" and event.status is DeliveryStatus.pending]


def set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    """``a.b`` sets ``target["a"]["b"]``: MongoDB keys hold no dots, templates read nests."""
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[leaf] = value


def get_path(source: dict[str, Any], dotted: str) -> Any:
    current: Any = source
    for part in dotted.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


class RunContext:
    """The world of one action run."""

    def __init__(
        self,
        *,
        interaction: Interaction,
        action: Action,
        now: datetime,
        trigger: Trigger,
        message: Inbound | None,
        memory: dict[str, Any],
        ports: Ports,
        journal: Journal,
        extra_scope: dict[str, Any] | None = None,
        signal: dict[str, Any] | None = None,
        limits: OutboundLimits | None = None,
    ):
        self.interaction = interaction
        self.action = action
        self.now = now
        self.trigger = trigger
        self.message = message
        self.memory = memory
        self.ports = ports
        self.journal = journal
        self.changes: dict[str, Any] = {}
        self.extra_scope = extra_scope or {}
        self.signal = signal or {}
        self.limits = limits or OutboundLimits()

    @property
    def variables(self) -> dict[str, Any]:
        return self.interaction.variables

    def contact_view(self) -> dict[str, Any]:
        interaction = self.interaction
        return {
            **interaction.contact_variables,
            "id": interaction.contact,
            "name": interaction.contact_name or "",
            "phone": interaction.contact_phone or "",
            "channel": interaction.channel.value,
        }

    def scope(self) -> dict[str, Any]:
        interaction = self.interaction
        text = self.message.text if self.message else interaction.last_text
        payload = self.message.payload if self.message else None
        return {
            **self.extra_scope,
            "vars": interaction.variables,
            "contact": self.contact_view(),
            "message": {"text": text, "payload": payload},
            "interaction": {
                "id": interaction.id,
                "channel": interaction.channel.value,
                "entry_point": interaction.entry_point_id,
                "test": interaction.test,
                "started_at": interaction.created_at,
            },
            "now": self.now,
        }

    def render(self, template: str) -> str:
        return render(template, self.scope())

    def evaluate(self, template: str) -> Any:
        return evaluate(template, self.scope())

    def lookup(self, dotted: str) -> Any:
        """A variable by name; ``contact.x`` reads the contact's."""
        if dotted.startswith("contact."):
            return get_path(self.contact_view(), dotted.removeprefix("contact."))
        return get_path(self.variables, dotted)

    def set_variable(self, name: str, value: Any) -> None:
        if name.startswith("contact."):
            set_path(self.interaction.contact_variables, name.removeprefix("contact."), value)
        else:
            set_path(self.interaction.variables, name, value)
        self.changes[name] = value

    def send(
        self,
        text: str,
        choices: list[OutboundChoice] | None = None,
        media_url: str | None = None,
    ) -> Event | None:
        """The message, or None when a limit of ``OutboundLimits`` is reached: nothing is
        sent, and an ``outbound_capped`` event (once per step) says why."""
        refusal = self._over_limit()
        if refusal is not None:
            if not self.journal.capped:
                self.journal.capped = True
                self.emit("outbound_capped", reason=refusal)
            return None
        self.journal.bot_messages += 1
        if not self.journal.prompted:
            self.interaction.outbound_in_hour += 1
        return self.journal.outbound(self.action.id, text, choices, media_url)

    def _over_limit(self) -> str | None:
        interaction, limits = self.interaction, self.limits
        if self.journal.bot_messages >= limits.per_step:
            return f"more than {limits.per_step} messages for one message of the customer"
        if self.journal.prompted:
            return None
        started = interaction.outbound_hour_started
        if started is None or self.now - started >= timedelta(hours=1):
            interaction.outbound_hour_started, interaction.outbound_in_hour = self.now, 0
        if interaction.outbound_in_hour >= limits.per_hour:
            return f"more than {limits.per_hour} messages in an hour without the customer"
        return None

    def emit(self, kind: str, /, **data: Any) -> Event:
        return self.journal.add(kind, self.action.id, **data)

    def stable_fraction(self) -> float:
        """A number in [0, 1) fixed for this interaction and action: replays decide alike."""
        digest = hashlib.sha256(f"{self.interaction.id}:{self.action.id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64
