"""CRM cards, CRM V2 types and objects as the API shows and accepts them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from admin.schemas.common import PageQuery, Strict
from admin.schemas.reference import Stored
from routing_core.model.crm import CardFields, CrmCard, CrmField, CrmObject, CrmType
from routing_core.model.reference import Description, Name

TypeFields = Annotated[list[CrmField], Field(max_length=100)]


# -- cards -------------------------------------------------------------------------------

class CardIn(Strict):
    fields: CardFields = Field(description="{name: text, number, boolean}")


class CardPatch(Strict):
    fields: CardFields = Field(description="The fields to set; null removes one.")


class CardOut(Stored):
    fields: dict[str, Any]

    @classmethod
    def of(cls, card: CrmCard) -> CardOut:
        return cls.model_validate(card.model_dump())


class CardList(BaseModel):
    items: list[CardOut]
    next: str | None


class CardQuery(PageQuery):
    """Any other query argument ``<field>=<value>`` keeps the cards whose field equals it."""


# -- CRM V2 types ------------------------------------------------------------------------

class TypeIn(Strict):
    name: Name
    description: Description = ""
    fields: TypeFields = Field(default_factory=list)


class TypePatch(Strict):
    name: Name | None = None
    description: Description | None = None
    fields: TypeFields | None = None


class TypeOut(Stored):
    name: str
    description: str
    fields: list[CrmField]

    @classmethod
    def of(cls, crm_type: CrmType) -> TypeOut:
        return cls.model_validate(crm_type.model_dump())


class TypeList(BaseModel):
    items: list[TypeOut]
    next: str | None


# -- CRM V2 objects ----------------------------------------------------------------------

class ObjectIn(Strict):
    type: str = Field(description="The type's id or name.")
    values: dict[str, Any] = Field(description="{field: value}, checked against the type.")


class ObjectPatch(Strict):
    values: dict[str, Any] = Field(description="The values to change; null clears one.")
    revision: int | None = Field(None, description="The revision you read: 409 when the "
                                 "object was saved since")


class ObjectOut(Stored):
    type_id: str
    values: dict[str, Any]

    @classmethod
    def of(cls, found: CrmObject) -> ObjectOut:
        return cls.model_validate(found.model_dump())


class ObjectList(BaseModel):
    items: list[ObjectOut]
    next: str | None


class ObjectQuery(PageQuery):
    """``type`` (id or name); then ``<field>=<value>`` filters on the type's fields."""

    type: str | None = None
