"""Campaigns & surveys > Campaigns > Targets: one campaign's targets with a count per status;
a target added by hand (as the API's single create), many from a CSV file, one deleted.

A CSV file is all or nothing (``admin.pages.target_csv`` checks each line, this module adds
the phones the campaign already has): a file with any bad line stores nothing and the page
lists the bad lines; a good file goes to ``Campaigns.add_many`` in one call, as the API's
bulk endpoint does. Every rule of a target stays in ``Campaigns``; its refusals are shown on
the page.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, flash, redirect, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from admin.context import actor, require, services, viewer_zone, viewer_zone_name
from admin.i18n import phrase, phrases, said
from admin.pages.cases import json_object
from admin.pages.target_csv import (
    MAX_BYTES,
    MAX_ROWS,
    Problem,
    TargetLine,
    local_moment,
    read_targets,
)
from admin.pages.views import page, validated
from admin.schemas.campaigns import TargetIn
from routing_core.infra.errors import Conflict, DomainError, Invalid
from routing_core.model.campaigns import Campaign, CampaignStatus, TargetStatus
from routing_core.model.users import permission

LIST_LIMIT = 200
SHOWN_PROBLEMS = 50
TARGET_FIELDS = ("phone", "fields", "call_after")
READ, EDIT = permission("campaigns", "read"), permission("campaigns", "edit")

blueprint = Blueprint("campaign_targets", __name__, url_prefix="/campaigns")


async def _counts(campaign_id: str) -> dict[str, int]:
    grouped = await (await services().store.campaign_targets.collection.aggregate([
        {"$match": {"campaign_id": campaign_id}},
        {"$group": {"_id": "$status", "n": {"$sum": 1}}},
    ])).to_list()
    found = {row["_id"]: row["n"] for row in grouped}
    return {status.value: found.get(status.value, 0) for status in TargetStatus}


async def _targets_page(campaign_id: str, status: int = 200, **shown: Any) -> Any:
    """The list, with what a refused form brings (its values and errors, a file's problems)."""
    campaign = await services().campaigns.get(campaign_id)
    chosen = request.args.get("status", "").strip() or None
    items, _ = await services().campaigns.list_targets(
        campaign_id, {"status": chosen}, limit=LIST_LIMIT)
    counts = await _counts(campaign_id)
    problems: list[Problem] = shown.pop("problems", [])
    return await page(
        "campaigns/targets.html", status, active_nav="campaigns", campaign=campaign,
        targets=items, counts=counts, total=sum(counts.values()), chosen=chosen,
        takes_targets=campaign.status is not CampaignStatus.closed,
        values=shown.pop("values", {}), errors=shown.pop("errors", {}),
        problems=problems[:SHOWN_PROBLEMS], more_problems=max(0, len(problems) - SHOWN_PROBLEMS),
        max_rows=MAX_ROWS, max_kb=MAX_BYTES // 1024, timezone=viewer_zone_name(),
        **shown,
    )


def _back(campaign_id: str) -> Any:
    return redirect(url_for("pages.campaign_targets.index", item_id=campaign_id))


@blueprint.get("/<item_id>/targets")
@require(READ)
async def index(item_id: str) -> Any:
    return await _targets_page(item_id)


@blueprint.post("/<item_id>/targets")
@require(EDIT)
async def add(item_id: str) -> Any:
    """One target, checked as ``POST /api/campaigns/<id>/targets`` checks it."""
    form = await request.form
    values = {name: str(form.get(name, "")) for name in TARGET_FIELDS}
    try:
        checked, errors = validated(TargetIn, {
            "phone": values["phone"], "fields": json_object(values["fields"], "fields"),
            "call_after": local_moment(values["call_after"].strip(), viewer_zone(),
                                       "call_after"),
        })
        if not errors:
            target = await services().campaigns.add(actor(), item_id, **checked.model_dump())
            await flash(phrase("%(phone)s added.", phone=target.phone), "success")
            return _back(item_id)
    except (Invalid, Conflict) as refusal:
        errors = {refusal.field if refusal.field in TARGET_FIELDS else "form": said(refusal)}
    return await _targets_page(item_id, 422, values=values, errors=errors)


@blueprint.post("/<item_id>/targets/import")
@require(EDIT)
async def import_csv(item_id: str) -> Any:
    """A CSV file's targets, all of them or none (the bad lines listed)."""
    campaign = await services().campaigns.get(item_id)
    upload = (await request.files).get("csv_file")
    if upload is None or not upload.filename:
        return await _import_refused(item_id, [Problem(0, "choose a CSV file to import")])
    if campaign.status is CampaignStatus.closed:
        return await _import_refused(item_id, [Problem(
            0, f"the campaign {campaign.name!r} is closed: it takes no new target")])
    reading = read_targets(upload.read(MAX_BYTES + 1), viewer_zone())
    problems = reading.problems + await _already_targets(campaign, reading.targets)
    if problems:
        return await _import_refused(item_id, problems, upload.filename)
    added, refused = await services().campaigns.add_many(
        actor(), item_id, [target.payload() for target in reading.targets])
    if refused:  # added by someone else between the check and the import
        lines = ", ".join(str(reading.targets[item["index"]].line) for item in refused)
        await flash(phrase("Lines %(lines)s were refused meanwhile: %(reason)s.", lines=lines,
                           reason=refused[0]["message"]), "error")
    await flash(phrases("%(count)s target added from %(file)s.",
                        "%(count)s targets added from %(file)s.", added, file=upload.filename),
                "success")
    return _back(item_id)


async def _already_targets(campaign: Campaign, targets: list[TargetLine]) -> list[Problem]:
    """The lines whose phone the campaign already has (a phone is a target once)."""
    phones = [target.phone for target in targets]
    found = await services().store.campaign_targets.collection.find(
        {"campaign_id": campaign.id, "phone": {"$in": phones}}, projection={"phone": 1}
    ).to_list()
    existing = {document["phone"] for document in found}
    return [Problem(target.line, f"{target.phone} is already a target of {campaign.name!r}")
            for target in targets if target.phone in existing]


async def _import_refused(item_id: str, problems: list[Problem], filename: str = "") -> Any:
    ordered = sorted(problems, key=lambda problem: problem.line)
    return await _targets_page(item_id, 422, problems=ordered, filename=filename)


@blueprint.post("/<item_id>/targets/<target_id>/delete")
@require(EDIT)
async def delete(item_id: str, target_id: str) -> Any:
    try:
        target = await services().campaigns.get_target(item_id, target_id)
        await services().campaigns.delete_target(actor(), item_id, target_id)
    except DomainError as refusal:
        await flash(said(refusal), "error")
    else:
        await flash(phrase("%(phone)s deleted.", phone=target.phone), "success")
    return _back(item_id)


@blueprint.errorhandler(RequestEntityTooLarge)
async def _too_large(error: RequestEntityTooLarge) -> Any:
    """A body over the service's limit never reaches the view: say so on the page."""
    await flash(phrase("The file is too large: import at most %(rows)s targets (%(size)s KB) at "
                       "once.", rows=MAX_ROWS, size=MAX_BYTES // 1024), "error")
    return _back((request.view_args or {}).get("item_id", ""))

