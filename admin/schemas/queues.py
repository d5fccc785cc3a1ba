"""Queues, and the agent's own view (status, conversations, replies), as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from admin.schemas.common import Strict
from admin.schemas.interactions import EventOut
from routing_core.model.interaction import Channel, Event, Interaction
from routing_core.model.queues import (
    MaxWaitSeconds,
    Name,
    PriorityHandling,
    Queue,
    WaitingMessage,
)
from routing_core.model.users import AgentStatus

Members = Annotated[list[str], Field(max_length=1000, description="Agent user ids")]
ScheduleName = Annotated[str, StringConstraints(max_length=200)]
SCHEDULE = "A schedule's name: the queue is open within its hours (null: always open)."


# -- queues ------------------------------------------------------------------------------

class QueueIn(Strict):
    name: Name
    description: str = Field("", max_length=5000)
    members: Members = Field(default_factory=list)
    schedule: ScheduleName | None = Field(None, description=SCHEDULE)
    max_wait_seconds: MaxWaitSeconds = Field(
        600, description="Caps the wait a to_queue action asks for."
    )
    waiting_message: WaitingMessage = Field(
        "", description="Said when the action has none; sees queue.name and queue.position."
    )
    announce_position: bool = Field(False, description="Tell the customer their place.")
    priority_handling: PriorityHandling = Field(
        PriorityHandling.priority,
        description="priority: higher to_queue priorities first; arrival: arrival order only.",
    )


class QueuePatch(Strict):
    name: Name | None = None
    description: str | None = Field(None, max_length=5000)
    members: Members | None = None
    schedule: ScheduleName | None = Field(None, description=SCHEDULE)
    max_wait_seconds: MaxWaitSeconds | None = None
    waiting_message: WaitingMessage | None = None
    announce_position: bool | None = None
    priority_handling: PriorityHandling | None = None


class QueueOut(BaseModel):
    id: str
    revision: int
    name: str
    description: str
    members: list[str]
    schedule: str | None
    max_wait_seconds: int
    waiting_message: str
    announce_position: bool
    priority_handling: PriorityHandling
    waiting: int = Field(0, description="Conversations waiting in the queue now.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, queue: Queue, waiting: int = 0) -> QueueOut:
        return cls.model_validate(queue.model_dump() | {"waiting": waiting})


class QueueList(BaseModel):
    items: list[QueueOut]
    next: str | None


# -- the agent's view --------------------------------------------------------------------

class StatusIn(Strict):
    status: AgentStatus


class StatusOut(BaseModel):
    status: AgentStatus
    capacity: int
    load: int = Field(description="Conversations held now.")
    queues: list[str] = Field(description="Names of the queues the agent answers.")
    idle_since: datetime | None


class AgentMessageIn(Strict):
    text: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class AgentMessageOut(BaseModel):
    id: str
    interaction: str
    text: str
    at: datetime
    status: str | None
    media_url: str | None = None

    @classmethod
    def of(cls, event: Event) -> AgentMessageOut:
        return cls(id=event.id, interaction=event.interaction_id,
                   text=event.data.get("text", ""), at=event.at,
                   status=event.status.value if event.status else None,
                   media_url=event.data.get("media_url"))


class TransferIn(Strict):
    queue: str | None = Field(None, min_length=1, max_length=200,
                              description="A queue's name or id")
    user: str | None = Field(None, min_length=1, max_length=200,
                             description="An agent's user id or e-mail")
    note: str | None = Field(None, max_length=2000,
                             description="For whoever takes the conversation next")

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.queue is None) == (self.user is None):
            raise ValueError("give either queue or user")
        return self


class AgentInteractionOut(BaseModel):
    """A conversation as the console shows it: who, where from, and its events list."""

    id: str
    channel: Channel
    entry_point_id: str
    contact: str
    contact_name: str | None
    contact_shown: str  # who the agent reads: a name, else the channel's kind of visitor
    queue_id: str | None
    agent_id: str | None
    status: str
    variables: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    events: list[EventOut]

    @classmethod
    def of(cls, interaction: Interaction, events: list[Event]) -> AgentInteractionOut:
        return cls.model_validate(
            interaction.model_dump() | {"events": [EventOut.of(event) for event in events],
                                        "contact_shown": shown_contact(interaction)}
        )


NAME_VARIABLES = ("name", "full_name", "first_name", "customer_name")
CHANNEL_PEOPLE = {Channel.webchat: "Web chat visitor", Channel.whatsapp: "WhatsApp contact",
                  Channel.telegram: "Telegram contact", Channel.messenger: "Messenger contact"}


def shown_contact(interaction: Interaction) -> str:
    """The contact as an agent should read it: the name the channel gave, else a name the
    conversation collected (a "Your name?" question), else what kind of visitor it is with
    the end of its id — never a bare opaque id."""
    if interaction.contact_name:
        return interaction.contact_name
    for variable in NAME_VARIABLES:
        value = interaction.variables.get(variable)
        if isinstance(value, str) and value.strip():
            return value.strip()[:100]
    if interaction.contact_phone:
        return interaction.contact_phone
    kind = CHANNEL_PEOPLE.get(interaction.channel, "Contact")
    return f"{kind} …{interaction.contact[-4:]}"


class AgentInteractionList(BaseModel):
    items: list[AgentInteractionOut]
    next: str | None = None


class EndOut(BaseModel):
    id: str
    status: str
    end_reason: str | None


class NoteIn(Strict):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=4000)]


class NoteOut(BaseModel):
    id: str
    at: datetime
    text: str
    agent: str


class AgentContextOut(BaseModel):
    """Beside a conversation: the contact, what the bot collected, linked records, the
    contact's earlier conversations, internal notes, canned replies for this customer."""

    contact: dict[str, Any]
    variables: dict[str, Any]
    records: dict[str, Any] = Field(description="case, crm, crm2 as the routing linked them")
    tasks: list[dict[str, Any]]
    earlier: list[dict[str, Any]] = Field(description="The contact's latest 10 others")
    notes: list[NoteOut]
    canned: list[dict[str, str]] = Field(
        description="Rows of the value table canned_replies (label, text), rendered")
