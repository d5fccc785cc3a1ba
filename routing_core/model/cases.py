"""Cases: a customer's matter followed across conversations (a claim, an order problem).

A case has a stable, human reference (``CASE-000123``) customers can quote, a status, a
priority and free fields; it lists the interactions that were about it. Trees reach cases
through ``CasesPort`` (``ctx.ports.extra["cases"]``); the snapshot an action keeps in the
interaction's variable ``case`` is what templates read as ``vars.case.*``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol

from pydantic import Field, StringConstraints

from routing_core.model.base import Timestamped
from routing_core.model.reference import Identifier

REFERENCE_PREFIX = "CASE-"

CaseTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
# Free fields of a case: JSON values under names usable in templates.
CaseFields = Annotated[dict[Identifier, Any], Field(max_length=200)]


class CaseStatus(StrEnum):
    open = "open"
    pending = "pending"  # waiting for the customer or a third party: still not closed
    closed = "closed"


OPEN_STATUSES = (CaseStatus.open.value, CaseStatus.pending.value)


class CasePriority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


def case_reference(number: int) -> str:
    return f"{REFERENCE_PREFIX}{number:06d}"


class Case(Timestamped):
    """``number`` is unique (a unique index) and gives the reference; ``origin`` is the step
    of the interaction that opened it, so a replayed step finds its case instead of
    opening a second one."""

    number: int
    reference: str
    title: CaseTitle
    status: CaseStatus = CaseStatus.open
    priority: CasePriority = CasePriority.normal
    fields: dict[str, Any] = Field(default_factory=dict)
    contact_id: str | None = None
    interaction_ids: list[str] = Field(default_factory=list)
    origin: str | None = None
    closed_at: datetime | None = None
    revision: int = 0

    def snapshot(self) -> dict[str, Any]:
        """What an interaction keeps in its ``case`` variable (JSON: dates as ISO texts)."""
        return {
            "id": self.id,
            "reference": self.reference,
            "title": self.title,
            "status": self.status.value,
            "priority": self.priority.value,
            "fields": dict(self.fields),
            "contact_id": self.contact_id,
            "created_at": self.created_at.isoformat(),
        }


class CasesPort(Protocol):
    """What the case actions call; every method answers case snapshots."""

    async def latest_open(self, contact_id: str) -> dict[str, Any] | None:
        """The contact's most recently opened case that is not closed."""
        ...

    async def by_reference(self, reference: str) -> dict[str, Any] | None: ...

    async def link(self, case_id: str, interaction_id: str) -> dict[str, Any] | None:
        """Add the interaction to the case's interactions; None if the case is gone."""
        ...

    async def unlink(self, case_id: str, interaction_id: str) -> None: ...

    async def open_case(
        self, *, title: str, fields: dict[str, Any], priority: str, contact_id: str,
        interaction_id: str, origin: str,
    ) -> dict[str, Any]:
        """A new case linked to the interaction (the same one again for the same origin)."""
        ...

    async def modify(
        self, case_id: str, *, fields: dict[str, Any], status: str | None,
        priority: str | None,
    ) -> dict[str, Any] | None:
        """Merge ``fields`` into the case's and set status and priority; None if gone."""
        ...
