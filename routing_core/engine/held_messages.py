"""Outbound messages this process holds, and the leases that keep them its own.

A reply is leased to the process that wrote it from the step that wrote it until its
provider answered. Under load a reply can wait in this process longer than a lease (the
provider is slow, the connection pool is full); were its lease left to run out, a sweeper
would take it for an orphan of a dead process and send it again: the customer would get
it twice. So every held message's lease is renewed while it waits, in one write for all of
them, and only a process that stopped renewing (it died, or lost MongoDB for longer than a
lease) has its messages sent again — then marked as possible duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from routing_core.engine.sweeper import Sweeper
from routing_core.infra.clock import utcnow
from routing_core.model.interaction import DeliveryStatus
from routing_core.store import Store


class HeldMessages:
    """The ids of the outbound messages this process is responsible for sending now."""

    def __init__(
        self, store: Store, owner: str, lease_seconds: float,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.owner = owner
        self.lease = timedelta(seconds=lease_seconds)
        self.clock = clock
        self._held: set[str] = set()
        # three renewals per lease: one lost write never lets a lease run out
        self._renewer = Sweeper(lease_seconds / 3, [self.renew])

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._held

    def __len__(self) -> int:
        return len(self._held)

    def lease_until(self, now: datetime) -> datetime:
        return now + self.lease

    def hold(self, event_ids: Iterable[str]) -> None:
        self._held.update(event_ids)

    def release(self, event_ids: Iterable[str]) -> None:
        self._held.difference_update(event_ids)

    async def renew(self) -> int:
        """Push the lease of every held message still pending and still ours; how many."""
        if not self._held:
            return 0
        result = await self.store.events.collection.update_many(
            {"_id": {"$in": list(self._held)}, "lease_owner": self.owner,
             "status": DeliveryStatus.pending.value},
            {"$set": {"lease_until": self.lease_until(self.clock())}},
        )
        return result.modified_count

    def start(self) -> None:
        self._renewer.start()

    async def stop(self) -> None:
        await self._renewer.stop()
