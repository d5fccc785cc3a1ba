"""Entry points and interactions as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from admin.schemas.common import Strict, refuse_null
from routing_core.model.entry_point import (
    Canary,
    CanaryShare,
    Consent,
    EntryPoint,
    EntryPointMode,
)
from routing_core.model.interaction import (
    Channel,
    Event,
    Interaction,
    InteractionState,
    Waiting,
)


class EntryPointIn(Strict):
    channel: Channel
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=200)
    mode: EntryPointMode = EntryPointMode.production
    start_routing: str = Field(min_length=1, description="Routing id or reference (type start)")
    end_routing: str | None = Field(None, description="Routing id or reference (type end)")
    fallback_text: str | None = Field(None, max_length=4096)
    consent: Consent = Field(default_factory=Consent,
                             description="Opt-out and opt-in keywords and their replies")
    credentials: dict[str, str] = Field(default_factory=dict, description="Write-only")


class EntryPointPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    address: str | None = Field(None, min_length=1, max_length=200)
    mode: EntryPointMode | None = None
    start_routing: str | None = None
    end_routing: str | None = None
    fallback_text: str | None = Field(None, max_length=4096)
    consent: Consent | None = None
    credentials: dict[str, str] | None = None
    channel: Channel | None = None  # accepted only to be refused with a clear message
    # the revision the change was made from (as read in ``EntryPointOut``): a change saved
    # since is refused with 409 instead of overwritten
    revision: int | None = Field(None, ge=0)

    _present = field_validator("name", "address", "mode", "start_routing", "channel",
                               mode="before")(refuse_null)


class EntryPointOut(BaseModel):
    id: str
    channel: Channel
    name: str
    address: str
    mode: EntryPointMode
    start_routing: str
    end_routing: str | None
    fallback_text: str | None
    consent: Consent
    has_credentials: bool
    webhook_url: str | None = None
    canary: Canary | None = None
    revision: int = 0  # send it back with a change to have it refused if changed since
    created_at: datetime

    @classmethod
    def of(cls, entry_point: EntryPoint, public_url: str) -> EntryPointOut:
        webhook = (
            None if entry_point.channel is Channel.webchat
            else f"{public_url}/webhooks/{entry_point.channel.value}/{entry_point.id}"
        )
        return cls(
            **entry_point.model_dump(exclude={"credentials_sealed"}),
            has_credentials=bool(entry_point.credentials_sealed),
            webhook_url=webhook,
        )


class EntryPointList(BaseModel):
    items: list[EntryPointOut]
    next: str | None


class EventOut(BaseModel):
    id: str
    at: datetime
    type: str
    action: str | None
    data: dict[str, Any]
    status: str | None = None
    attempts: int = 0
    provider_id: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls.model_validate(event.model_dump())


class InteractionOut(BaseModel):
    id: str
    entry_point_id: str
    channel: Channel
    contact: str
    contact_id: str
    routing_id: str
    version_id: str
    revision: int
    test: bool
    kind: str
    status: str
    state: InteractionState
    contact_name: str | None = None
    contact_phone: str | None = None
    agent_id: str | None = None
    event_seq: int = Field(0, description="Grows with each event: what a repair must name")
    cursor: str | None
    waiting: Waiting | None
    variables: dict[str, Any]
    path: list[str]
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    end_reason: str | None

    @classmethod
    def of(cls, interaction: Interaction) -> InteractionOut:
        return cls.model_validate(interaction.model_dump())


class InteractionDetail(InteractionOut):
    events: list[EventOut]


class InteractionList(BaseModel):
    items: list[InteractionOut]
    next: str | None
    count: int = Field(description="How many match, counted up to 10,001")
    count_capped: bool = Field(description="True: more than 10,000 match")


class InteractionQuery(BaseModel):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)
    routing: str | None = Field(None, max_length=100, description="A routing's id")
    version: str | None = Field(None, max_length=100, description="A version's id")
    entry_point: str | None = Field(None, max_length=100, description="An entry point's id")
    channel: Channel | None = None
    state: InteractionState | None = None
    status: Literal["active", "ended"] | None = Field(
        None, description="active: running, waiting or with an agent; ended: ended or failed")
    started_from: datetime | None = Field(None, description="Started at or after")
    started_to: datetime | None = Field(None, description="Started before")
    contact: str | None = Field(None, min_length=1, max_length=200,
                                description="An address, a phone number or a name's start")
    test: bool = Field(False, description="Test conversations instead of real ones")

    @model_validator(mode="after")
    def _consistent(self) -> InteractionQuery:
        if self.state is not None and self.status is not None:
            raise ValueError("give state or status, not both")
        for name in ("started_from", "started_to"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. 2026-12-04T10:00:00Z)")
        return self


class ExecutionOut(InteractionOut):
    events: list[EventOut]


class ExecutionList(BaseModel):
    items: list[ExecutionOut]
    next: str | None


class StuckQuery(BaseModel):
    waiting_minutes: int = Field(60, ge=1, le=525_600,
                                 description="Waiting longer than this is stuck")


class StuckOut(BaseModel):
    interaction: InteractionOut
    reasons: list[Literal["waiting_too_long", "action_missing", "step_failing"]]
    step_error: str | None


class StuckList(BaseModel):
    items: list[StuckOut]


class RepairIn(Strict):
    kind: Literal["end", "move", "rerun"]
    event_seq: int = Field(ge=0, description="The conversation's event_seq when you looked: "
                           "the repair is refused (409) if it moved since")
    action: str | None = Field(None, max_length=100, description="move: the action to go to")


class CanaryIn(Strict):
    version: str = Field(min_length=1, max_length=100,
                         description="A development version of the start routing")
    share: CanaryShare = Field(description="Per cent of new conversations, 1 to 50")


class ConversationStartIn(Strict):
    """Open a conversation with a contact from another system."""

    contact: str = Field(min_length=1, max_length=200,
                         description="The address on the entry point's channel: a WhatsApp "
                                     "number (+E.164), a Telegram chat id, a PSID, a visitor id")
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=200,
        description="The same key twice opens one conversation (or the Idempotency-Key "
                    "header)")
    routing: str | None = Field(None, max_length=100,
                                description="A start routing's id or reference; the entry "
                                            "point's start routing when left out")
    variables: dict[str, Any] = Field(default_factory=dict,
                                      description="The conversation's variables to begin with")
    contact_name: str | None = Field(None, max_length=200)
