"""The outbox: outbound messages by delivery status (dead letters first), and replay.

A dead letter (retries exhausted, or a permanent error such as a blocked bot) stays
``failed`` until someone replays it — typically after fixing what made it fail (the
entry point's credentials, the contact unblocking the bot). Replay puts it back to
``pending`` with its attempts reset; the sweeper sends it within a sweep period.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint
from quart_schema import validate_querystring, validate_response

from admin.context import actor, require, services
from admin.schemas.outbox import OutboxItem, OutboxList, OutboxQuery
from routing_core.model.users import permission

blueprint = Blueprint("api_outbox", __name__, url_prefix="/api")


@blueprint.get("/outbox")
@require(permission("interactions", "read"))
@validate_querystring(OutboxQuery)
@validate_response(OutboxList)
async def list_outbox(query_args: OutboxQuery) -> OutboxList:
    """Outbound messages of one status, newest first (``failed`` by default)."""
    query: dict[str, Any] = {"type": "outbound", "status": query_args.status.value}
    if query_args.channel is not None:
        query["channel"] = query_args.channel.value
    if query_args.entry_point is not None:
        query["entry_point_id"] = query_args.entry_point
    if query_args.error_kind is not None:
        query["error_kind"] = query_args.error_kind
    items, cursor = await services().store.events.list(
        query, cursor=query_args.cursor, limit=query_args.limit, newest_first=True
    )
    return OutboxList(items=[OutboxItem.of(item) for item in items], next=cursor)


@blueprint.post("/outbox/<event_id>/replay")
@require(permission("interactions", "edit"))
@validate_response(OutboxItem)
async def replay(event_id: str) -> OutboxItem:
    """Send a dead letter again: 404 unknown, 409 unless it is ``failed``."""
    return OutboxItem.of(await services().outbox.replay(event_id, actor()))


@blueprint.post("/outbox/<event_id>/discard")
@require(permission("interactions", "edit"))
@validate_response(OutboxItem)
async def discard(event_id: str) -> OutboxItem:
    """Give up on a dead letter (audited): 404 unknown, 409 unless it is ``failed``."""
    return OutboxItem.of(await services().outbox.discard(event_id, actor()))
