"""Outbound messages of provider channels as the outbox API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from routing_core.model.interaction import Channel, DeliveryStatus, Event


class OutboxQuery(BaseModel):
    status: DeliveryStatus = Field(
        DeliveryStatus.failed, description="failed (dead letters, the default), pending, sent…"
    )
    channel: Channel | None = None
    entry_point: str | None = None
    error_kind: str | None = Field(
        None, max_length=60,
        description="rate_limited, provider_unavailable, network, rejected, "
        "recipient_unreachable, window_closed, bad_credentials, delivery_report")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)


class OutboxItem(BaseModel):
    id: str
    interaction_id: str
    at: datetime
    channel: Channel | None
    entry_point_id: str | None
    contact: str | None
    data: dict[str, Any]
    status: DeliveryStatus | None
    attempts: int
    next_attempt_at: datetime | None
    provider_id: str | None
    error: str | None
    error_kind: str | None = None
    sent_at: datetime | None

    @classmethod
    def of(cls, event: Event) -> OutboxItem:
        return cls.model_validate(event.model_dump())


class OutboxList(BaseModel):
    items: list[OutboxItem]
    next: str | None
