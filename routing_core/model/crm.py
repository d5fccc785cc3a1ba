"""The CRM: flat cards (V1) and admin-typed objects (V2) that identify customers.

Cards are free sets of scalar fields, searchable by any of them (a wildcard index). CRM V2
objects belong to a type whose fields are declared (text, number, date, e-mail, phone,
choice), checked on every write; a unique field is enforced by a unique index, as custom
database rows are (``unique_key``). Trees reach both through ``CrmPort``
(``ctx.ports.extra["crm"]``); the associated card or object is kept in the variables
``crm`` and ``crm2`` (its fields, plus ``id``, and ``type`` for V2).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from routing_core.model.base import Timestamped
from routing_core.model.reference import Cell, Description, Identifier, Name, invalid

# A card: scalar fields only (a spreadsheet row), so any field can be searched for.
CardFields = Annotated[dict[Identifier, Cell], Field(max_length=200)]
ChoiceText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class CrmCard(Timestamped):
    fields: dict[str, Any] = Field(default_factory=dict)
    origin: str | None = None  # the interaction step that created it (replays find it)
    revision: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {**self.fields, "id": self.id}


class CrmFieldType(StrEnum):
    text = "text"
    number = "number"
    date = "date"
    email = "email"
    phone = "phone"
    choice = "choice"


class CrmField(BaseModel):
    """One declared field of a CRM V2 type; ``choices`` lists a choice field's values."""

    model_config = ConfigDict(extra="forbid")

    name: Identifier
    type: CrmFieldType
    required: bool = False
    unique: bool = False
    choices: Annotated[list[ChoiceText], Field(max_length=100)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _choices_for_choice(self) -> Self:
        if self.type is CrmFieldType.choice:
            if not self.choices:
                raise invalid("a choice field lists its choices")
            if len(set(self.choices)) != len(self.choices):
                raise invalid("a choice appears twice")
        elif self.choices:
            raise invalid("only a choice field has choices")
        return self


class CrmType(Timestamped):
    """An object type admins define: customer, contract, vehicle…"""

    name: Name
    description: Description = ""
    fields: Annotated[list[CrmField], Field(max_length=100)] = Field(default_factory=list)
    revision: int = 0

    def field(self, name: str) -> CrmField | None:
        return next((field for field in self.fields if field.name == name), None)


class CrmObject(Timestamped):
    """An object of a type; ``unique_key`` holds ``"<field>=<canonical value>"`` per unique
    field, under one unique multikey index (as ``DatabaseRow``)."""

    type_id: str
    values: dict[str, Any] = Field(default_factory=dict)
    unique_key: list[str] = Field(default_factory=list)
    origin: str | None = None
    revision: int = 0

    def snapshot(self, type_name: str) -> dict[str, Any]:
        return {**self.values, "id": self.id, "type": type_name}


class CrmPort(Protocol):
    """What the CRM actions call; cards and objects come back as snapshots."""

    async def find_cards(self, field: str, value: Any, limit: int) -> list[dict[str, Any]]:
        """Cards whose ``field`` equals ``value`` (at most ``limit``)."""
        ...

    async def create_card(self, fields: dict[str, Any], origin: str) -> dict[str, Any]:
        """Invalid for a value a card cannot hold."""
        ...

    async def find_objects(
        self, object_type: str, field: str, value: Any, limit: int
    ) -> list[dict[str, Any]]:
        """NotFound for an unknown type; Invalid for a field it lacks or a bad value."""
        ...

    async def create_object(
        self, object_type: str, values: dict[str, Any], origin: str
    ) -> dict[str, Any]:
        """NotFound (type), Invalid (a value or a missing required field), Conflict (unique)."""
        ...
