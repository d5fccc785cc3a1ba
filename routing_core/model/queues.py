"""Queues of agents, the conversations waiting in them, and the live state of each agent.

A *queue* is what admins configure (members, opening hours, maximum wait, waiting
message). A *queue entry* is one conversation's place in distribution: waiting in a queue
(or offered to one agent), claimed by an agent, assigned, then finished; its id is the
interaction's, and its ``round`` grows each time the conversation is queued again (a
transfer), so a stale claim can never take a newer round. An *agent state* is the live
side of an agent (status, the conversations held, idle since when), kept apart from the
user's profile so that an admin editing the profile never resets what an agent holds.

``DistributionPort`` is what the ``to_queue`` and ``to_user`` actions call; the service in
``routing_core.contact_centre.distribution`` implements it, tests fake it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, Protocol

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from pydantic_core import PydanticCustomError

from routing_core.model.base import Record, Timestamped
from routing_core.model.users import AgentStatus

_TEMPLATES = SandboxedEnvironment()


def _template(text: str) -> str:
    try:
        _TEMPLATES.parse(text)
    except TemplateSyntaxError as error:
        raise PydanticCustomError(
            "invalid", f"not a valid template (line {error.lineno}): {error.message}"
        ) from None
    return text


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MaxWaitSeconds = Annotated[int, Field(ge=10, le=86_400)]
# Rendered like message texts (sandboxed), with ``queue.name`` and ``queue.position`` too.
WaitingMessage = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_template)]


class PriorityHandling(StrEnum):
    """``priority``: a higher ``to_queue`` priority is served first, arrival order within
    a priority; ``arrival``: strict arrival order, priorities ignored."""

    priority = "priority"
    arrival = "arrival"


class Queue(Timestamped):
    """Agents who answer one kind of conversation, and the rules of waiting for them.

    Members are agent user ids; an agent whose profile lists the queue (by name or id)
    is a member too. ``max_wait_seconds`` caps the wait a ``to_queue`` action asks for;
    ``waiting_message`` is said when the action has none of its own (a template that also
    sees ``queue.name`` and ``queue.position``); ``announce_position`` adds a message
    with the conversation's place in line.
    """

    name: Name
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    members: list[str] = Field(default_factory=list)
    schedule: str | None = None  # a schedule's name: the queue is closed outside its hours
    max_wait_seconds: MaxWaitSeconds = 600
    waiting_message: WaitingMessage = ""
    announce_position: bool = False
    priority_handling: PriorityHandling = PriorityHandling.priority
    revision: int = 0


class EntryState(StrEnum):
    waiting = "waiting"  # in its queue (or offered to one agent) until claimed or expired
    claimed = "claimed"  # an agent's capacity is reserved; the interaction is being told
    assigned = "assigned"  # the interaction knows its agent
    expired = "expired"  # nobody took it in time, or the queue could not take it
    withdrawn = "withdrawn"  # the conversation moved on (ended, timed out) before a claim
    ended = "ended"  # the agent's part is over: ended or transferred elsewhere


EntryKind = Literal["queue", "user", "transfer"]


class QueueEntry(Record):
    """One conversation's place in distribution; ``id`` is the interaction id."""

    kind: EntryKind = "queue"
    round: int = 1
    ticket: str = ""  # the waiting action's ticket: a claim only resumes that very wait
    state: EntryState = EntryState.waiting
    queue_id: str | None = None
    queue_name: str | None = None
    target_user: str | None = None  # to_user: the one agent it is offered to
    priority: int = 0  # the order key: 0 for every entry of an ``arrival`` queue
    requested_priority: int = 0
    enqueued_at: datetime
    deadline: datetime
    agent_id: str | None = None
    token: str | None = None  # the agent's reservation (``HeldConversation.token``) it uses
    claimed_at: datetime | None = None
    assigned_at: datetime | None = None
    finished_at: datetime | None = None
    entry_point_id: str = ""
    contact: str = ""
    contact_name: str | None = None
    channel: str = ""


class HeldConversation(BaseModel):
    """One unit of an agent's capacity: a conversation, or a claim of one in flight."""

    interaction: str
    token: str
    at: datetime


class AgentState(Record):
    """The live side of an agent; ``id`` is the user id. ``len(held)`` is the load."""

    status: AgentStatus = AgentStatus.offline
    held: list[HeldConversation] = Field(default_factory=list)
    idle_since: datetime | None = None  # became available, or last given a conversation
    status_at: datetime | None = None
    # last sign of life of an open console (None: the agent works through the API alone)
    console_seen_at: datetime | None = None

    @property
    def load(self) -> int:
        return len({item.interaction for item in self.held})


@dataclass
class TicketRequest:
    """What a waiting action asks of distribution: put this interaction in line."""

    interaction_id: str
    ticket: str  # deterministic per (interaction, action, passage): a replay asks again alike
    now: datetime
    entry_point_id: str
    contact: str
    contact_name: str | None
    channel: str
    queue: str | None = None  # to_queue: the queue's name
    priority: int = 0
    max_wait_seconds: int = 600
    user: str | None = None  # to_user: the agent's id or e-mail


@dataclass
class Placement:
    """The answer: in line (until ``deadline``) or refused, and why."""

    accepted: bool
    reason: str | None = None  # refused: closed, no_agent_available, unavailable, not_agent
    queue_id: str | None = None
    queue_name: str | None = None
    user_id: str | None = None
    position: int = 0
    deadline: datetime | None = None
    waiting_message: str = ""
    announce_position: bool = False


ExpiryResult = Literal["expired", "claimed"]


class DistributionPort(Protocol):
    """What the distribution actions call (``ctx.ports.extra["distribution"]``)."""

    async def enqueue(self, request: TicketRequest) -> Placement:
        """Queue the conversation, or say why the queue cannot take it (unknown: NotFound)."""
        ...

    async def offer_to_user(self, request: TicketRequest) -> Placement: ...

    async def expire(self, interaction_id: str, ticket: str) -> ExpiryResult:
        """The wait is over: take the ticket out of line, unless an agent claimed it."""
        ...
