"""Campaigns and their targets; voice targets are claimed and reported by a dialer."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, require, services
from admin.schemas.campaigns import (
    CampaignIn,
    CampaignList,
    CampaignOut,
    CampaignPatch,
    CampaignQuery,
    ClaimOut,
    ResultIn,
    TargetIn,
    TargetList,
    TargetOut,
    TargetPatch,
    TargetQuery,
    TargetRefusal,
    TargetsAdded,
    TargetsIn,
)
from routing_core.model.users import permission

blueprint = Blueprint("api_campaigns", __name__, url_prefix="/api/campaigns")

READ, CREATE, EDIT, DELETE = (permission("campaigns", operation)
                              for operation in ("read", "create", "edit", "delete"))


@blueprint.get("")
@require(READ)
@validate_querystring(CampaignQuery)
@validate_response(CampaignList)
async def list_campaigns(query_args: CampaignQuery) -> CampaignList:
    query = query_args.model_dump(include={"status", "kind"}, exclude_none=True, mode="json")
    items, cursor = await services().store.campaigns.list(
        query, cursor=query_args.cursor, limit=query_args.limit
    )
    return CampaignList(items=[CampaignOut.of(item) for item in items], next=cursor)


@blueprint.post("")
@require(CREATE)
@validate_request(CampaignIn)
@validate_response(CampaignOut, 201)
async def create_campaign(data: CampaignIn) -> tuple[CampaignOut, int]:
    campaign = await services().campaigns.create(actor(), **data.model_dump())
    return CampaignOut.of(campaign), 201


@blueprint.get("/<campaign_id>")
@require(READ)
@validate_response(CampaignOut)
async def get_campaign(campaign_id: str) -> CampaignOut:
    return CampaignOut.of(await services().campaigns.get(campaign_id))


@blueprint.patch("/<campaign_id>")
@require(EDIT)
@validate_request(CampaignPatch)
@validate_response(CampaignOut)
async def update_campaign(campaign_id: str, data: CampaignPatch) -> CampaignOut:
    """``status``: draft → running ⇄ paused → closed (closed is final)."""
    changes = data.model_dump(exclude_unset=True)
    return CampaignOut.of(await services().campaigns.update(actor(), campaign_id, changes))


@blueprint.delete("/<campaign_id>")
@require(DELETE)
async def delete_campaign(campaign_id: str) -> tuple[str, int]:
    """The campaign and its targets; 409 while it runs."""
    await services().campaigns.delete(actor(), campaign_id)
    return "", 204


# -- targets -----------------------------------------------------------------------------

@blueprint.get("/<campaign_id>/targets")
@require(READ)
@validate_querystring(TargetQuery)
@validate_response(TargetList)
async def list_targets(campaign_id: str, query_args: TargetQuery) -> TargetList:
    filters = query_args.model_dump(include={"status", "phone"}, mode="json")
    items, cursor = await services().campaigns.list_targets(
        campaign_id, filters, cursor=query_args.cursor, limit=query_args.limit
    )
    return TargetList(items=[TargetOut.of(item) for item in items], next=cursor)


@blueprint.post("/<campaign_id>/targets")
@require(EDIT)
@validate_request(TargetIn)
@validate_response(TargetOut, 201)
async def add_target(campaign_id: str, data: TargetIn) -> tuple[TargetOut, int]:
    """409: the campaign is closed or the phone already a target; 422: not a phone."""
    target = await services().campaigns.add(actor(), campaign_id, **data.model_dump())
    return TargetOut.of(target), 201


@blueprint.post("/<campaign_id>/targets/bulk")
@require(EDIT)
@validate_request(TargetsIn)
@validate_response(TargetsAdded)
async def add_targets(campaign_id: str, data: TargetsIn) -> TargetsAdded:
    """Up to 1000 targets; each is added or refused on its own."""
    added, refused = await services().campaigns.add_many(
        actor(), campaign_id, [target.model_dump() for target in data.targets]
    )
    return TargetsAdded(added=added, refused=[TargetRefusal(**item) for item in refused])


@blueprint.post("/<campaign_id>/targets/claim")
@require(EDIT)
@validate_response(ClaimOut)
async def claim_target(campaign_id: str) -> ClaimOut:
    """For a dialer: the next voice target due, leased for ten minutes (report its result
    before then, or it is given out again)."""
    claim = await services().campaigns.claim_call(campaign_id)
    target = TargetOut.of(claim.target) if claim.target else None
    return ClaimOut(target=target, reason=claim.reason)


@blueprint.get("/<campaign_id>/targets/<target_id>")
@require(READ)
@validate_response(TargetOut)
async def get_target(campaign_id: str, target_id: str) -> TargetOut:
    return TargetOut.of(await services().campaigns.get_target(campaign_id, target_id))


@blueprint.patch("/<campaign_id>/targets/<target_id>")
@require(EDIT)
@validate_request(TargetPatch)
@validate_response(TargetOut)
async def update_target(campaign_id: str, target_id: str, data: TargetPatch) -> TargetOut:
    changes = data.model_dump(exclude_unset=True, exclude={"revision"})
    target = await services().campaigns.update_target(actor(), campaign_id, target_id, changes,
                                                      data.revision)
    return TargetOut.of(target)


@blueprint.post("/<campaign_id>/targets/<target_id>/result")
@require(EDIT)
@validate_request(ResultIn)
@validate_response(TargetOut)
async def report_result(campaign_id: str, target_id: str, data: ResultIn) -> TargetOut:
    target = await services().campaigns.report_call(
        actor(), campaign_id, target_id, result=data.result, note=data.note,
        retry_in_minutes=data.retry_in_minutes,
    )
    return TargetOut.of(target)


@blueprint.delete("/<campaign_id>/targets/<target_id>")
@require(EDIT)
async def delete_target(campaign_id: str, target_id: str) -> tuple[str, int]:
    await services().campaigns.delete_target(actor(), campaign_id, target_id)
    return "", 204
