"""Queues, queue entries and agent states: the conditional updates distribution rests on.

Two writes make an assignment, each one conditional so that any number of processes may
race: ``AgentStateRepository.reserve`` takes one unit of an agent's capacity only while
the agent is available and holds fewer than ``capacity`` conversations; then
``QueueEntryRepository.claim`` takes the entry only while it still waits in the same
round. The loser of the second write gives its reservation back (``unreserve``), so a
conversation never reaches two agents and an agent never exceeds capacity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from routing_core.model.queues import (
    AgentState,
    EntryState,
    HeldConversation,
    Queue,
    QueueEntry,
)
from routing_core.model.users import AgentStatus
from routing_core.store.repository import Repository

LIVE_STATES = [EntryState.claimed.value, EntryState.assigned.value]


class QueueRepository(Repository[Queue]):
    collection_name = "queues"
    record = Queue
    label = "queue"
    INDEXES = [
        IndexModel([("name", ASCENDING)], unique=True, name="unique_name"),
        IndexModel([("members", ASCENDING)], name="by_member"),
    ]

    async def named(self, name_or_id: str) -> Queue | None:
        document = await self.collection.find_one(
            {"$or": [{"name": name_or_id}, {"_id": name_or_id}]}
        )
        return Queue.from_document(document) if document else None


class QueueEntryRepository(Repository[QueueEntry]):
    """One document per interaction (``_id``), re-used by each round of queueing."""

    collection_name = "queue_entries"
    record = QueueEntry
    label = "queue entry"
    INDEXES = [
        # the oldest waiting entry by priority, then by arrival
        IndexModel(
            [("queue_id", ASCENDING), ("state", ASCENDING), ("priority", DESCENDING),
             ("enqueued_at", ASCENDING)],
            name="waiting_by_priority",
        ),
        IndexModel(
            [("target_user", ASCENDING), ("state", ASCENDING), ("enqueued_at", ASCENDING)],
            partialFilterExpression={"target_user": {"$type": "string"}},
            name="offers_by_user",
        ),
        IndexModel([("state", ASCENDING), ("claimed_at", ASCENDING)], name="by_state"),
        IndexModel([("agent_id", ASCENDING), ("state", ASCENDING)], name="by_agent"),
    ]

    async def place(self, entry: QueueEntry) -> tuple[QueueEntry, bool]:
        """Start a round for the interaction, unless this ticket already has one (a replayed
        step asks again): (the entry, whether this call placed it)."""
        fields = {key: value for key, value in entry.to_document().items()
                  if key not in ("_id", "round")}
        for _ in range(5):
            existing = await self.collection.find_one({"_id": entry.id})
            if existing is None:
                try:
                    await self.collection.insert_one(entry.to_document())
                except DuplicateKeyError:
                    continue  # placed meanwhile by another process: read it again
                return entry, True
            if existing.get("ticket") == entry.ticket:
                return QueueEntry.from_document(existing), False
            document = await self.collection.find_one_and_update(
                {"_id": entry.id, "round": existing["round"]},
                {"$set": {**fields, "round": existing["round"] + 1}},
                return_document=ReturnDocument.AFTER,
            )
            if document is not None:
                return QueueEntry.from_document(document), True
        raise RuntimeError(f"could not queue interaction {entry.id} after 5 attempts")

    def _waiting(self, now: datetime) -> dict[str, Any]:
        return {"state": EntryState.waiting.value, "deadline": {"$gt": now}}

    async def oldest_waiting(self, queue_id: str, now: datetime) -> QueueEntry | None:
        document = await self.collection.find_one(
            {"queue_id": queue_id, **self._waiting(now)},
            sort=[("priority", DESCENDING), ("enqueued_at", ASCENDING), ("_id", ASCENDING)],
        )
        return QueueEntry.from_document(document) if document else None

    async def oldest_offer(self, user_id: str, now: datetime) -> QueueEntry | None:
        document = await self.collection.find_one(
            {"target_user": user_id, **self._waiting(now)},
            sort=[("enqueued_at", ASCENDING), ("_id", ASCENDING)],
        )
        return QueueEntry.from_document(document) if document else None

    async def position(self, entry: QueueEntry) -> int:
        """1 for the next conversation to be served in its queue."""
        ahead = await self.collection.count_documents({
            "queue_id": entry.queue_id,
            "state": EntryState.waiting.value,
            "$or": [
                {"priority": {"$gt": entry.priority}},
                {"priority": entry.priority, "enqueued_at": {"$lt": entry.enqueued_at}},
            ],
        })
        return ahead + 1

    async def queues_with_waiting(self, now: datetime) -> list[str]:
        found = await self.collection.distinct("queue_id", self._waiting(now))
        return [queue_id for queue_id in found if queue_id]

    async def users_with_offers(self, now: datetime) -> list[str]:
        found = await self.collection.distinct(
            "target_user", {**self._waiting(now), "target_user": {"$type": "string"}}
        )
        return [user_id for user_id in found if user_id]

    async def claim(
        self, entry: QueueEntry, agent_id: str, token: str, now: datetime
    ) -> QueueEntry | None:
        """Take a waiting entry of this round for ``agent_id`` (with the reservation
        ``token``): succeeds once per round."""
        document = await self.collection.find_one_and_update(
            {"_id": entry.id, "round": entry.round, "state": EntryState.waiting.value},
            {"$set": {"state": EntryState.claimed.value, "agent_id": agent_id,
                      "token": token, "claimed_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return QueueEntry.from_document(document) if document else None

    async def move(
        self, entry_id: str, round_: int, states: list[EntryState], **changes: Any
    ) -> QueueEntry | None:
        """Change an entry of this round only from one of ``states`` (None: it was not)."""
        document = await self.collection.find_one_and_update(
            {"_id": entry_id, "round": round_, "state": {"$in": [s.value for s in states]}},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        return QueueEntry.from_document(document) if document else None

    async def stuck_claims(self, before: datetime, limit: int = 50) -> list[QueueEntry]:
        """Claims whose interaction was not told in time (its process died, or it was busy)."""
        found = self.collection.find(
            {"state": EntryState.claimed.value, "claimed_at": {"$lt": before}}
        ).sort("claimed_at", ASCENDING).limit(limit)
        return [QueueEntry.from_document(document) async for document in found]

    async def expired_transfers(self, now: datetime, limit: int = 50) -> list[QueueEntry]:
        found = self.collection.find({
            "state": EntryState.waiting.value, "kind": "transfer", "deadline": {"$lte": now},
        }).limit(limit)
        return [QueueEntry.from_document(document) async for document in found]

    async def held_by(self, agent_id: str) -> list[QueueEntry]:
        found = self.collection.find({"agent_id": agent_id, "state": {"$in": LIVE_STATES}})
        return [QueueEntry.from_document(document) async for document in found]


class AgentStateRepository(Repository[AgentState]):
    collection_name = "agent_states"
    record = AgentState
    label = "agent"
    INDEXES = [
        # the available agents by idle time
        IndexModel([("status", ASCENDING), ("idle_since", ASCENDING)], name="by_idle_time"),
    ]

    async def state_of(self, agent_id: str) -> AgentState:
        return await self.find(agent_id) or AgentState(id=agent_id)

    async def set_status(self, agent_id: str, status: AgentStatus, now: datetime) -> AgentState:
        """A newly available agent counts as idle from now; one already available keeps
        its place in line."""
        idle_since: Any = {"$ifNull": ["$idle_since", {"$literal": now}]}
        if status is AgentStatus.available:
            idle_since = {"$cond": [{"$eq": ["$status", "available"]}, idle_since,
                                    {"$literal": now}]}
        document = await self.collection.find_one_and_update(
            {"_id": agent_id},
            [{"$set": {
                "status": status.value,
                "status_at": {"$literal": now},
                "held": {"$ifNull": ["$held", []]},
                "idle_since": idle_since,
            }}],
            upsert=True, return_document=ReturnDocument.AFTER,
        )
        assert document is not None  # an upsert returning the document after always finds it
        return AgentState.from_document(document)

    async def seen(self, agent_id: str, now: datetime) -> None:
        """An open console of the agent is alive."""
        await self.collection.update_one(
            {"_id": agent_id}, {"$set": {"console_seen_at": now},
                                "$setOnInsert": {"status": AgentStatus.offline.value,
                                                 "held": []}}, upsert=True)

    async def absent(self, before: datetime) -> list[str]:
        """Available agents whose every console went silent before ``before``."""
        found = self.collection.find({"status": AgentStatus.available.value,
                                      "console_seen_at": {"$lt": before}}, {"_id": 1})
        return [document["_id"] async for document in found]

    async def step_away(self, agent_id: str, before: datetime, now: datetime) -> bool:
        """``away``, unless a console came back meanwhile or the agent changed status."""
        result = await self.collection.update_one(
            {"_id": agent_id, "status": AgentStatus.available.value,
             "console_seen_at": {"$lt": before}},
            {"$set": {"status": AgentStatus.away.value, "status_at": now}})
        return result.modified_count == 1

    async def available(self, agent_ids: list[str]) -> list[AgentState]:
        """Available agents among ``agent_ids``, longest idle first."""
        found = self.collection.find(
            {"_id": {"$in": agent_ids}, "status": AgentStatus.available.value}
        ).sort([("idle_since", ASCENDING), ("_id", ASCENDING)])
        return [AgentState.from_document(document) async for document in found]

    async def reserve(
        self, agent_id: str, capacity: int, interaction_id: str, token: str, now: datetime
    ) -> AgentState | None:
        """One unit of capacity for ``interaction_id``: only while the agent is available and
        holds fewer than ``capacity`` (the state before, to undo; None: refused)."""
        held = HeldConversation(interaction=interaction_id, token=token, at=now)
        document = await self.collection.find_one_and_update(
            {"_id": agent_id, "status": AgentStatus.available.value,
             f"held.{capacity - 1}": {"$exists": False}},
            {"$push": {"held": held.model_dump()}, "$set": {"idle_since": now}},
            return_document=ReturnDocument.BEFORE,
        )
        return AgentState.from_document(document) if document else None

    async def unreserve(self, agent_id: str, token: str, before: AgentState, now: datetime) -> None:
        """Give back a reservation that lost its race, and the agent's place in line."""
        await self.drop(agent_id, token)
        await self.collection.update_one(
            {"_id": agent_id, "idle_since": now}, {"$set": {"idle_since": before.idle_since}}
        )

    async def drop(self, agent_id: str, token: str) -> None:
        """Forget one reservation (reconciliation of a stale one)."""
        await self.collection.update_one({"_id": agent_id}, {"$pull": {"held": {"token": token}}})

    async def release(self, agent_id: str, interaction_id: str) -> bool:
        """The conversation no longer counts against the agent (idempotent)."""
        result = await self.collection.update_one(
            {"_id": agent_id, "held.interaction": interaction_id},
            {"$pull": {"held": {"interaction": interaction_id}}},
        )
        return result.modified_count == 1

    async def holding(self, limit: int = 1000) -> list[AgentState]:
        """Agents holding something (reconciliation reads them all: one per agent)."""
        found = self.collection.find({"held.0": {"$exists": True}}).limit(limit)
        return [AgentState.from_document(document) async for document in found]
