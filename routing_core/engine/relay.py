"""Events committed by another process reach what is open in this one.

With several service processes, a visitor's web chat socket or an agent's console lives
in one of them while a timer, a customer's message or an agent's reply may be processed
in another. Each process follows the events collection on its change feed
(``store/change_feed.py``: filtered on the server to other processes' events of interest,
and again here since the feed is shared) and hands what it sees to a local handler. A
socket that was closed meanwhile catches up on reconnection anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.errors import PyMongoError

from routing_core.engine.delivery import LocalHub
from routing_core.model.interaction import Channel, DeliveryStatus, Event
from routing_core.store import Store
from routing_core.store.change_feed import ChangeFeed
from routing_core.store.document_match import check_filter, matches

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


class EventRelay:
    """Inserted events matching ``match`` (on the event document), written by another
    process than ``origin``, go to ``handler``. A subscriber of the process's change feed
    (``run`` follows it alone: tests, scripts)."""

    def __init__(self, name: str, store: Store, origin: str, match: dict[str, Any],
                 handler: Handler, collection: Any = None):
        check_filter(match)
        self.name = name
        self.store = store
        self.collection = store.events.collection if collection is None else collection
        self.origin = origin
        self.match = match
        self.handler = handler

    async def run(self) -> None:
        await ChangeFeed(self.collection.database, [self]).run()

    # -- as a subscriber of the change feed -------------------------------------------------

    def stream_match(self) -> dict[str, Any]:
        return {"ns.coll": self.collection.name, "operationType": "insert",
                "fullDocument.origin": {"$ne": self.origin}, **in_change(self.match)}

    def concerns(self, change: dict[str, Any]) -> bool:
        document = change.get("fullDocument") or {}
        return ((change.get("ns") or {}).get("coll") == self.collection.name
                and change.get("operationType") == "insert"
                and document.get("origin") != self.origin and matches(document, self.match))

    async def deliver(self, change: dict[str, Any]) -> None:
        event = Event.from_document(change["fullDocument"])
        try:
            await self.handler(event)
        except PyMongoError:  # the handler's own read failed: that socket polls anyway
            log.exception("%s relay: could not hand over event %s", self.name, event.id)

    def opened(self) -> None:
        """Nothing to forget: a socket opened meanwhile caught up when it opened."""

    def closed(self) -> None:
        """Events written while closed reach sockets when they reconnect."""


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
