"""Queues as admins manage them: members, schedule, priorities, wait limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pymongo.errors import DuplicateKeyError

from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Invalid, Words
from routing_core.infra.revisions import require_revision
from routing_core.infra.sentences import invalid
from routing_core.model.audit import Actor
from routing_core.model.queues import Queue
from routing_core.store import Store
from routing_core.store.queues import (
    QueueEntryRepository,
    QueueRepository,
)


class Queues:
    """Queues as admins manage them: unique names, checked members and schedule, audit,
    revision-checked saves (two admins editing at once: the second gets a 409)."""

    def __init__(self, store: Store, repository: QueueRepository, entries: QueueEntryRepository):
        self.store = store
        self.repository = repository
        self.entries = entries

    async def _checked(self, queue: Queue) -> Queue:
        members = list(dict.fromkeys(queue.members))
        found = await self.store.users.all({"_id": {"$in": members}})
        unknown = sorted(set(members) - {user.id for user in found})
        if unknown:
            raise Invalid(Words("unknown user id(s): %(unknown)s", unknown=', '.join(unknown)),
                          field="members")
        if queue.schedule is not None:
            queue.schedule = queue.schedule.strip() or None
        if queue.schedule and not await self.store.schedules.find_one({"name": queue.schedule}):
            raise Invalid(Words("no schedule named %(schedule)r", schedule=queue.schedule),
                          field="schedule")
        return queue.model_copy(update={"members": members})

    @staticmethod
    def _built(data: Mapping[str, Any]) -> Queue:
        try:
            return Queue.model_validate(dict(data))
        except ValidationError as error:
            raise invalid(error) from None

    async def create(self, actor: Actor, **data: Any) -> Queue:
        queue = await self._checked(self._built(data))
        try:
            await self.repository.insert(queue)
        except DuplicateKeyError:
            raise Conflict(Words("a queue named %(name)r exists", name=queue.name), field="name",
                           code="name_taken") from None
        await self.store.audit.record_change(actor, "queue.create", "queue", queue.id,
                                             name=queue.name)
        return queue

    async def update(self, actor: Actor, queue_id: str, changes: Mapping[str, Any]) -> Queue:
        current = await self.repository.get(queue_id)
        changes = dict(changes)
        require_revision(changes.pop("revision", None), current.revision,
                         f"queue {current.name!r}")
        merged = self._built({**current.model_dump(), **changes})
        updated = (await self._checked(merged)).model_copy(
            update={"revision": current.revision + 1, "updated_at": utcnow()}
        )
        try:
            result = await self.repository.collection.replace_one(
                {"_id": queue_id, "revision": current.revision}, updated.to_document()
            )
        except DuplicateKeyError:
            raise Conflict(Words("a queue named %(name)r exists", name=updated.name), field="name",
                           code="name_taken") from None
        if result.matched_count != 1:
            raise Conflict(Words(
                "queue %(name)r was changed meanwhile; reload it and try again",
                name=current.name), code="concurrent_change")
        await self.store.audit.record_change(actor, "queue.update", "queue", queue_id,
                                             fields=sorted(changes))
        return updated

    async def delete(self, actor: Actor, queue_id: str) -> None:
        queue = await self.repository.get(queue_id)
        if await self.entries.find_one({"queue_id": queue_id, "state": "waiting"}):
            raise Conflict(Words("conversations are waiting in queue %(name)r", name=queue.name),
                           code="in_use")
        await self.repository.delete(queue_id)
        await self.store.audit.record_change(actor, "queue.delete", "queue", queue_id,
                                             name=queue.name)
