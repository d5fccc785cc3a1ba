"""Interactions, their events, signals and pinned tree snapshots.

A step's inputs are fixed when it starts: ``step_at`` (set when the lease is taken, kept
if a step was cut short, cleared by the commit) is its clock, and it processes only the
messages received by then; so a step replayed after a crash makes the same decisions
and writes the same event ids.

The hot path of a message costs three round trips: ``ingest`` (de-duplicate, persist,
take the lease: one conditional update), ``EventRepository.append_grouped`` (events and
outbound messages, deterministic ids; under load the events of concurrent steps go in one
command) and ``commit`` (new state, processed messages removed, lease released: one
conditional update; under load the commits of steps that end together go in one command
too). A new contact's first message replaces the ingest by
``ContactRepository.create_if_new`` (``store/contacts.py``) and
``InteractionRepository.insert_grouped``, written at the same time (both group-committed;
``engine/opening.py``): its conditional write is the commit alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from routing_core.model.interaction import (
    FAILED_END_REASONS,
    SEEN_IDS_KEPT,
    DeliveryStatus,
    Event,
    Inbound,
    Interaction,
    InteractionState,
)
from routing_core.model.tree import Tree
from routing_core.store.group_commit import DUPLICATE_KEY, GroupCommit, failures_by_index
from routing_core.store.repository import Repository

# What the engine changes in a step; written back by ``commit``.
STATE_FIELDS = (
    "status", "active", "cursor", "waiting", "variables", "contact_variables", "passages",
    "path", "last_text", "event_seq", "wake_at", "expires_at", "ended_at", "end_reason",
    "routing_id", "version_id", "revision", "updated_at", "queue_id", "agent_id", "queued",
    "outbound_hour_started", "outbound_in_hour", "state", "timed_out", "wakes_without_reply",
    "calls", "opted_out",
)


# What a commit returns: the messages that arrived meanwhile and the lease, to go on.
COMMIT_ANSWER = {"pending": 1, "lease_owner": 1, "lease_until": 1, "step_at": 1,
                 "expires_at": 1, "last_inbound_at": 1, "seen": 1}


# marks what a commit's upsert inserted because its interaction was gone (removed at once)
LOST_COMMIT = "lost_commit"


def _refused_as_duplicate(error: BaseException | None) -> bool:
    return getattr(error, "code", None) == DUPLICATE_KEY


# the lease's next acquisition (interactions written before epochs count from 0)
NEXT_EPOCH = {"$add": [{"$ifNull": ["$lease_epoch", 0]}, 1]}


def shard_key(record: Any) -> dict[str, Any]:
    """The shard key of ``interactions`` and ``events`` (docs/deploy.md), from a record
    that has it: added to a hot-path filter, it sends the command to one shard."""
    return {"entry_point_id": record.entry_point_id, "contact": record.contact}


def literal(value: Any) -> dict[str, Any]:
    """A value inside an update pipeline, never read as an expression ("$text" stays text)."""
    return {"$literal": value}


class InteractionRepository(Repository[Interaction]):
    collection_name = "interactions"
    record = Interaction
    label = "interaction"
    INDEXES = [
        IndexModel(
            [("entry_point_id", ASCENDING), ("contact", ASCENDING)],
            unique=True,
            partialFilterExpression={"active": True},
            name="one_active_per_contact",
        ),
        IndexModel(
            [("wake_at", ASCENDING)],
            partialFilterExpression={"active": True},
            name="due_wake_ups",
        ),
        IndexModel(
            # a contact's latest interaction on an entry point (first messages), and the
            # conversations list's search by address (on every entry point)
            [("contact", ASCENDING), ("entry_point_id", ASCENDING), ("_id", DESCENDING)],
            name="by_contact",
        ),
        IndexModel([("contact_id", ASCENDING), ("created_at", DESCENDING)], name="by_contact_id"),
        IndexModel([("version_id", ASCENDING), ("test", ASCENDING), ("_id", DESCENDING)],
                   name="executions"),
        # the conversations list: each filter an operator picks, newest first; ``test``
        # in each so counts of real (or test) conversations stay inside the index
        IndexModel([("routing_id", ASCENDING), ("test", ASCENDING), ("_id", DESCENDING)],
                   name="list_by_routing"),
        IndexModel([("entry_point_id", ASCENDING), ("test", ASCENDING), ("_id", DESCENDING)],
                   name="list_by_entry_point"),
        IndexModel([("channel", ASCENDING), ("test", ASCENDING), ("_id", DESCENDING)],
                   name="list_by_channel"),
        IndexModel([("state", ASCENDING), ("test", ASCENDING), ("_id", DESCENDING)],
                   name="list_by_state"),
        IndexModel([("test", ASCENDING), ("_id", DESCENDING)], name="list_all"),
        # the stuck conversations whose steps keep failing: only those are in it
        IndexModel([("step_failures", ASCENDING)],
                   partialFilterExpression={"step_failures": {"$gt": 0}},
                   name="failing_steps"),
        # the contact search reads ids from these alone (no document): test is in them
        IndexModel([("contact_phone", ASCENDING), ("test", ASCENDING), ("_id", DESCENDING)],
                   name="list_by_phone"),
        IndexModel([("contact_name", ASCENDING), ("test", ASCENDING), ("_id", DESCENDING)],
                   name="list_by_name"),
    ]
    RETIRED_INDEXES = ("by_routing", "by_status", "list_by_address")

    def __init__(self, database: AsyncDatabase):
        super().__init__(database)
        self._created: GroupCommit[Interaction, dict[str, Any]] = GroupCommit(
            self._insert_created)
        self._released: GroupCommit[UpdateOne, bool] = GroupCommit(self._write_released)

    async def ensure_indexes(self) -> None:
        """Also gives interactions written before ``state`` existed theirs."""
        await super().ensure_indexes()
        await self.collection.update_many({"state": {"$exists": False}}, [{"$set": {
            "state": {"$switch": {"branches": [
                {"case": {"$and": [{"$not": ["$active"]},
                                   {"$in": ["$end_reason", sorted(FAILED_END_REASONS)]}]},
                 "then": InteractionState.failed.value},
                {"case": {"$not": ["$active"]}, "then": InteractionState.ended.value},
                {"case": {"$gt": ["$agent_id", None]}, "then": InteractionState.with_agent.value},
                {"case": {"$gt": ["$waiting", None]}, "then": InteractionState.waiting.value},
            ], "default": InteractionState.running.value}},
        }}])

    async def ingest(
        self, inbound: Inbound, owner: str, now: datetime, lease_until: datetime,
        expires_at: datetime,
    ) -> dict[str, Any] | None:
        """Append the message to the contact's active interaction unless already seen, and
        take the lease if it is free. None: no active interaction, or a duplicate."""
        free = {"$not": [{"$gt": ["$lease_until", now]}]}
        return await self.collection.find_one_and_update(
            {
                "entry_point_id": inbound.entry_point_id,
                "contact": inbound.contact,
                "active": True,
                "seen": {"$ne": inbound.provider_id},
            },
            [
                {
                    "$set": {
                        "pending": {"$concatArrays": ["$pending", [literal(inbound.model_dump())]]},
                        "seen": {"$slice": [
                            {"$concatArrays": ["$seen", [literal(inbound.provider_id)]]},
                            -SEEN_IDS_KEPT,
                        ]},
                        "expires_at": literal(expires_at),
                        "last_inbound_at": literal(now),
                        "lease_owner": {"$cond": [free, literal(owner), "$lease_owner"]},
                        "lease_until": {"$cond": [free, literal(lease_until), "$lease_until"]},
                        "lease_epoch": {"$cond": [free, NEXT_EPOCH, "$lease_epoch"]},
                        "step_at": {"$cond": [
                            free, {"$ifNull": ["$step_at", literal(now)]}, "$step_at"]},
                        # should the worker die, a sweeper takes over when the lease expires
                        "wake_at": {"$min": ["$wake_at", literal(lease_until)]},
                    }
                }
            ],
            return_document=ReturnDocument.AFTER,
        )

    async def latest(self, entry_point_id: str, contact: str,
                     before: str | None = None) -> dict[str, Any] | None:
        """The contact's newest interaction (``before``: older than that one): the active
        one when there is one (a new one is only created while none is active), with the
        provider ids it has seen."""
        query: dict[str, Any] = {"entry_point_id": entry_point_id, "contact": contact}
        if before is not None:
            query["_id"] = {"$lt": before}
        return await self.collection.find_one(
            query, projection={"active": 1, "seen": 1}, sort=[("_id", DESCENDING)])

    async def drop_unused(self, interaction_id: str, owner: str) -> bool:
        """Delete an interaction this process just opened and never stepped, if no other
        message came into it meanwhile (whether it did)."""
        result = await self.collection.delete_one(
            {"_id": interaction_id, "lease_owner": owner, "event_seq": 0,
             "pending.1": {"$exists": False}})
        return result.deleted_count == 1

    async def adopt(self, interaction_id: str, owner: str, *, seen_before: list[str],
                    without: str | None, fields: dict[str, Any]) -> dict[str, Any] | None:
        """An interaction this process just opened and holds, given ``fields`` (the stored
        contact's), the provider ids seen before it (kept in front of its own), and without
        the pending message ``without`` (one seen before). Its document; None if the lease
        was lost meanwhile."""
        keep: Any = "$pending"
        if without is not None:
            keep = {"$filter": {"input": "$pending",
                                "cond": {"$ne": ["$$this.provider_id", literal(without)]}}}
        return await self.collection.find_one_and_update(
            {"_id": interaction_id, "lease_owner": owner},
            [{"$set": {
                **{key: literal(value) for key, value in fields.items()},
                "pending": keep,
                "seen": {"$slice": [{"$concatArrays": [{"$filter": {
                    "input": literal(seen_before),
                    "cond": {"$not": [{"$in": ["$$this", "$seen"]}]}}}, "$seen"]},
                    -SEEN_IDS_KEPT]},
            }}],
            return_document=ReturnDocument.AFTER,
        )

    async def claim(
        self, interaction_id: str, owner: str, now: datetime, lease_until: datetime
    ) -> dict[str, Any] | None:
        """Take the lease of an interaction whose lease is free or expired. A step cut
        short keeps its ``step_at``, so its replay sees the same inputs."""
        return await self.collection.find_one_and_update(
            {"_id": interaction_id, "active": True, "lease_until": {"$not": {"$gt": now}}},
            [{"$set": {
                "lease_owner": literal(owner),
                "lease_until": literal(lease_until),
                "lease_epoch": NEXT_EPOCH,
                "step_at": {"$ifNull": ["$step_at", literal(now)]},
            }}],
            return_document=ReturnDocument.AFTER,
        )

    async def renew(self, interaction_id: str, owner: str, lease_until: datetime,
                    epoch: int) -> None:
        await self.collection.update_one(
            {"_id": interaction_id, "lease_owner": owner, "lease_epoch": epoch},
            {"$set": {"lease_until": lease_until}, "$min": {"wake_at": lease_until}},
        )

    async def commit(
        self,
        interaction: Interaction,
        owner: str,
        processed: list[str],
        lease_until: datetime,
        now: datetime,
    ) -> dict[str, Any] | None:
        """Write the new state and drop the processed messages; keep the lease only while
        messages that arrived meanwhile wait. Returns the fields of ``COMMIT_ANSWER``;
        None: the lease was lost to another worker."""
        interaction.refresh_state()
        state = interaction.model_dump(include=set(STATE_FIELDS))
        claimed = {**shard_key(interaction), "_id": interaction.id, "lease_owner": owner,
                   "lease_epoch": interaction.lease_epoch}
        # the usual case, as a plain update (nothing sent back; measured side by side with
        # the pipeline's find-and-modify for every commit: 8-17 % less mongod CPU per bot
        # turn), grouped with the other steps that end meanwhile: no message came during
        # the step, so the lease goes back, nothing waits. Else (a message came, or the
        # lease was lost) the pipeline below keeps what came and tells which.
        if await self._released.submit(UpdateOne(
            {**claimed, "pending": {"$not": {"$elemMatch": {
                "provider_id": {"$nin": processed}}}}},
            {"$set": {**state, "pending": [], "step_failures": 0, "step_error": None,
                      "lease_until": None, "lease_owner": None, "step_at": None},
             "$setOnInsert": {LOST_COMMIT: True}},
            upsert=True,
        )):
            return {"pending": [], "lease_owner": None, "lease_until": None,
                    "step_at": None, "expires_at": interaction.expires_at,
                    "last_inbound_at": interaction.last_inbound_at,
                    "seen": interaction.seen}
        remaining = {"$filter": {
            "input": "$pending",
            "cond": {"$not": [{"$in": ["$$this.provider_id", literal(processed)]}]},
        }}
        more = {"$gt": [{"$size": "$pending"}, 0]}
        # an interaction that ended before taking the messages that came meanwhile gives
        # them back: no longer seen here, they open the next conversation (``_after_end``)
        given_back = {} if interaction.active else {"seen": {"$filter": {
            "input": "$seen", "cond": {"$not": [{"$in": ["$$this", "$pending.provider_id"]}]}}}}
        return await self.collection.find_one_and_update(
            claimed,
            [
                {"$set": {**{key: literal(value) for key, value in state.items()},
                          "pending": remaining, "step_failures": 0, "step_error": None}},
                {"$set": {
                    "lease_until": {"$cond": [more, literal(lease_until), None]},
                    "lease_owner": {"$cond": [more, literal(owner), None]},
                    "step_at": {"$cond": [more, literal(now), None]},
                    **given_back,
                }},
            ],
            # the caller has the state it just wrote: only what others changed comes back
            projection=COMMIT_ANSWER,
            return_document=ReturnDocument.AFTER,
        )

    async def _write_released(self, updates: list[UpdateOne]) -> list[bool | BaseException]:
        """Commits of steps that give the lease back, in one command: for each, whether it
        was written. A grouped update says only how many matched, not which; so each is an
        upsert on its ``_id``: one whose conditions no longer hold would insert a second
        document with that id, and the unique index refuses it by name (by its place in
        the group) — that one was not written, and nothing else happened."""
        failed: dict[int, BaseException] = {}
        try:
            result = await self.collection.bulk_write(updates, ordered=False)
            inserted = result.upserted_ids or {}
        except BulkWriteError as error:
            failed = failures_by_index(error)
            inserted = {item["index"]: item["_id"] for item in error.details.get("upserted", [])}
        if inserted:  # the interaction no longer existed: take back what the upsert made
            await self.collection.delete_many({"_id": {"$in": list(inserted.values())},
                                               LOST_COMMIT: True})
        return [False if index in inserted or _refused_as_duplicate(failed.get(index))
                else failed.get(index, True) for index in range(len(updates))]

    async def release(self, interaction_id: str, owner: str, now: datetime) -> None:
        """Give the lease back without a step (a repair refused after taking it); messages
        that arrived meanwhile are due at once, for whoever sweeps first."""
        more = {"$gt": [{"$size": {"$ifNull": ["$pending", []]}}, 0]}
        await self.collection.update_one(
            {"_id": interaction_id, "lease_owner": owner},
            [{"$set": {"lease_until": None, "lease_owner": None, "step_at": None,
                       "wake_at": {"$cond": [more, literal(now), "$wake_at"]}}}],
        )

    async def note_step_failure(self, interaction_id: str, owner: str, error: str) -> None:
        """A step raised: count it for operators (the lease expires and it is tried again)."""
        await self.collection.update_one(
            {"_id": interaction_id, "lease_owner": owner},
            {"$inc": {"step_failures": 1}, "$set": {"step_error": error[:500]}},
        )

    async def insert_grouped(self, interaction: Interaction) -> dict[str, Any]:
        """Insert a new interaction together with those other first messages of this
        process create meanwhile (group commit); DuplicateKeyError as ``insert`` would.
        The document written (made once: dumping an interaction is not free)."""
        return await self._created.submit(interaction)

    async def _insert_created(
        self, interactions: list[Interaction]
    ) -> list[dict[str, Any] | BaseException]:
        failed: dict[int, BaseException] = {}
        for interaction in interactions:
            interaction.refresh_state()
        documents = [interaction.to_document() for interaction in interactions]
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            failed = failures_by_index(error, {DUPLICATE_KEY: DuplicateKeyError})
        return [failed.get(index) or document for index, document in enumerate(documents)]

    async def due(self, now: datetime, limit: int = 100) -> list[str]:
        found = self.collection.find(
            {"active": True, "wake_at": {"$lte": now}}, projection={"_id": 1}
        ).sort("wake_at", ASCENDING).limit(limit)
        return [document["_id"] async for document in found]


class EventRepository(Repository[Event]):
    """The events list of every interaction; outbound messages double as the outbox."""

    collection_name = "events"
    record = Event
    label = "event"
    INDEXES = [
        IndexModel([("interaction_id", ASCENDING), ("_id", ASCENDING)], name="by_interaction"),
        IndexModel(
            [("next_attempt_at", ASCENDING)],
            partialFilterExpression={"status": "pending"},
            name="outbox_pending",
        ),
        IndexModel(
            [("status", ASCENDING), ("_id", DESCENDING)],
            partialFilterExpression={"type": "outbound"},
            name="outbox_by_status",
        ),
        IndexModel(
            [("entry_point_id", ASCENDING), ("contact", ASCENDING), ("_id", ASCENDING)],
            partialFilterExpression={"type": "outbound"},
            name="outbound_by_contact",
        ),
        # delivery reports find their message; web chat messages have no provider id and
        # stay out of it (a query must say ``$type: "string"`` for the planner to use it)
        IndexModel([("provider_id", ASCENDING)],
                   partialFilterExpression={"type": "outbound",
                                            "provider_id": {"$type": "string"}},
                   name="outbound_by_provider_id"),
    ]

    async def ensure_indexes(self) -> None:
        """Also gives dead letters stored before ``error_kind`` existed their kind, read
        from their error text ("code: message")."""
        await super().ensure_indexes()
        await self.collection.update_many(
            {"type": "outbound", "status": "failed", "error_kind": {"$exists": False},
             "error": {"$type": "string"}},
            [{"$set": {"error_kind": {"$arrayElemAt": [{"$split": ["$error", ":"]}, 0]}}}],
        )

    def __init__(self, database: AsyncDatabase):
        super().__init__(database)
        self._grouped: GroupCommit[list[Event], list[str]] = GroupCommit(self._insert_groups)

    async def append(self, events: list[Event]) -> list[str]:
        """Insert, ignoring ids already there: a replayed step writes the same ids. Returns
        the ids that were there already."""
        if not events:
            return []
        try:
            await self.collection.insert_many(
                [event.to_document() for event in events], ordered=False
            )
        except BulkWriteError as error:
            if any(item["code"] != DUPLICATE_KEY for item in error.details["writeErrors"]):
                raise
            return [events[item["index"]].id for item in error.details["writeErrors"]]
        return []

    async def take_over_lease(
        self, event_id: str, owner: str, now: datetime, lease_until: datetime
    ) -> bool:
        """Make a pending message written by an earlier attempt of a step ours to send,
        unless a live process holds it (a sweeper took it meanwhile)."""
        result = await self.collection.update_one(
            {"_id": event_id, "status": "pending",
             "$or": [{"lease_owner": owner}, {"lease_until": {"$not": {"$gt": now}}}]},
            {"$set": {"lease_owner": owner, "lease_until": lease_until}},
        )
        return result.modified_count == 1

    async def append_grouped(self, events: list[Event]) -> list[str]:
        """As ``append``, written together with the events that other steps of this
        process submit meanwhile (group commit): durable when it returns."""
        if not events:
            return []
        return await self._grouped.submit(events)

    async def _insert_groups(
        self, groups: list[list[Event]]
    ) -> list[list[str] | BaseException]:
        documents: list[dict[str, Any]] = []
        owners: list[int] = []
        for owner, events in enumerate(groups):
            for event in events:
                documents.append(event.to_document())
                owners.append(owner)
        already: list[list[str]] = [[] for _ in groups]
        failed: dict[int, BaseException] = {}
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            for index, failure in failures_by_index(
                    error, {DUPLICATE_KEY: DuplicateKeyError}).items():
                if isinstance(failure, DuplicateKeyError):  # written by an earlier attempt
                    already[owners[index]].append(documents[index]["_id"])
                else:
                    failed[owners[index]] = failure
        return [failed.get(owner, ids) for owner, ids in enumerate(already)]

    async def of_interaction(self, interaction_id: str, limit: int = 1000) -> list[Event]:
        found = self.collection.find({"interaction_id": interaction_id}).sort("_id", 1)
        return [Event.from_document(document) async for document in found.limit(limit)]

    async def latest_of_interaction(self, interaction_id: str, limit: int,
                                    types: tuple[str, ...] = ()) -> list[Event]:
        """The last ``limit`` events (of ``types``, when given), oldest first: what a
        conversation's viewer shows, however long the conversation has run."""
        query: dict[str, Any] = {"interaction_id": interaction_id}
        if types:
            query["type"] = {"$in": list(types)}
        found = self.collection.find(query).sort("_id", -1).limit(limit)
        newest_first = [Event.from_document(document) async for document in found]
        return newest_first[::-1]

    async def latest_of_interactions(
        self, interaction_ids: list[str], limit: int
    ) -> dict[str, list[Event]]:
        """``latest_of_interaction`` for several interactions in one round trip."""
        grouped: dict[str, list[Event]] = {interaction_id: [] for interaction_id in interaction_ids}
        found = await self.collection.aggregate([
            {"$match": {"interaction_id": {"$in": interaction_ids}}},
            {"$sort": {"interaction_id": -1, "_id": -1}},
            {"$group": {"_id": "$interaction_id",
                        "events": {"$firstN": {"n": limit, "input": "$$ROOT"}}}},
        ])
        async for group in found:
            grouped[group["_id"]] = [Event.from_document(document)
                                     for document in reversed(group["events"])]
        return grouped

    async def of_interactions(self, interaction_ids: list[str]) -> dict[str, list[Event]]:
        """The events lists of several interactions in one read (a page of executions)."""
        grouped: dict[str, list[Event]] = {interaction_id: [] for interaction_id in interaction_ids}
        found = self.collection.find({"interaction_id": {"$in": interaction_ids}}).sort(
            [("interaction_id", 1), ("_id", 1)]
        )
        async for document in found:
            grouped[document["interaction_id"]].append(Event.from_document(document))
        return grouped

    async def outbound_after(
        self, entry_point_id: str, contact: str, after: str | None, limit: int = 200
    ) -> list[Event]:
        query: dict[str, Any] = {
            "entry_point_id": entry_point_id, "contact": contact, "type": "outbound",
            "status": {"$ne": DeliveryStatus.failed.value},  # kept, not sent: an opt-out
        }
        if after:
            query["_id"] = {"$gt": after}
        found = self.collection.find(query).sort("_id", 1).limit(limit)
        return [Event.from_document(document) async for document in found]


class SignalRepository(Repository[Event]):
    """Passing signals to a conversation's customer (an agent typing): written for the
    other processes' relays to hand to the sockets they hold, gone within a minute."""

    collection_name = "signals"
    record = Event
    label = "signal"
    INDEXES = [IndexModel([("at", ASCENDING)], expireAfterSeconds=60, name="expiry")]


class SnapshotRepository:
    """Trees as they were at a revision: what a test interaction is pinned to."""

    collection_name = "version_snapshots"

    def __init__(self, database: Any):
        self.collection = database[self.collection_name]

    async def ensure_indexes(self) -> None:
        return None

    async def keep(self, version_id: str, revision: int, tree: Tree) -> None:
        await self.collection.update_one(
            {"_id": f"{version_id}:{revision}"},
            {"$setOnInsert": {"tree": tree.model_dump()}},
            upsert=True,
        )

    async def find(self, version_id: str, revision: int) -> Tree | None:
        document = await self.collection.find_one({"_id": f"{version_id}:{revision}"})
        return Tree.model_validate(document["tree"]) if document else None
