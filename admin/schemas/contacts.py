"""Contacts as the API shows them: found, one person's page, a merge, an erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from admin.schemas.common import Strict
from admin.schemas.interactions import InteractionOut
from routing_core.contacts.directory import ContactProfile
from routing_core.model.interaction import Channel, ConsentChange, Contact


class ContactQuery(BaseModel):
    q: str = Field("", max_length=200,
                   description="The start of a name (any case, accents ignored), an address "
                               "or a phone number")
    channel: Channel | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)


class ContactOut(BaseModel):
    id: str
    channel: Channel
    entry_point_id: str
    external_id: str = Field(description="The address: chat id, phone, PSID, visitor id")
    name: str | None
    phone: str | None
    variables: dict[str, Any]
    opted_out_at: datetime | None = Field(description="Set while the contact has opted out")
    consent_history: list[ConsentChange]
    merged_into: str | None
    erased_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls.model_validate(contact.model_dump())


class ContactList(BaseModel):
    items: list[ContactOut]
    next: str | None


class ContactProfileOut(ContactOut):
    addresses: list[ContactOut] = Field(description="Contacts merged into this one")
    conversations: list[InteractionOut] = Field(description="The latest 50, newest first")

    @classmethod
    def of_profile(cls, profile: ContactProfile) -> ContactProfileOut:
        return cls.model_validate({
            **profile.contact.model_dump(),
            "addresses": [address.model_dump() for address in profile.addresses],
            "conversations": [item.model_dump() for item in profile.conversations]})


class MergeIn(Strict):
    other: str = Field(min_length=1, max_length=100,
                       description="The contact merged into this one (it becomes an address)")


class ErasureIn(Strict):
    confirm: bool = Field(description="Must be true: the erasure cannot be undone")


class ErasureOut(BaseModel):
    erased: dict[str, int] = Field(description="Records blanked, by collection")
