"""Smart routings: list, create, read, change, delete, copy, export and import."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, g
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, require, services
from admin.schemas.common import PageQuery
from admin.schemas.routings import (
    ExportOut,
    ImportIn,
    RoutingCopyIn,
    RoutingDetail,
    RoutingIn,
    RoutingList,
    RoutingOut,
    RoutingPatch,
    RoutingVersions,
    VersionSummary,
)
from routing_core.infra.errors import Forbidden
from routing_core.model.routing import VersionStatus
from routing_core.routing.portability import export_routing, import_routing

blueprint = Blueprint("api_routings", __name__, url_prefix="/api/smart-routings")

READ, CREATE, EDIT, DELETE = (f"smart_routings:{op}" for op in ("read", "create", "edit", "delete"))


@blueprint.get("")
@require(READ)
@validate_querystring(PageQuery)
@validate_response(RoutingList)
async def list_routings(query_args: PageQuery) -> RoutingList:
    items, cursor = await services().store.routings.list(
        cursor=query_args.cursor, limit=query_args.limit
    )
    return RoutingList(items=[RoutingOut.of(item) for item in items], next=cursor)


@blueprint.post("")
@require(CREATE)
@validate_request(RoutingIn)
@validate_response(RoutingOut, 201)
async def create_routing(data: RoutingIn) -> tuple[RoutingOut, int]:
    routing = await services().lifecycle.create_routing(actor(), **data.model_dump())
    return RoutingOut.of(routing), 201


@blueprint.get("/<routing_id>")
@require(READ)
@validate_response(RoutingDetail)
async def get_routing(routing_id: str) -> RoutingDetail:
    store = services().store
    routing = await store.routings.get(routing_id)
    versions = [VersionSummary.of(v) for v in await store.versions.all({"routing_id": routing_id})]
    summary = RoutingVersions(
        production=next((v for v in versions if v.status is VersionStatus.production), None),
        backups=[v for v in versions if v.status is VersionStatus.backup],
        development=[v for v in versions if v.status is VersionStatus.development],
        in_test=next((v for v in versions if v.in_test), None),
        scheduled=[v for v in versions if v.scheduled_at is not None],
    )
    return RoutingDetail(**RoutingOut.of(routing).model_dump(), versions=summary)


@blueprint.patch("/<routing_id>")
@require(EDIT)
@validate_request(RoutingPatch)
@validate_response(RoutingOut)
async def update_routing(routing_id: str, data: RoutingPatch) -> RoutingOut:
    changes = data.model_dump(exclude_unset=True)
    routing = await services().lifecycle.update_routing(actor(), routing_id, changes)
    return RoutingOut.of(routing)


@blueprint.delete("/<routing_id>")
@require(DELETE)
async def delete_routing(routing_id: str) -> tuple[str, int]:
    await services().lifecycle.delete_routing(actor(), routing_id)
    return "", 204


@blueprint.post("/<routing_id>/copy")
@require(CREATE)
@validate_request(RoutingCopyIn)
@validate_response(RoutingOut, 201)
async def copy_routing(routing_id: str, data: RoutingCopyIn) -> tuple[RoutingOut, int]:
    copy = await services().lifecycle.copy_routing(
        actor(), routing_id, name=data.name, reference=data.reference
    )
    return RoutingOut.of(copy), 201


@blueprint.get("/<routing_id>/export")
@require(READ)
@validate_response(ExportOut)
async def export(routing_id: str) -> dict[str, Any]:
    return await export_routing(services().lifecycle, routing_id)


@blueprint.post("/import")
@require(CREATE)
@validate_request(ImportIn)
@validate_response(RoutingOut, 201)
async def import_(data: ImportIn) -> tuple[RoutingOut, int]:
    """A version imported in production takes traffic at once (a hand-over by reference
    reaches it): that is a production, which needs ``smart_routings:edit`` like any."""
    if any(isinstance(version, dict) and version.get("status") == "production"
           for version in data.versions) and EDIT not in g.permissions:
        raise Forbidden("importing a version in production needs the permission "
                        "'smart_routings:edit'; import it in development instead")
    routing = await import_routing(
        services().lifecycle,
        actor(),
        data.model_dump(include={"format", "routing", "versions"}),
        reference=data.reference,
        name=data.name,
    )
    return RoutingOut.of(routing), 201
