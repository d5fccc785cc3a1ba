"""Routing > Messaging smart routings: the list, create, edit, copy, delete, and the detail
page with its versions by status."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import phrase, said
from admin.pages import catalogue
from admin.pages.nav import NavEntry, add_entry
from admin.pages.views import form_text, page, validated, when
from admin.schemas.routings import RoutingCopyIn, RoutingIn, RoutingPatch, VersionIn
from routing_core.infra.errors import DomainError
from routing_core.model.entry_point import EntryPoint
from routing_core.model.routing import SmartRouting, Version, VersionStatus
from routing_core.routing import validation
from routing_core.routing.references import full_report

blueprint = Blueprint("routings", __name__, url_prefix="/smart-routings")
READ, CREATE, EDIT, DELETE = (f"smart_routings:{op}" for op in ("read", "create", "edit", "delete"))
add_entry(NavEntry("routings", "Routing", "Messaging smart routings", "pages.routings.index", READ))


async def versions_without_trees(query: dict[str, Any]) -> list[Version]:
    """Version summaries for lists: the trees stay in the database."""
    found = services().store.versions.collection.find(query, projection={"tree": 0})
    return [Version.from_document(document) for document in await found.to_list()]


async def test_entry_points(routing_id: str) -> list[EntryPoint]:
    """The test entry points that start their interactions with this routing."""
    return await services().entry_points.test_entry_points_of(routing_id)


# -- the list --------------------------------------------------------------------------


@blueprint.get("")
@require(READ)
async def index() -> Any:
    store = services().store
    routings, next_cursor = await store.routings.list(cursor=request.args.get("cursor"), limit=100)
    shown = await versions_without_trees({
        "routing_id": {"$in": [routing.id for routing in routings]},
        "$or": [{"status": VersionStatus.production.value}, {"scheduled_at": {"$type": "date"}}],
    })
    production = {v.routing_id: v for v in shown if v.status is VersionStatus.production}
    scheduled: dict[str, list[Version]] = {}
    for version in sorted(
        (v for v in shown if v.scheduled_at), key=lambda v: v.scheduled_at or v.created_at
    ):
        scheduled.setdefault(version.routing_id, []).append(version)
    return await page(
        "routings/list.html", active_nav="routings", routings=routings,
        production=production, scheduled=scheduled, next_cursor=next_cursor,
    )


# -- create, edit, copy, delete ----------------------------------------------------------


@blueprint.get("/new")
@require(CREATE)
async def new() -> Any:
    return await page("routings/form.html", active_nav="routings", routing=None, values={},
                      errors={})


@blueprint.post("/new")
@require(CREATE)
async def create() -> Any:
    form = await request.form
    values = form_text(form, "name", "reference", "description", "type")
    data, errors = validated(RoutingIn, values)
    if data is not None:
        try:
            routing = await services().lifecycle.create_routing(actor(), **data.model_dump())
        except DomainError as error:
            errors = {error.field or "form": said(error)}
        else:
            await flash(phrase("Smart routing %(name)s created.", name=routing.name), "success")
            return redirect(url_for("pages.routings.detail", routing_id=routing.id))
    return await page("routings/form.html", 422, active_nav="routings", routing=None,
                      values=values, errors=errors)


@blueprint.get("/<routing_id>/edit")
@require(EDIT)
async def edit(routing_id: str) -> Any:
    routing = await services().store.routings.get(routing_id)
    return await page("routings/form.html", active_nav="routings", routing=routing,
                      values=routing.model_dump(), errors={})


@blueprint.post("/<routing_id>/edit")
@require(EDIT)
async def update(routing_id: str) -> Any:
    routing = await services().store.routings.get(routing_id)
    form = await request.form
    values = form_text(form, "name", "reference", "description")
    data, errors = validated(RoutingPatch, values)
    status = 422
    if data is not None:
        try:
            await services().lifecycle.update_routing(
                actor(), routing_id,
                data.model_dump(exclude_none=True) | {"revision": form.get("revision")},
            )
        except DomainError as error:
            errors = {error.field or "form": said(error)}
            status = error.status
        else:
            await flash(phrase("Smart routing saved."), "success")
            return redirect(url_for("pages.routings.detail", routing_id=routing_id))
    return await page("routings/form.html", status, active_nav="routings", routing=routing,
                      values=values | {"type": routing.type.value,
                                       "revision": form.get("revision")}, errors=errors)


@blueprint.get("/<routing_id>/copy")
@require(CREATE)
async def copy(routing_id: str) -> Any:
    routing = await services().store.routings.get(routing_id)
    values = {"name": f"{routing.name} (copy)", "reference": f"{routing.reference}-copy"}
    return await page("routings/copy.html", active_nav="routings", routing=routing,
                      values=values, errors={})


@blueprint.post("/<routing_id>/copy")
@require(CREATE)
async def copy_post(routing_id: str) -> Any:
    routing = await services().store.routings.get(routing_id)
    values = form_text(await request.form, "name", "reference")
    data, errors = validated(RoutingCopyIn, values)
    if data is not None:
        try:
            duplicate = await services().lifecycle.copy_routing(
                actor(), routing_id, name=data.name, reference=data.reference
            )
        except DomainError as error:
            errors = {error.field or "form": said(error)}
        else:
            await flash(phrase("Smart routing copied as %(name)s, every version in development.",
                              name=duplicate.name), "success")
            return redirect(url_for("pages.routings.detail", routing_id=duplicate.id))
    return await page("routings/copy.html", 422, active_nav="routings", routing=routing,
                      values=values, errors=errors)


@blueprint.post("/<routing_id>/delete")
@require(DELETE)
async def delete(routing_id: str) -> Any:
    routing = await services().store.routings.get(routing_id)
    try:
        await services().lifecycle.delete_routing(actor(), routing_id)
    except DomainError as error:
        await flash(said(error), "error")
    else:
        await flash(phrase("Smart routing %(name)s deleted.", name=routing.name), "success")
    return redirect(url_for("pages.routings.index"))


# -- the detail page and its versions ---------------------------------------------------


@blueprint.get("/<routing_id>")
@require(READ)
async def detail(routing_id: str) -> Any:
    return await render_detail(routing_id)


async def render_detail(
    routing_id: str, status: int = 200, values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Any:
    store = services().store
    routing: SmartRouting = await store.routings.get(routing_id)
    versions = await store.versions.all({"routing_id": routing_id})
    production = next((v for v in versions if v.status is VersionStatus.production), None)
    newest_first = sorted(versions, key=lambda v: v.updated_at, reverse=True)
    in_test = next((v for v in versions if v.in_test), None)
    return await page(
        "routings/detail.html",
        status,
        active_nav="routings",
        routing=routing,
        versions=versions,
        production=production,
        development=[v for v in newest_first if v.status is VersionStatus.development],
        backups=[v for v in newest_first if v.status is VersionStatus.backup],
        scheduled=sorted((v for v in versions if v.scheduled_at),
                         key=lambda v: v.scheduled_at or v.created_at),
        # what a development version names is checked too: it is the one to promote next
        reports={v.id: catalogue.viewer_report(
            await full_report(services().store, v.tree)
            if v.status is VersionStatus.development else validation.validate(v.tree), v.tree)
                 for v in versions},
        test_entry_points=await test_entry_points(routing_id) if in_test else [],
        values=values or {"mode": "zero"},
        errors=errors or {},
        when=when,
    )


@blueprint.post("/<routing_id>/versions")
@require(CREATE)
async def create_version(routing_id: str) -> Any:
    form = await request.form
    values = form_text(form, "name", "description", "mode", "copy_from")
    copy_from = values["copy_from"] if values["mode"] == "copy" else None
    if values["mode"] == "copy" and not copy_from:
        return await render_detail(routing_id, 422, values,
                                   {"copy_from": "choose the version to copy"})
    data, errors = validated(VersionIn, {
        "name": values["name"], "description": values["description"], "copy_from": copy_from,
    })
    if data is not None:
        try:
            version = await services().lifecycle.create_version(
                actor(), routing_id, **data.model_dump()
            )
        except DomainError as error:
            errors = {error.field or "form": said(error)}
        else:
            await flash(phrase("Version %(name)s created in development.", name=version.name),
                        "success")
            return redirect(url_for("pages.versions.show", version_id=version.id))
    return await render_detail(routing_id, 422, values, errors)
