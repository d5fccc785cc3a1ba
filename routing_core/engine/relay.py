"""Web chat messages committed by another process reach the sockets open in this one.

With several service processes, a visitor's socket lives in one of them while a timer
or an agent's reply may be processed in another. Each process watches the events
collection (a MongoDB change stream, filtered on the server to other processes' web chat
messages) and publishes what it sees to its local hub. A socket that was closed
meanwhile catches up on reconnection anyway.
"""

from __future__ import annotations

import asyncio
import logging

from pymongo.errors import OperationFailure, PyMongoError

from routing_core.engine.delivery import LocalHub
from routing_core.model.interaction import Channel, Event
from routing_core.store import Store

log = logging.getLogger(__name__)
NOT_A_REPLICA_SET = 40573  # change streams need a replica set


class WebchatRelay:
    def __init__(self, store: Store, hub: LocalHub, origin: str):
        self.store = store
        self.hub = hub
        self.origin = origin

    async def run(self) -> None:
        pipeline = [{"$match": {
            "operationType": "insert",
            "fullDocument.type": "outbound",
            "fullDocument.channel": Channel.webchat.value,
            "fullDocument.origin": {"$ne": self.origin},
        }}]
        while True:
            try:
                async with await self.store.events.collection.watch(pipeline) as stream:
                    async for change in stream:
                        self.hub.publish(Event.from_document(change["fullDocument"]))
            except OperationFailure as error:
                if error.code == NOT_A_REPLICA_SET:
                    log.warning("MongoDB is not a replica set: web chat messages of other "
                                "processes reach sockets only when they reconnect")
                    return
                log.exception("web chat relay: change stream failed; retrying")
            except PyMongoError:
                log.exception("web chat relay: change stream failed; retrying")
            await asyncio.sleep(1)
