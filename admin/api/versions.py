"""Versions of a routing and their lifecycle; the action tree of a development version."""

from __future__ import annotations

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, require, services
from admin.schemas.common import PageQuery
from admin.schemas.routings import (
    ActionIn,
    ActionOut,
    ActionPatch,
    DuplicateIn,
    LinkIn,
    ProductionOut,
    ScheduleIn,
    ValidationOut,
    VersionIn,
    VersionList,
    VersionOut,
    VersionPatch,
    VersionSummary,
)
from routing_core.infra.errors import NotFound, Words
from routing_core.routing.references import full_report

blueprint = Blueprint("api_versions", __name__, url_prefix="/api")

READ, CREATE, EDIT, DELETE = (f"smart_routings:{op}" for op in ("read", "create", "edit", "delete"))


@blueprint.get("/smart-routings/<routing_id>/versions")
@require(READ)
@validate_querystring(PageQuery)
@validate_response(VersionList)
async def list_versions(routing_id: str, query_args: PageQuery) -> VersionList:
    store = services().store
    await store.routings.get(routing_id)
    items, cursor = await store.versions.list(
        {"routing_id": routing_id}, cursor=query_args.cursor, limit=query_args.limit
    )
    return VersionList(items=[VersionSummary.of(item) for item in items], next=cursor)


@blueprint.post("/smart-routings/<routing_id>/versions")
@require(CREATE)
@validate_request(VersionIn)
@validate_response(VersionOut, 201)
async def create_version(routing_id: str, data: VersionIn) -> tuple[VersionOut, int]:
    version = await services().lifecycle.create_version(actor(), routing_id, **data.model_dump())
    return VersionOut.of(version), 201


@blueprint.get("/versions/<version_id>")
@require(READ)
@validate_response(VersionOut)
async def get_version(version_id: str) -> VersionOut:
    version = await services().store.versions.get(version_id)
    shown = VersionOut.of(version)
    if version.in_test:
        points = await services().entry_points.test_entry_points_of(version.routing_id)
        shown.test_entry_points = [point.id for point in points]
    return shown


@blueprint.patch("/versions/<version_id>")
@require(EDIT)
@validate_request(VersionPatch)
@validate_response(VersionOut)
async def update_version(version_id: str, data: VersionPatch) -> VersionOut:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    return VersionOut.of(await services().lifecycle.update_version(actor(), version_id, changes))


@blueprint.delete("/versions/<version_id>")
@require(DELETE)
async def delete_version(version_id: str) -> tuple[str, int]:
    await services().lifecycle.delete_version(actor(), version_id)
    return "", 204


@blueprint.post("/versions/<version_id>/production")
@require(EDIT)
@validate_response(ProductionOut)
async def put_in_production(version_id: str) -> ProductionOut:
    version, previous = await services().lifecycle.put_in_production(actor(), version_id)
    return ProductionOut(
        version=VersionSummary.of(version),
        previous=VersionSummary.of(previous) if previous else None,
    )


@blueprint.post("/versions/<version_id>/test")
@require(EDIT)
@validate_response(VersionSummary)
async def put_in_test(version_id: str) -> VersionSummary:
    return VersionSummary.of(await services().lifecycle.put_in_test(actor(), version_id))


@blueprint.delete("/versions/<version_id>/test")
@require(EDIT)
@validate_response(VersionSummary)
async def remove_from_test(version_id: str) -> VersionSummary:
    return VersionSummary.of(await services().lifecycle.remove_from_test(actor(), version_id))


@blueprint.put("/versions/<version_id>/schedule")
@require(EDIT)
@validate_request(ScheduleIn)
@validate_response(VersionSummary)
async def schedule(version_id: str, data: ScheduleIn) -> VersionSummary:
    version = await services().lifecycle.schedule(actor(), version_id, data.at)
    return VersionSummary.of(version)


@blueprint.delete("/versions/<version_id>/schedule")
@require(EDIT)
@validate_response(VersionSummary)
async def cancel_schedule(version_id: str) -> VersionSummary:
    version = await services().lifecycle.cancel_schedule(actor(), version_id)
    return VersionSummary.of(version)


@blueprint.post("/versions/<version_id>/duplicate")
@require(CREATE)
@validate_request(DuplicateIn)
@validate_response(VersionOut, 201)
async def duplicate(version_id: str, data: DuplicateIn) -> tuple[VersionOut, int]:
    version = await services().lifecycle.duplicate_version(actor(), version_id, data.name)
    return VersionOut.of(version), 201


@blueprint.get("/versions/<version_id>/validation")
@require(READ)
@validate_response(ValidationOut)
async def validation(version_id: str) -> ValidationOut:
    version = await services().store.versions.get(version_id)
    report = await full_report(services().store, version.tree)
    return ValidationOut.model_validate(report.model_dump())


@blueprint.post("/versions/<version_id>/actions")
@require(EDIT)
@validate_request(ActionIn)
@validate_response(ActionOut, 201)
async def add_action(version_id: str, data: ActionIn) -> tuple[ActionOut, int]:
    action = await services().trees.add(
        actor(),
        version_id,
        after=data.after.action,
        branch=data.after.branch,
        before=data.before,
        type=data.type,
        name=data.name,
        params=data.params,
        record_passage=data.record_passage,
        copy_version=data.copy_.version if data.copy_ else None,
        copy_action=data.copy_.action if data.copy_ else None,
        following=(data.following or "") if "following" in data.model_fields_set else None,
    )
    return ActionOut.of(action), 201


@blueprint.get("/versions/<version_id>/actions/<action_id>")
@require(READ)
@validate_response(ActionOut)
async def get_action(version_id: str, action_id: str) -> ActionOut:
    version = await services().store.versions.get(version_id)
    action = version.tree.find(action_id)
    if action is None:
        raise NotFound(Words("no action %(action_id)r in this version", action_id=action_id))
    return ActionOut.of(action)


@blueprint.patch("/versions/<version_id>/actions/<action_id>")
@require(EDIT)
@validate_request(ActionPatch)
@validate_response(ActionOut)
async def update_action(version_id: str, action_id: str, data: ActionPatch) -> ActionOut:
    changes = data.model_dump(exclude_unset=True)
    action = await services().trees.update(actor(), version_id, action_id, changes)
    return ActionOut.of(action)


@blueprint.delete("/versions/<version_id>/actions/<action_id>")
@require(EDIT)
async def delete_action(version_id: str, action_id: str) -> tuple[str, int]:
    await services().trees.delete(actor(), version_id, action_id)
    return "", 204


@blueprint.put("/versions/<version_id>/links")
@require(EDIT)
@validate_request(LinkIn)
@validate_response(VersionOut)
async def set_link(version_id: str, data: LinkIn) -> VersionOut:
    version = await services().trees.link(actor(), version_id, data.from_, data.branch, data.to)
    return VersionOut.of(version)


class EditsOut(BaseModel):
    undo: str | None = Field(description="What Undo would take back (None: nothing)")
    redo: str | None = Field(description="What Redo would make again (None: nothing)")


@blueprint.get("/versions/<version_id>/edits")
@require(READ)
@validate_response(EditsOut)
async def edits(version_id: str) -> EditsOut:
    """The version's undo history as Undo and Redo buttons read it (the last 50 edits are
    kept, server-side: a reload keeps them)."""
    await services().store.versions.get(version_id)
    last, undone = await services().trees.history(version_id)
    return EditsOut(undo=last.label if last else None, redo=undone.label if undone else None)


@blueprint.post("/versions/<version_id>/undo")
@require(EDIT)
@validate_response(VersionOut)
async def undo(version_id: str) -> VersionOut:
    """Take back the last edit of a development version's tree (409: nothing to undo, or the
    tree changed another way since)."""
    return VersionOut.of(await services().trees.undo(actor(), version_id))


@blueprint.post("/versions/<version_id>/redo")
@require(EDIT)
@validate_response(VersionOut)
async def redo(version_id: str) -> VersionOut:
    """Make again the edit undone last (409: nothing to redo — a new edit replaces them)."""
    return VersionOut.of(await services().trees.redo(actor(), version_id))
