"""Probes for the benchmarks only (``SR_BENCH_PROBE=1``), so the real paths can be measured
against what is left when our own work is taken out:

- ``/bench/minimal``: the irreducible storage work of one message — an inbox insert with
  its unique key, one ``find_one_and_update`` of an interaction and one outbox insert;
- ``/bench/telegram-turn``: a Telegram turn on this stack with nothing of ours in between —
  Hypercorn takes the update (off the ASGI connection, as the webhooks), aiogram parses
  it as the connector does, one durable insert keyed by the update's id (the least a turn
  that must never answer twice can write), and aiogram's ``sendMessage`` answers. What
  the real first turn costs above it is the engine's; what it costs itself is the
  stack's, whatever the engine does.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

from aiogram.types import Update
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from quart import Blueprint, request

from admin.context import services
from bots.webhook_gate import ClientGone, read_body
from bots.webhooks import Answer
from routing_core.infra.clock import utcnow
from routing_core.infra.ids import new_id

blueprint = Blueprint("bench_probe", __name__)
_sends: set[asyncio.Task[Any]] = set()
PROBE_BODY_BYTES = 1_048_576  # a Telegram update is a few hundred bytes


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


class TelegramTurnProbe:
    """``POST /bench/telegram-turn?token=&reply=`` (the bot's token, the text to answer;
    the body a Telegram update), served off the ASGI connection as the webhooks are
    (``bots/webhook_gate.py``), so that the probe's stack is the real path's. Answers once
    the update is stored, sends after, as the webhook does."""

    def __init__(self, app: Any, extensions: dict[str, Any]):
        self.app, self.extensions = app, extensions

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/bench/telegram-turn":
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body({}, receive, PROBE_BODY_BYTES)
        except ClientGone:
            return
        status = body.status if isinstance(body, Answer) else await self._turn(
            dict(parse_qsl(scope["query_string"].decode())), body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    async def _turn(self, query: dict[str, str], body: bytes) -> int:
        update = Update.model_validate_json(body)
        message = update.message
        if message is None:
            return 400
        try:
            await self.extensions["services"].store.database["bench_updates"].insert_one(
                {"_id": update.update_id, "chat": message.chat.id, "text": message.text,
                 "at": utcnow()})
        except DuplicateKeyError:
            return 200  # delivered again: answered already
        bot = self.extensions["connectors"]["telegram"].bot(query["token"])
        task = asyncio.get_running_loop().create_task(
            bot.send_message(chat_id=message.chat.id, text=query["reply"]))
        _sends.add(task)
        task.add_done_callback(_sends.discard)
        return 200
