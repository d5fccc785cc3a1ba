"""Smart routings, versions and action trees as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from admin.schemas.common import Strict, refuse_null
from routing_core.model.routing import RoutingType, SmartRouting, Version, VersionStatus
from routing_core.model.tree import Action, Tree

Name = Field(min_length=1, max_length=200)
Reference = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
Description = Field("", max_length=5000)


class RoutingIn(Strict):
    name: str = Name
    reference: str = Reference
    description: str = Description
    type: RoutingType


class RoutingPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    reference: str | None = Field(
        None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
    )
    description: str | None = Field(None, max_length=5000)
    type: RoutingType | None = None  # accepted only to be refused with a clear message

    _present = field_validator("name", "reference", "description", mode="before")(refuse_null)


class RoutingCopyIn(Strict):
    name: str = Name
    reference: str = Reference


class RoutingOut(BaseModel):
    id: str
    name: str
    reference: str
    description: str
    type: RoutingType
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, routing: SmartRouting) -> RoutingOut:
        return cls.model_validate(routing.model_dump())


class VersionSummary(BaseModel):
    id: str
    routing_id: str
    name: str
    description: str
    status: VersionStatus
    in_test: bool
    scheduled_at: datetime | None
    revision: int
    created_at: datetime
    updated_at: datetime
    production_at: datetime | None

    @classmethod
    def of(cls, version: Version) -> VersionSummary:
        return cls.model_validate(version.model_dump(exclude={"tree"}))


class ActionOut(BaseModel):
    id: str
    type: str
    name: str
    params: dict[str, Any]
    record_passage: bool
    next: dict[str, str | None]

    @classmethod
    def of(cls, action: Action) -> ActionOut:
        return cls.model_validate(action.model_dump())


class TreeOut(BaseModel):
    start: str
    actions: list[ActionOut]

    @classmethod
    def of(cls, tree: Tree) -> TreeOut:
        return cls(start=tree.start, actions=[ActionOut.of(action) for action in tree.actions])


class VersionOut(VersionSummary):
    tree: TreeOut
    test_entry_points: list[str] = Field(
        default_factory=list, description="While the version is in test: the ids of the "
        "routing's test entry points, which run it")

    @classmethod
    def of(cls, version: Version) -> VersionOut:  # type: ignore[override]
        return cls.model_validate(version.model_dump() | {"tree": TreeOut.of(version.tree)})


class RoutingVersions(BaseModel):
    production: VersionSummary | None
    backups: list[VersionSummary]
    development: list[VersionSummary]
    in_test: VersionSummary | None
    scheduled: list[VersionSummary]


class RoutingDetail(RoutingOut):
    versions: RoutingVersions


class RoutingList(BaseModel):
    items: list[RoutingOut]
    next: str | None


class VersionList(BaseModel):
    items: list[VersionSummary]
    next: str | None


class VersionIn(Strict):
    name: str = Name
    description: str = Description
    copy_from: str | None = None


class VersionPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)


class DuplicateIn(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)


class ScheduleIn(Strict):
    at: datetime


class ProductionOut(BaseModel):
    version: VersionSummary
    previous: VersionSummary | None


class AfterIn(Strict):
    action: str
    branch: str | None = None


class CopyIn(Strict):
    version: str | None = None
    action: str


class ActionIn(Strict):
    type: str | None = None
    name: str = Field("", max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    record_passage: bool = False
    after: AfterIn
    before: str | None = None
    # the action the new one leads to: absent, what the branch led to; null, none yet
    following: str | None = None
    copy_: CopyIn | None = Field(None, alias="copy")


class ActionPatch(Strict):
    name: str | None = Field(None, max_length=200)
    params: dict[str, Any] | None = None
    record_passage: bool | None = None

    _present = field_validator("name", "params", "record_passage", mode="before")(refuse_null)


class LinkIn(Strict):
    from_: str = Field(alias="from")
    branch: str
    to: str | None


class Finding(BaseModel):
    code: str
    message: str
    action: str | None = None
    branch: str | None = None


class ValidationOut(BaseModel):
    errors: list[Finding]
    warnings: list[Finding]


class ExportOut(BaseModel):
    format: str = "smart-routing/1"
    routing: dict[str, Any]
    versions: list[dict[str, Any]]


class ImportIn(Strict):
    format: str = "smart-routing/1"
    routing: dict[str, Any]
    versions: list[dict[str, Any]]
    reference: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="A new reference for the imported routing (when the exported one is taken).",
    )
    name: str | None = Field(None, min_length=1, max_length=200)
