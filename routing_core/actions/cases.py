"""Actions that tie an interaction to cases, CRM cards, CRM V2 objects and tasks."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from routing_core.actions.base import ActionType, register
from routing_core.actions.params import (
    FieldName,
    Fields,
    Reference,
    RequiredTemplate,
    Template,
    Title,
    invalid,
)

CasePriority = Literal["low", "normal", "high", "urgent"]
CaseStatus = Literal["open", "pending", "closed"]


@register
class CaseAssociate(ActionType):
    """Links the interaction to an existing case so later actions can read ``case.*``."""

    type = "case_associate"
    branches = ("found", "not_found")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        lookup: Literal["latest_open", "by_reference"] = "latest_open"
        reference: Template | None = Field(None, validate_default=True)

        @field_validator("reference")
        @classmethod
        def _reference_for_lookup(cls, reference: str | None, info: ValidationInfo) -> str | None:
            if info.data.get("lookup") == "by_reference" and not reference:
                raise invalid("required when lookup is by_reference")
            return reference


@register
class CrmAssociate(ActionType):
    """Finds the contact's CRM card by a field value (e.g. phone = contact phone)."""

    type = "crm_associate"
    branches = ("found", "not_found", "several")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        field: FieldName
        value: RequiredTemplate


@register
class Crm2Associate(ActionType):
    """Finds a typed CRM V2 object by a field value."""

    type = "crm2_associate"
    branches = ("found", "not_found", "several")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        object_type: Reference
        field: FieldName
        value: RequiredTemplate


@register
class CrmCreate(ActionType):
    """Creates a CRM card for a new contact and associates it."""

    type = "crm_create"
    branches = ("next", "failure")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        fields: Annotated[Fields, Field(min_length=1)]


@register
class Crm2Create(ActionType):
    """Creates a typed CRM V2 object; its fields are checked against the type when run."""

    type = "crm2_create"
    branches = ("next", "failure")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        object_type: Reference
        fields: Annotated[Fields, Field(min_length=1)]


class Assignee(BaseModel):
    """Who a task goes to: one agent (id or template) or a queue (by name)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["user", "queue"]
    ref: RequiredTemplate


@register
class TaskCreate(ActionType):
    """Leaves follow-up work for people, linked to the interaction and its case."""

    type = "task_create"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        title: Title
        description: Template = ""
        due_in_minutes: Annotated[int, Field(ge=1, le=525_600)] | None = None
        assignee: Assignee | None = None


@register
class CaseDissociate(ActionType):
    """Unlinks the case so the rest of the tree works without it."""

    type = "case_dissociate"


@register
class CaseCreate(ActionType):
    """Opens a case for the conversation and associates it."""

    type = "case_create"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        title: Title
        fields: Fields = {}
        priority: CasePriority = "normal"


@register
class CaseModify(ActionType):
    """Updates the associated case; ``failure`` when none is associated."""

    type = "case_modify"
    branches = ("next", "failure")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        fields: Fields = {}
        status: CaseStatus | None = None
        priority: CasePriority | None = None

        @model_validator(mode="after")
        def _changes_something(self) -> Self:
            if not self.fields and self.status is None and self.priority is None:
                raise invalid("give fields, a status or a priority to change")
            return self
