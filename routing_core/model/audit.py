"""The audit trail: who changed what, when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from routing_core.infra.clock import utcnow
from routing_core.model.base import Record


class AuditEntry(Record):
    at: datetime = Field(default_factory=utcnow)
    actor_id: str | None = None  # None: the system (scheduler, import at start-up)
    actor: str = "system"
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any] = Field(default_factory=dict)


class Actor(Record):
    """Whoever asks for a change: a user, or the system itself (``id`` of ``SYSTEM``)."""

    name: str


SYSTEM = Actor(id="system", name="system")
