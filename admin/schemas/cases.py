"""Cases as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from admin.schemas.common import PageQuery, Strict
from admin.schemas.reference import Stored
from routing_core.model.cases import Case, CaseFields, CasePriority, CaseStatus, CaseTitle


class CaseIn(Strict):
    title: CaseTitle
    status: CaseStatus = CaseStatus.open
    priority: CasePriority = CasePriority.normal
    fields: CaseFields = Field(default_factory=dict, description="{name: any JSON value}")
    contact_id: str | None = None
    interaction_ids: list[str] = Field(default_factory=list, max_length=1000)


class CasePatch(Strict):
    title: CaseTitle | None = None
    status: CaseStatus | None = None
    priority: CasePriority | None = None
    fields: CaseFields | None = Field(None, description="Replaces the case's fields.")
    contact_id: str | None = None
    interaction_ids: list[str] | None = Field(None, max_length=1000)


class CaseOut(Stored):
    number: int
    reference: str = Field(description="CASE- and the number on 6 digits at least.")
    title: str
    status: CaseStatus
    priority: CasePriority
    fields: dict[str, Any]
    contact_id: str | None
    interaction_ids: list[str]
    closed_at: datetime | None

    @classmethod
    def of(cls, case: Case) -> CaseOut:
        return cls.model_validate(case.model_dump())


class CaseList(BaseModel):
    items: list[CaseOut]
    next: str | None


class CaseQuery(PageQuery):
    """Newest first; each given filter must hold."""

    status: CaseStatus | None = None
    priority: CasePriority | None = None
    contact: str | None = Field(None, description="A contact id.")
    interaction: str | None = Field(None, description="An interaction id.")
    reference: str | None = None
