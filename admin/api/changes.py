"""Changing a live bot with confidence: what a version changes against another (by
default the production), and what putting it in production touches."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_querystring, validate_response

from admin.context import require, services
from routing_core.infra.errors import Invalid
from routing_core.model.routing import Version, VersionStatus
from routing_core.model.tree import Tree
from routing_core.routing.impact import impact_of
from routing_core.routing.version_diff import diff_trees

blueprint = Blueprint("api_changes", __name__, url_prefix="/api")
READ = "smart_routings:read"


class DiffQuery(BaseModel):
    against: str | None = Field(None, max_length=100, description="Another version of the "
                                "same routing (default: its production version)")


class ActionRefOut(BaseModel):
    id: str
    type: str
    name: str


class ParamChangeOut(BaseModel):
    name: str
    old: Any
    new: Any


class LinkChangeOut(BaseModel):
    branch: str
    old: str | None
    new: str | None


class ActionChangeOut(BaseModel):
    id: str
    type: str
    name: str
    old_name: str | None
    params: list[ParamChangeOut]
    links: list[LinkChangeOut]
    record_passage: tuple[bool, bool] | None


class DiffOut(BaseModel):
    version_id: str
    against_id: str | None = Field(description="None: nothing to compare with (no "
                                   "production): every action is added")
    added: list[ActionRefOut]
    removed: list[ActionRefOut]
    changed: list[ActionChangeOut]


class WaitingOut(BaseModel):
    action_id: str
    name: str
    conversations: int
    in_candidate: bool


class EntryPointRoleOut(BaseModel):
    id: str
    name: str
    role: str


class ScheduledOut(BaseModel):
    id: str
    name: str
    at: datetime


class UnresolvedOut(BaseModel):
    action_id: str
    action_name: str
    kind: str
    reference: str
    problem: str


class ImpactOut(BaseModel):
    production: str | None
    waiting_total: int = Field(description="Conversations waiting on the current production "
                               "version: they stay on it")
    waiting: list[WaitingOut]
    entry_points: list[EntryPointRoleOut]
    leading_here: list[dict[str, str]]
    scheduled: list[ScheduledOut]
    unresolved: list[UnresolvedOut]


async def compared(version: Version, against: str | None) -> Version | None:
    store = services().store
    if against:
        other = await store.versions.get(against)
        if other.routing_id != version.routing_id:
            raise Invalid("compare with a version of the same smart routing", field="against")
        return other
    return await store.versions.find_one(
        {"routing_id": version.routing_id, "status": VersionStatus.production.value})


@blueprint.get("/versions/<version_id>/diff")
@require(READ)
@validate_querystring(DiffQuery)
@validate_response(DiffOut)
async def diff(version_id: str, query_args: DiffQuery) -> DiffOut:
    """Actions added, removed, changed (each parameter old → new, links re-pointed, the
    passage flag) from ``against`` to this version."""
    version = await services().store.versions.get(version_id)
    other = await compared(version, query_args.against)
    found = diff_trees(other.tree if other else Tree(start="", actions=[]), version.tree)
    return DiffOut.model_validate({"version_id": version.id,
                                   "against_id": other.id if other else None,
                                   **asdict(found)})


@blueprint.get("/versions/<version_id>/impact")
@require(READ)
@validate_response(ImpactOut)
async def impact(version_id: str) -> ImpactOut:
    """What putting this version in production touches: conversations waiting on the
    current production (they stay on it), entry points and routings leading here,
    scheduled productions, references that do not resolve."""
    found = await impact_of(services().store, await services().store.versions.get(version_id))
    return ImpactOut(
        production=found.production, waiting_total=found.waiting_total,
        waiting=[WaitingOut(**asdict(item)) for item in found.waiting],
        entry_points=[EntryPointRoleOut(id=id_, name=name, role=role)
                      for id_, name, role in found.entry_points],
        leading_here=[{"routing": routing, "action": action}
                      for routing, action in found.leading_here],
        scheduled=[ScheduledOut(id=id_, name=name, at=at) for id_, name, at in found.scheduled],
        unresolved=[UnresolvedOut(**asdict(item)) for item in found.unresolved],
    )
