"""Outbound campaigns (WhatsApp, SMS, voice) and their targets.

A target is one phone number to reach, with fields its message template reads, the
earliest time to contact it (``call_after``) and its delivery status. The
``campaign_targets`` collection is the campaign's own outbox: the campaign runner claims
due targets with a lease, sends them within the campaign's window and rate, and records
the outcome; a voice campaign's targets are claimed the same way by an external dialer
through the API. Trees add targets through ``CampaignsPort``
(``ctx.ports.extra["campaigns"]``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from routing_core.model.base import Timestamped
from routing_core.model.reference import (
    WEEKDAYS,
    ClockTime,
    Description,
    Name,
    Timezone,
    invalid,
    minutes,
)

MessageTemplate = Annotated[str, StringConstraints(max_length=1_600)]
Sender = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
Weekday = Annotated[str, StringConstraints(pattern="^(" + "|".join(WEEKDAYS) + ")$")]


class CampaignKind(StrEnum):
    whatsapp = "whatsapp"
    voice = "voice"
    sms = "sms"


class CampaignStatus(StrEnum):
    draft = "draft"  # targets may be added; nothing is sent
    running = "running"
    paused = "paused"
    closed = "closed"  # for good: no new target, nothing sent


# Status changes an admin may make (closing is always possible, reopening never).
TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.draft: frozenset({CampaignStatus.running, CampaignStatus.closed}),
    CampaignStatus.running: frozenset({CampaignStatus.paused, CampaignStatus.closed}),
    CampaignStatus.paused: frozenset({CampaignStatus.running, CampaignStatus.closed}),
    CampaignStatus.closed: frozenset(),
}


class TargetStatus(StrEnum):
    pending = "pending"  # waits for its time, its window, a rate slot or a retry
    sending = "sending"  # claimed by the runner or a dialer (under a lease)
    sent = "sent"  # accepted by the provider
    failed = "failed"  # a permanent error, or the attempts are used up
    answered = "answered"  # the contact replied to the WhatsApp message
    called = "called"  # the dialer reported the call done
    opted_out = "opted_out"  # not sent: the contact replied STOP (or another opt-out word)


class CampaignWindow(BaseModel):
    """When a campaign may contact people: the opening hours of a named schedule, or daily
    hours (``start`` included, ``end`` excluded) on some weekdays in a timezone."""

    model_config = ConfigDict(extra="forbid")

    schedule: Name | None = None
    start: ClockTime = "00:00"
    end: ClockTime = "24:00"
    timezone: Timezone = "UTC"
    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)] = Field(
        default_factory=lambda: list(WEEKDAYS)
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if minutes(self.end) <= minutes(self.start):
            raise invalid(f"the end {self.end} must be after the start {self.start}")
        return self


class Campaign(Timestamped):
    """``message`` is a template over ``target`` (its ``phone`` and ``fields``) and
    ``campaign``; WhatsApp campaigns send from ``entry_point_id`` (where replies come
    back), SMS campaigns from ``sender`` (else the service's default sender).

    ``rate_window_start``/``rate_window_count`` count the sends of the current minute; they
    change by conditional updates only, so several processes share the rate.
    """

    name: Name
    description: Description = ""
    kind: CampaignKind
    status: CampaignStatus = CampaignStatus.draft
    entry_point_id: str | None = None
    message: MessageTemplate = ""
    sender: Sender | None = None
    window: CampaignWindow = Field(default_factory=CampaignWindow)
    rate_per_minute: Annotated[int, Field(ge=1, le=6_000)] = 60
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    rate_window_start: datetime | None = None
    rate_window_count: int = 0
    revision: int = 0


class CampaignTarget(Timestamped):
    """``due_at`` is when it may next be tried: ``call_after``, then each retry's time."""

    campaign_id: str
    phone: str
    fields: dict[str, Any] = Field(default_factory=dict)
    call_after: datetime | None = None
    status: TargetStatus = TargetStatus.pending
    attempts: int = 0
    due_at: datetime
    lease_until: datetime | None = None
    last_error: str | None = None
    provider_id: str | None = None
    sent_at: datetime | None = None
    entry_point_id: str | None = None  # where a reply to the WhatsApp message comes in
    reply_interaction_id: str | None = None
    answered_at: datetime | None = None
    note: str = ""  # the dialer's note on the call
    origin: str | None = None  # the interaction step that added it (replays find it)
    revision: int = 0

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "campaign_id": self.campaign_id, "phone": self.phone,
                "status": self.status.value}


class CampaignsPort(Protocol):
    async def add_target(
        self, *, campaign: str, kind: str, phone: str, fields: dict[str, Any],
        call_after: datetime | None, origin: str,
    ) -> dict[str, Any]:
        """Add a target to the named campaign of that kind. NotFound (no such campaign),
        Conflict (closed, another kind, the phone already a target), Invalid (phone)."""
        ...
