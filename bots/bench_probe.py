"""A probe for the benchmark only (``SR_BENCH_PROBE=1``): the irreducible storage work of
one message — an inbox insert with its unique key, one ``find_one_and_update`` of an
interaction and one outbox insert — so the real path can be measured against it."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from quart import Blueprint, request

from admin.context import services
from routing_core.infra.clock import utcnow
from routing_core.infra.ids import new_id

blueprint = Blueprint("bench_probe", __name__)


@blueprint.post("/bench/minimal")
async def minimal_storage() -> dict[str, Any]:
    body = await request.get_json()
    database = services().store.database
    now = utcnow()
    await database["bench_inbox"].insert_one({"_id": new_id(), "contact": body["contact"],
                                              "text": body["text"], "at": now})
    state = await database["bench_interactions"].find_one_and_update(
        {"_id": body["contact"]}, {"$inc": {"step": 1}, "$set": {"at": now}},
        upsert=True, return_document=ReturnDocument.AFTER,
    )
    await database["bench_outbox"].insert_one({"_id": f"{body['contact']}:{state['step']}",
                                               "text": "reply", "at": now})
    return {"step": state["step"]}
