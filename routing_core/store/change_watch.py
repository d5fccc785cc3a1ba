"""Cached copies of rarely changed documents, forgotten in every process when they change.

Every message needs its entry point (credentials, routings, mode) and the version its
routing runs; reading them for each message would double the commands of the hot path.
So each process keeps them, and follows the changes of the collection they come from (on
the process's change feed, ``change_feed.py``): a change made by any process, the admin
API, the CLI or a script makes every process forget its copy, so the next message reads
the new one. While the stream is not open (starting, after a failover, or a MongoDB that
is not a replica set), ``live`` is false and the caches fall back to a short expiry.

A read that was in flight when a change arrived must not put the old document back in the
cache: ``generation`` counts the forgets, and a cache stores what it read only when no
forget happened meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from routing_core.store.change_feed import ChangeFeed


class ChangeWatch:
    """Calls ``forget(document_id)`` for each change to ``collection``, and
    ``forget(None)`` (forget everything) whenever the stream (re)opens or the collection is
    dropped, since changes made while it was closed were not seen. A subscriber of the
    process's change feed (``run`` follows it alone: tests, scripts)."""

    def __init__(self, name: str, collection: Any, forget: Callable[[Any], None]):
        self.name = name
        self.collection = collection
        self._forget = forget
        self.live = False  # the stream is open: what is cached is current
        self.generation = 0  # how many forgets so far (see the module's docstring)

    def forget(self, document_id: Any = None) -> None:
        self.generation += 1
        self._forget(document_id)

    async def run(self) -> None:
        """Until cancelled, on a stream of its own; a failed one is reopened after a second."""
        await ChangeFeed(self.collection.database, [self]).run()

    # -- as a subscriber of the change feed -------------------------------------------------

    def stream_match(self) -> dict[str, Any]:
        return {"ns.coll": self.collection.name}

    def concerns(self, change: dict[str, Any]) -> bool:
        return bool((change.get("ns") or {}).get("coll") == self.collection.name)

    async def deliver(self, change: dict[str, Any]) -> None:
        key = change.get("documentKey") or {}
        self.forget(key.get("_id"))  # None: dropped, renamed

    def opened(self) -> None:
        # changes from here on arrive on the stream; earlier ones may have been missed
        self.forget(None)
        self.live = True

    def closed(self) -> None:
        self.live = False
        self.forget(None)
