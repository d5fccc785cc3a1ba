"""The canary of a development version, on its page: start it on an entry point with a
share of new conversations, then promote the candidate or abandon it."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import phrase, said
from admin.pages.security import can
from routing_core.infra.errors import DomainError
from routing_core.model.entry_point import EntryPointMode
from routing_core.model.routing import Version, VersionStatus

blueprint = Blueprint("canaries", __name__, url_prefix="/versions")


async def canary_context(version: Version) -> dict[str, Any]:
    """Where the version takes canary traffic, or where it could (for its page)."""
    if version.status is not VersionStatus.development:
        return {}
    points = await services().store.entry_points.all({
        "start_routing": version.routing_id, "simulated_version": None,
        "mode": EntryPointMode.production.value})
    running = [point for point in points
               if point.canary and point.canary.version_id == version.id]
    free = [point for point in points if point.canary is None]
    return {"canary_running": running, "canary_free": free,
            "canary_editable": can("edit", "entry_points")}


def _back(version_id: str) -> Any:
    return redirect(url_for("pages.versions.show", version_id=version_id))


@blueprint.post("/<version_id>/canary")
@require("entry_points:edit")
async def start(version_id: str) -> Any:
    form = await request.form
    share = form.get("share", "").strip()
    if not share.isdigit() or not 1 <= int(share) <= 50:
        await flash(phrase("The share is a whole number of per cent from 1 to 50."), "error")
        return _back(version_id)
    try:
        point = await services().canaries.start(actor(), form.get("entry_point", ""),
                                                version_id, int(share))
    except DomainError as error:
        await flash(phrase("The canary did not start: %(reason)s.", reason=said(error)), "error")
        return _back(version_id)
    await flash(phrase("%(share)s %% of the new conversations of %(name)s now run this version.",
                       share=share, name=point.name), "success")
    return _back(version_id)


@blueprint.post("/<version_id>/canary/<entry_point_id>/end")
@require("entry_points:edit")
async def end(version_id: str, entry_point_id: str) -> Any:
    promote = (await request.form).get("promote") == "1"
    if promote and not can("edit"):
        await flash(phrase("Promoting puts the version in production: your role does not allow "
                           "it."), "error")
        return _back(version_id)
    try:
        await services().canaries.end(actor(), entry_point_id, promote=promote)
    except DomainError as error:
        await flash(f"{said(error)[:1].upper()}{said(error)[1:]}.", "error")
        return _back(version_id)
    await flash(phrase("The version is in production; the old one is in backup.") if promote
                else phrase("The canary is abandoned: new conversations all run production "
                            "again."), "success")
    return _back(version_id)
