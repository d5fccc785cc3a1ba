"""The base of every stored record: a string id and UTC datetimes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from routing_core.infra.clock import as_utc, utcnow
from routing_core.infra.ids import new_id


class Record(BaseModel):
    """A document of one collection; ``id`` is stored as MongoDB's ``_id``."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=new_id)

    @field_validator("*", mode="after")
    @classmethod
    def _aware_datetimes(cls, value: Any) -> Any:
        return as_utc(value) if isinstance(value, datetime) else value

    def to_document(self) -> dict[str, Any]:
        document = self.model_dump(mode="python", exclude={"id"})
        document["_id"] = self.id
        return document

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Self:
        data = dict(document)
        data["id"] = data.pop("_id")
        return cls.model_validate(data)


class Timestamped(Record):
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
