"""Events committed by another process reach what is open in this one.

With several service processes, a visitor's web chat socket or an agent's console lives
in one of them while a timer, a customer's message or an agent's reply may be processed
in another. Each process watches the events collection (a MongoDB change stream,
filtered on the server to other processes' events of interest) and hands what it sees
to a local handler. A socket that was closed meanwhile catches up on reconnection anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.errors import OperationFailure, PyMongoError

from routing_core.engine.delivery import LocalHub
from routing_core.model.interaction import Channel, DeliveryStatus, Event
from routing_core.store import Store
from routing_core.store.change_watch import keep_watching

log = logging.getLogger(__name__)
Handler = Callable[[Event], Awaitable[None]]
LOGICAL = frozenset({"$or", "$and", "$nor"})


def in_change(match: dict[str, Any]) -> dict[str, Any]:
    """Conditions on an event document, as a change stream sees them (under
    ``fullDocument``), through ``$or`` / ``$and`` / ``$nor`` at any depth."""
    translated: dict[str, Any] = {}
    for key, value in match.items():
        if key in LOGICAL:
            translated[key] = [in_change(clause) for clause in value]
        else:
            translated[f"fullDocument.{key}"] = value
    return translated


# the resume token is no longer in the oplog, or the stream cannot go on from it
HISTORY_LOST = frozenset({280, 286})


class EventRelay:
    """Inserted events matching ``match`` (on the event document), written by another
    process than ``origin``, go to ``handler``."""

    def __init__(self, name: str, store: Store, origin: str, match: dict[str, Any],
                 handler: Handler, collection: Any = None):
        self.name = name
        self.store = store
        self.collection = store.events.collection if collection is None else collection
        self.origin = origin
        self.match = match
        self.handler = handler

    async def run(self) -> None:
        pipeline = [{"$match": {
            "operationType": "insert",
            "fullDocument.origin": {"$ne": self.origin},
            **in_change(self.match),
        }}]
        token: Any = None  # where to resume after a failure (a failover, a lost member)

        async def follow() -> None:
            nonlocal token
            async with await self.collection.watch(
                    pipeline, resume_after=token) as stream:
                async for change in stream:
                    await self._hand_over(Event.from_document(change["fullDocument"]))
                    token = stream.resume_token

        def failed(error: PyMongoError) -> None:
            nonlocal token
            if isinstance(error, OperationFailure) and error.code in HISTORY_LOST:
                token = None  # the oplog moved past it: start from now

        await keep_watching(
            f"the {self.name} relay", follow,
            f"{self.name} of other processes reach sockets only when they reconnect", failed)

    async def _hand_over(self, event: Event) -> None:
        try:
            await self.handler(event)
        except PyMongoError:  # the handler's own read failed: that socket polls anyway
            log.exception("%s relay: could not hand over event %s", self.name, event.id)


def webchat_relay(store: Store, hub: LocalHub, origin: str) -> EventRelay:
    """Web chat messages written elsewhere (a timer, an agent), and the end of their
    conversations, to this process's sockets."""

    async def publish(event: Event) -> None:
        hub.publish(event)

    return EventRelay("web chat messages", store, origin,
                      {"type": {"$in": ["outbound", "end"]}, "channel": Channel.webchat.value,
                       "status": {"$ne": DeliveryStatus.failed.value}},  # kept: opted out
                      publish)


def signal_relay(store: Store, hub: LocalHub, origin: str) -> EventRelay:
    """Signals written elsewhere (an agent typing) to this process's web chat sockets."""

    async def publish(event: Event) -> None:
        hub.publish(event)

    return EventRelay("web chat signals", store, origin, {"channel": Channel.webchat.value},
                      publish, collection=store.signals.collection)
