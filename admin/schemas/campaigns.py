"""Campaigns and their targets as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from admin.schemas.common import PageQuery, Strict
from admin.schemas.reference import Stored
from routing_core.model.campaigns import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignTarget,
    CampaignWindow,
    MessageTemplate,
    Sender,
    TargetStatus,
)
from routing_core.model.reference import Description, Name

RatePerMinute = Annotated[int, Field(ge=1, le=6_000)]
MaxAttempts = Annotated[int, Field(ge=1, le=10)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Note = Annotated[str, StringConstraints(max_length=2_000)]
MESSAGE = ("A template over target.phone, target.fields (and each field as target.<name>) "
           "and campaign.name. WhatsApp sends it in the entry point's approved template "
           "(its template_content_sid) to contacts outside the 24-hour window.")


class CampaignIn(Strict):
    name: Name
    description: Description = ""
    kind: CampaignKind
    status: CampaignStatus = CampaignStatus.draft
    entry_point_id: str | None = Field(None, description="WhatsApp: the entry point to send "
                                       "from; replies start interactions there.")
    message: MessageTemplate = Field("", description=MESSAGE)
    sender: Sender | None = Field(None, description="SMS: a number, an alphanumeric id or a "
                                  "Messaging Service SID (default: SR_SMS_SENDER).")
    window: CampaignWindow = Field(default_factory=CampaignWindow)
    rate_per_minute: RatePerMinute = 60
    max_attempts: MaxAttempts = 3


class CampaignPatch(Strict):
    name: Name | None = None
    description: Description | None = None
    kind: CampaignKind | None = Field(None, description="Fixed: only the same kind is accepted.")
    status: CampaignStatus | None = None
    entry_point_id: str | None = None
    message: MessageTemplate | None = None
    sender: Sender | None = None
    window: CampaignWindow | None = None
    rate_per_minute: RatePerMinute | None = None
    max_attempts: MaxAttempts | None = None


class CampaignOut(Stored):
    name: str
    description: str
    kind: CampaignKind
    status: CampaignStatus
    entry_point_id: str | None
    message: str
    sender: str | None
    window: CampaignWindow
    rate_per_minute: int
    max_attempts: int

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        return cls.model_validate(campaign.model_dump())


class CampaignList(BaseModel):
    items: list[CampaignOut]
    next: str | None


class CampaignQuery(PageQuery):
    status: CampaignStatus | None = None
    kind: CampaignKind | None = None


# -- targets -----------------------------------------------------------------------------

class TargetIn(Strict):
    phone: Phone = Field(description="In international form (E.164); spaces are dropped.")
    fields: dict[str, Any] = Field(default_factory=dict)
    call_after: datetime | None = Field(None, description="Not contacted before (with offset).")


class TargetsIn(Strict):
    targets: list[TargetIn] = Field(min_length=1, max_length=1_000)


class TargetRefusal(BaseModel):
    index: int
    code: str
    message: str


class TargetsAdded(BaseModel):
    added: int
    refused: list[TargetRefusal]


class TargetPatch(Strict):
    revision: int | None = Field(None, description="The revision you read: 409 when the "
                                 "target changed since")
    fields: dict[str, Any] | None = None
    call_after: datetime | None = None
    status: Literal["pending"] | None = Field(
        None, description="pending queues the target again, its attempts reset."
    )


class TargetOut(Stored):
    campaign_id: str
    phone: str
    fields: dict[str, Any]
    call_after: datetime | None
    status: TargetStatus
    attempts: int
    due_at: datetime
    last_error: str | None
    provider_id: str | None
    sent_at: datetime | None
    reply_interaction_id: str | None
    answered_at: datetime | None
    note: str

    @classmethod
    def of(cls, target: CampaignTarget) -> TargetOut:
        return cls.model_validate(target.model_dump())


class TargetList(BaseModel):
    items: list[TargetOut]
    next: str | None


class TargetQuery(PageQuery):
    status: TargetStatus | None = None
    phone: str | None = None


class ClaimOut(BaseModel):
    target: TargetOut | None
    reason: str | None = Field(None, description="Why no target was given.")


class ResultIn(Strict):
    result: Literal["called", "failed"]
    note: Note = ""
    retry_in_minutes: int | None = Field(
        None, ge=1, le=10_080, description="failed: try again then, while attempts remain."
    )
