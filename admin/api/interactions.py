"""Entry points, interactions with their events lists, test executions of a version."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import Blueprint, request
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, require, services
from admin.schemas.common import PageQuery
from admin.schemas.interactions import (
    CanaryIn,
    ConversationStartIn,
    EntryPointIn,
    EntryPointList,
    EntryPointOut,
    EntryPointPatch,
    EventOut,
    ExecutionList,
    ExecutionOut,
    InteractionDetail,
    InteractionList,
    InteractionOut,
    InteractionQuery,
    RepairIn,
    StuckList,
    StuckOut,
    StuckQuery,
)
from routing_core.engine.outside_starts import OutsideStart
from routing_core.infra.errors import Invalid
from routing_core.model.interaction import InteractionState
from routing_core.store.interaction_search import (
    LIVE_STATES,
    OVER_STATES,
    InteractionFilter,
    search,
)

blueprint = Blueprint("api_interactions", __name__, url_prefix="/api")


def _out(entry_point: Any) -> EntryPointOut:
    return EntryPointOut.of(entry_point, services().settings.public_url)


@blueprint.get("/entry-points")
@require("entry_points:read")
@validate_querystring(PageQuery)
@validate_response(EntryPointList)
async def list_entry_points(query_args: PageQuery) -> EntryPointList:
    items, cursor = await services().store.entry_points.list(
        {"simulated_version": None}, cursor=query_args.cursor, limit=query_args.limit
    )
    return EntryPointList(items=[_out(item) for item in items], next=cursor)


@blueprint.post("/entry-points")
@require("entry_points:create")
@validate_request(EntryPointIn)
@validate_response(EntryPointOut, 201)
async def create_entry_point(data: EntryPointIn) -> tuple[EntryPointOut, int]:
    entry_point = await services().entry_points.create(
        actor(), data.model_dump(exclude={"credentials"}), data.credentials
    )
    return _out(entry_point), 201


@blueprint.get("/entry-points/<entry_point_id>")
@require("entry_points:read")
@validate_response(EntryPointOut)
async def get_entry_point(entry_point_id: str) -> EntryPointOut:
    return _out(await services().store.entry_points.get(entry_point_id))


@blueprint.patch("/entry-points/<entry_point_id>")
@require("entry_points:edit")
@validate_request(EntryPointPatch)
@validate_response(EntryPointOut)
async def update_entry_point(entry_point_id: str, data: EntryPointPatch) -> EntryPointOut:
    changes = data.model_dump(exclude_unset=True, exclude={"credentials"})
    entry_point = await services().entry_points.update(
        actor(), entry_point_id, changes, data.credentials
    )
    return _out(entry_point)


@blueprint.delete("/entry-points/<entry_point_id>")
@require("entry_points:delete")
async def delete_entry_point(entry_point_id: str) -> tuple[str, int]:
    await services().entry_points.delete(actor(), entry_point_id)
    return "", 204


@blueprint.put("/entry-points/<entry_point_id>/canary")
@require("entry_points:edit")
@validate_request(CanaryIn)
@validate_response(EntryPointOut)
async def start_canary(entry_point_id: str, data: CanaryIn) -> EntryPointOut:
    """Send ``share`` % of new conversations (sticky per contact) to a development version
    of the start routing, read-only while it runs; 409 while another canary runs."""
    return _out(await services().canaries.start(actor(), entry_point_id, data.version,
                                                data.share))


@blueprint.post("/entry-points/<entry_point_id>/canary/promote")
@require("smart_routings:edit")  # a production, as the version's own button
@validate_response(EntryPointOut)
async def promote_canary(entry_point_id: str) -> EntryPointOut:
    """Put the candidate in production (the old production goes to backup)."""
    return _out(await services().canaries.end(actor(), entry_point_id, promote=True))


@blueprint.delete("/entry-points/<entry_point_id>/canary")
@require("entry_points:edit")
@validate_response(EntryPointOut)
async def abandon_canary(entry_point_id: str) -> EntryPointOut:
    """Every new conversation goes to production again; those on the candidate finish."""
    return _out(await services().canaries.end(actor(), entry_point_id, promote=False))


@blueprint.get("/interactions")
@require("interactions:read")
@validate_querystring(InteractionQuery)
@validate_response(InteractionList)
async def list_interactions(query_args: InteractionQuery) -> InteractionList:
    """Conversations newest first, each filter on its own index, with how many match."""
    found = await search(services().store.interactions, filter_of(query_args),
                         cursor=query_args.cursor, limit=query_args.limit)
    return InteractionList(items=[InteractionOut.of(item) for item in found.items],
                           next=found.next_cursor, count=found.count,
                           count_capped=found.count_capped)


def filter_of(query_args: InteractionQuery) -> InteractionFilter:
    states: tuple[InteractionState, ...] = ()
    if query_args.state is not None:
        states = (query_args.state,)
    elif query_args.status is not None:
        states = LIVE_STATES if query_args.status == "active" else OVER_STATES
    return InteractionFilter(
        routing_id=query_args.routing, version_id=query_args.version,
        entry_point_id=query_args.entry_point,
        channel=query_args.channel.value if query_args.channel else None,
        states=states, started_from=query_args.started_from,
        started_to=query_args.started_to, contact=query_args.contact, test=query_args.test,
    )


@blueprint.get("/interactions/stuck")
@require("interactions:read")
@validate_querystring(StuckQuery)
@validate_response(StuckList)
async def stuck(query_args: StuckQuery) -> StuckList:
    """Conversations waiting longer than the threshold, on an action their tree no longer
    has, or whose steps keep failing: the longest-waiting first."""
    found = await services().repairs.stuck(timedelta(minutes=query_args.waiting_minutes))
    return StuckList(items=[
        StuckOut(interaction=InteractionOut.of(item.interaction), reasons=item.reasons,
                 step_error=item.interaction.step_error)
        for item in found
    ])


@blueprint.post("/interactions/<interaction_id>/repair")
@require("interactions:edit")
@validate_request(RepairIn)
@validate_response(InteractionOut)
async def repair(interaction_id: str, data: RepairIn) -> InteractionOut:
    """End, move (``action``) or run the current action again, audited: 409 when the
    conversation ended or moved since ``event_seq``, 422 when the action cannot run."""
    repaired = await services().repairs.repair(
        actor(), interaction_id, data.kind, data.event_seq, data.action)
    return InteractionOut.of(repaired)


@blueprint.post("/entry-points/<entry_point_id>/conversations")
@require("interactions:create")
@validate_request(ConversationStartIn)
@validate_response(InteractionOut, 201)
@validate_response(InteractionOut, 200)
async def start_conversation(entry_point_id: str,
                             data: ConversationStartIn) -> tuple[InteractionOut, int]:
    """Open a conversation with a contact and run a routing, as if they had just arrived
    (201); the same idempotency key again returns that conversation (200). 409 in words
    when the channel or the contact does not allow it (outside WhatsApp's 24 hours without
    a template, opted out, already in a conversation)."""
    key = data.idempotency_key or request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200:
        raise Invalid("an idempotency key of 1 to 200 characters is required (the "
                      "Idempotency-Key header or idempotency_key): a retried call must not "
                      "write to the contact twice", field="idempotency_key")
    interaction, created = await services().outside_starts.start(actor(), OutsideStart(
        entry_point_id=entry_point_id, contact=data.contact, idempotency_key=key,
        routing=data.routing, variables=data.variables, contact_name=data.contact_name))
    return InteractionOut.of(interaction), 201 if created else 200


@blueprint.get("/interactions/<interaction_id>")
@require("interactions:read")
@validate_response(InteractionDetail)
async def get_interaction(interaction_id: str) -> InteractionDetail:
    interaction, events = await services().runtime.history(interaction_id)
    return InteractionDetail(
        **InteractionOut.of(interaction).model_dump(),
        events=[EventOut.of(event) for event in events],
    )


@blueprint.get("/versions/<version_id>/executions")
@require("smart_routings:read")
@validate_querystring(PageQuery)
@validate_response(ExecutionList)
async def executions(version_id: str, query_args: PageQuery) -> ExecutionList:
    """The test executions of a version, newest first, each with its path and events."""
    store = services().store
    await store.versions.get(version_id)
    items, cursor = await store.interactions.list(
        {"version_id": version_id, "test": True},
        cursor=query_args.cursor, limit=min(query_args.limit, 50), newest_first=True,
    )
    events = await store.events.of_interactions([item.id for item in items])
    result = [
        ExecutionOut(**InteractionOut.of(item).model_dump(),
                     events=[EventOut.of(event) for event in events.get(item.id, [])])
        for item in items
    ]
    return ExecutionList(items=result, next=cursor)
