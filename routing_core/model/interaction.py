"""Interactions (one conversation run through a routing), what comes in, goes out, happens.

The active state of a conversation lives in one document: its place in the tree, its
variables, the inbound messages not yet processed (``pending``, persisted before the
provider is answered), the provider ids already seen (de-duplication) and the lease of
the worker processing it. One conditional write ingests a message, de-duplicates it and
takes the lease; one more commits a step. Events (outbound messages included) go to the
``events`` collection with deterministic ids, so replaying a step after a crash cannot
duplicate them.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from routing_core.infra.clock import utcnow
from routing_core.model.base import Record, Timestamped
from routing_core.model.media import Media

SEEN_IDS_KEPT = 200


class Channel(StrEnum):
    telegram = "telegram"
    whatsapp = "whatsapp"
    messenger = "messenger"
    webchat = "webchat"
    sms = "sms"
    email = "email"


class Inbound(BaseModel):
    """One message from a contact, as its connector normalised it."""

    channel: Channel
    entry_point_id: str
    contact: str  # the channel's id of the contact: chat id, phone, PSID, visitor id
    provider_id: str  # de-duplication key: update_id, MessageSid, mid, client message id
    text: str = ""
    payload: str | None = None  # a pressed button's value
    media: list[Media] = Field(default_factory=list, max_length=10)
    contact_name: str | None = None
    contact_phone: str | None = None
    # the language the channel says the contact uses (Telegram's, the web chat browser's)
    locale: str | None = None
    received_at: datetime = Field(default_factory=utcnow)


class OutboundChoice(BaseModel):
    label: str
    value: str


class Waiting(BaseModel):
    """Where a suspended interaction resumes: a reply, a timer or an agent."""

    action: str
    kind: Literal["reply", "timer", "agent", "signal"]
    until: datetime | None = None
    memory: dict[str, Any] = Field(default_factory=dict)


class CallFrame(BaseModel):
    """Where a routing called by ``call_smart_routing`` comes back to: the caller's
    version, the action after the call, and (``into`` given) the caller's variables, kept
    while the called routing works on a copy."""

    routing_id: str
    version_id: str
    revision: int
    action: str  # the calling action
    return_to: str | None  # its ``next``; None: the caller's tree ends there
    into: str | None = None
    variables: dict[str, Any] | None = None


class InteractionStatus(StrEnum):
    active = "active"
    ended = "ended"


class InteractionState(StrEnum):
    """What an operator asks of a conversation: is it running, waiting (on the customer, a
    timer, a queue), held by an agent, over, or over because something broke. Derived from
    the state at every write (``Interaction.refresh_state``) so lists filter on one indexed
    field instead of a mix of ``active``, ``waiting`` and ``end_reason``."""

    running = "running"
    waiting = "waiting"
    with_agent = "with_agent"
    ended = "ended"
    failed = "failed"


# An end for one of these reasons means something broke, not that the conversation was over.
FAILED_END_REASONS = frozenset({"error", "step budget", "no version"})
OPTED_OUT_REASON, OPTED_IN_REASON = "opted out", "opted in"
ERASED_REASON = "erased"  # the contact was erased (``contacts/erasure.py``)
# … and after these, the entry point's end routing does not run: nothing is to be sent
SILENT_END_REASONS = frozenset({OPTED_OUT_REASON, OPTED_IN_REASON, ERASED_REASON})


class Interaction(Timestamped):
    entry_point_id: str
    channel: Channel
    contact: str
    contact_id: str
    person_id: str | None = None  # the contact this address was merged into, if it was
    routing_id: str
    version_id: str
    revision: int
    test: bool = False
    canary: bool = False  # started on the entry point's canary version, not production
    simulated: bool = False  # the admin's simulator: its side effects are sandboxed
    timed_out: bool = False  # a wait of it ran out (the customer did not answer in time)
    wakes_without_reply: int = 0  # timers fired since the customer last wrote
    # start: a customer's message opened it; end: the end routing after one; api: another
    # system opened it (``engine/outside_starts.py``)
    kind: Literal["start", "end", "api"] = "start"
    status: InteractionStatus = InteractionStatus.active
    active: bool = True  # the partial unique index: one active interaction per contact
    cursor: str | None = None
    waiting: Waiting | None = None
    calls: list[CallFrame] = Field(default_factory=list)  # routings to come back to
    variables: dict[str, Any] = Field(default_factory=dict)
    contact_variables: dict[str, Any] = Field(default_factory=dict)
    contact_name: str | None = None
    contact_phone: str | None = None
    passages: dict[str, int] = Field(default_factory=dict)
    path: list[str] = Field(default_factory=list)
    last_text: str = ""
    last_inbound_at: datetime | None = None
    event_seq: int = 0
    pending: list[Inbound] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list)
    wake_at: datetime | None = None
    expires_at: datetime | None = None
    lease_until: datetime | None = None
    lease_owner: str | None = None
    # counts the lease's acquisitions: a step commits only under the acquisition it ran
    # under (a process whose lease expired and that took it again later holds a new one)
    lease_epoch: int = 0
    step_at: datetime | None = None  # the clock of the step under way (see the store)
    ended_at: datetime | None = None
    end_reason: str | None = None
    previous_interaction: str | None = None  # the one an end routing follows
    queue_id: str | None = None  # waiting in, or taken from, this queue
    # a queue entry was placed for it (to_queue, to_user): its end must withdraw the entry;
    # a conversation that never met distribution ends without a look at the entries
    queued: bool = False
    # the bot's messages in the current hour (OutboundLimits.per_hour), and when it began
    outbound_hour_started: datetime | None = None
    outbound_in_hour: int = 0
    agent_id: str | None = None  # the agent who holds the conversation
    state: InteractionState = InteractionState.running
    # steps that raised since the last commit, and the last one's error: a conversation
    # whose every attempt fails is "stuck" for operators (the commit resets both)
    step_failures: int = 0
    step_error: str | None = None
    # the contact had opted out when it began (or did since): the bot's messages are kept
    # as dead letters ``opted_out`` instead of sent, until the contact opts back in
    opted_out: bool = False

    def refresh_state(self) -> InteractionState:
        """Derive ``state`` from the fields a step sets; the store calls it on every write."""
        if not self.active:
            failed = self.end_reason in FAILED_END_REASONS
            self.state = InteractionState.failed if failed else InteractionState.ended
        elif self.agent_id:
            self.state = InteractionState.with_agent
        elif self.waiting is not None:
            self.state = InteractionState.waiting
        else:
            self.state = InteractionState.running
        return self.state


class DeliveryStatus(StrEnum):
    pending = "pending"  # waits for a sender
    sent = "sent"  # accepted by the provider (web chat: stored for the socket)
    delivered = "delivered"
    read = "read"
    failed = "failed"  # dead letter: retries exhausted or a permanent error
    discarded = "discarded"  # a dead letter an operator chose not to send again


# ``Event.error_kind`` of a failure a provider reported after accepting the message
# (a delivery report), beside the codes of the send errors (``ports.channels``).
REPORTED_FAILURE = "delivery_report"
# … and of a message the bot wrote to a contact who had opted out: kept, never sent
OPTED_OUT = "opted_out"


class Event(Record):
    """One line of an interaction's events list; outbound messages carry delivery fields."""

    interaction_id: str
    at: datetime = Field(default_factory=utcnow)
    type: str  # inbound, outbound, passage, checkpoint, variables, error, end, ...
    action: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    origin: str | None = None  # the process that wrote it (for other processes' relays)
    agent_id: str | None = None  # the agent holding the conversation when it was written
    # outbound messages only
    channel: Channel | None = None
    entry_point_id: str | None = None
    contact: str | None = None
    status: DeliveryStatus | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease_until: datetime | None = None
    lease_owner: str | None = None  # the process whose lease it is (see HeldMessages)
    # when the customer last wrote, as the step that wrote the message saw it: what
    # WhatsApp's 24-hour window is measured from, known without reading the interaction
    last_inbound_at: datetime | None = None
    provider_id: str | None = None
    error: str | None = None
    error_kind: str | None = None  # the send error's code: what operators filter on
    failed_at: datetime | None = None  # when it became a dead letter
    sent_at: datetime | None = None
    possible_duplicate: bool = False  # re-sent after its sender died mid-send
    reports: dict[str, datetime] = Field(default_factory=dict)  # provider status → when


class ConsentChange(BaseModel):
    """One opt-out or opt-in of a contact: what they wrote, when, in which conversation."""

    opted_out: bool
    at: datetime
    keyword: str = ""
    interaction_id: str | None = None


def language_code(locale: str) -> str:
    """A channel's locale as the contact's language: "fr_FR" and "FR-fr" are "fr-fr";
    translations match it exactly, else by its first part ("fr")."""
    return locale.strip().replace("_", "-").lower()[:16]


def search_key(text: str | None) -> str | None:
    """How names are compared when searched: case and accents ignored."""
    if not text:
        return None
    decomposed = unicodedata.normalize("NFKD", " ".join(text.split()).casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


class Contact(Timestamped):
    channel: Channel
    entry_point_id: str
    external_id: str
    name: str | None = None
    phone: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    # consent: set while the contact has opted out (STOP…); campaigns and the bot's
    # messages are not sent to them until they opt back in (START…)
    opted_out_at: datetime | None = None
    consent_history: list[ConsentChange] = Field(default_factory=list)
    # the name as searched: lower case, no accents ("Zoé" is found by "zoe")
    name_key: str | None = None
    # merged into another contact (the same person on another channel): that one's page
    # shows both, and its variables are the ones conversations of this address read
    merged_into: str | None = None
    erased_at: datetime | None = None  # every personal datum was removed (irreversible)
