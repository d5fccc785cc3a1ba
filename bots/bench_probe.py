"""Probes for the benchmarks only (``SR_BENCH_PROBE=1``), so the real paths can be measured
against what is left when our own work is taken out:

- ``/bench/minimal``: the irreducible storage work of one message — an inbox insert with
  its unique key, one ``find_one_and_update`` of an interaction and one outbox insert;
- ``/bench/telegram-turn``: a Telegram turn on this stack with nothing of ours in between —
  Quart and Hypercorn take the update, aiogram parses it as the connector does, one
  durable insert keyed by the update's id (the least a turn that must never answer twice
  can write), and aiogram's ``sendMessage`` answers. What the real first turn costs above
  it is the engine's; what it costs itself is the stack's, whatever the engine does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.types import Update
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from quart import Blueprint, Response, request

from admin.context import services
from bots.webhooks import connectors
from routing_core.infra.clock import utcnow
from routing_core.infra.ids import new_id

blueprint = Blueprint("bench_probe", __name__)
_sends: set[asyncio.Task[Any]] = set()


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


@blueprint.post("/bench/telegram-turn")
async def telegram_turn() -> Response:
    """``?token=`` the bot's, ``?reply=`` the text to answer; the body a Telegram update.
    Answers once the update is stored, sends after, as the webhook does."""
    update = Update.model_validate_json(await request.get_data())
    message = update.message
    if message is None:
        return Response("no message", 400)
    try:
        await services().store.database["bench_updates"].insert_one(
            {"_id": update.update_id, "chat": message.chat.id, "text": message.text,
             "at": utcnow()})
    except DuplicateKeyError:
        return Response("", 200)  # delivered again: answered already
    bot = connectors()["telegram"].bot(request.args["token"])  # type: ignore[attr-defined]
    task = asyncio.get_running_loop().create_task(
        bot.send_message(chat_id=message.chat.id, text=request.args["reply"]))
    _sends.add(task)
    task.add_done_callback(_sends.discard)
    return Response("", 200)
