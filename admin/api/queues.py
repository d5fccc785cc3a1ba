"""Queues of agents: list, create, read, change, delete (``queues:*`` permissions)."""

from __future__ import annotations

from typing import cast

from quart import Blueprint, current_app
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, require
from admin.schemas.common import PageQuery
from admin.schemas.queues import QueueIn, QueueList, QueueOut, QueuePatch
from routing_core.contact_centre.agent_desk import AgentDesk
from routing_core.contact_centre.distribution import Distribution
from routing_core.model.queues import Queue
from routing_core.model.users import permission

blueprint = Blueprint("api_queues", __name__, url_prefix="/api")


def distribution() -> Distribution:
    return cast(Distribution, current_app.extensions["distribution"])


def agent_desk() -> AgentDesk:
    return cast(AgentDesk, current_app.extensions["agent_desk"])


async def _out(queue: Queue) -> QueueOut:
    waiting = await distribution().entries.collection.count_documents(
        {"queue_id": queue.id, "state": "waiting"}
    )
    return QueueOut.of(queue, waiting)


@blueprint.get("/queues")
@require(permission("queues", "read"))
@validate_querystring(PageQuery)
@validate_response(QueueList)
async def list_queues(query_args: PageQuery) -> QueueList:
    items, cursor = await distribution().queue_records.list(
        cursor=query_args.cursor, limit=query_args.limit
    )
    return QueueList(items=[await _out(item) for item in items], next=cursor)


@blueprint.post("/queues")
@require(permission("queues", "create"))
@validate_request(QueueIn)
@validate_response(QueueOut, 201)
async def create_queue(data: QueueIn) -> tuple[QueueOut, int]:
    queue = await distribution().queues.create(actor(), **data.model_dump())
    return await _out(queue), 201


@blueprint.get("/queues/<queue_id>")
@require(permission("queues", "read"))
@validate_response(QueueOut)
async def get_queue(queue_id: str) -> QueueOut:
    return await _out(await distribution().queue_records.get(queue_id))


@blueprint.patch("/queues/<queue_id>")
@require(permission("queues", "edit"))
@validate_request(QueuePatch)
@validate_response(QueueOut)
async def update_queue(queue_id: str, data: QueuePatch) -> QueueOut:
    changes = data.model_dump(exclude_unset=True)
    return await _out(await distribution().queues.update(actor(), queue_id, changes))


@blueprint.delete("/queues/<queue_id>")
@require(permission("queues", "delete"))
async def delete_queue(queue_id: str) -> tuple[str, int]:
    await distribution().queues.delete(actor(), queue_id)
    return "", 204
