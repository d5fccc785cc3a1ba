"""Smart routings, their versions, and the undo history of development versions."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

from routing_core.model.routing import SmartRouting, TreeEdit, Version
from routing_core.store.repository import Repository


class SmartRoutingRepository(Repository[SmartRouting]):
    collection_name = "smart_routings"
    record = SmartRouting
    label = "smart routing"
    INDEXES = [IndexModel([("reference", ASCENDING)], unique=True, name="unique_reference")]


class VersionRepository(Repository[Version]):
    """The partial unique indexes are the last line of the lifecycle's one-at-a-time rules."""

    collection_name = "versions"
    record = Version
    label = "version"
    INDEXES = [
        IndexModel([("routing_id", ASCENDING), ("_id", ASCENDING)], name="by_routing"),
        IndexModel(
            [("routing_id", ASCENDING)],
            unique=True,
            partialFilterExpression={"status": "production"},
            name="one_production_per_routing",
        ),
        IndexModel(
            [("routing_id", ASCENDING)],
            unique=True,
            partialFilterExpression={"in_test": True},
            name="one_in_test_per_routing",
        ),
        IndexModel(
            [("routing_id", ASCENDING), ("scheduled_date", ASCENDING)],
            unique=True,
            partialFilterExpression={"scheduled_date": {"$type": "string"}},
            name="one_scheduled_production_per_routing_and_date",
        ),
        IndexModel(
            [("scheduled_at", ASCENDING)],
            partialFilterExpression={"scheduled_at": {"$type": "date"}},
            name="due_schedules",
        ),
    ]


class TreeEditRepository(Repository[TreeEdit]):
    """The undo history of development versions: a version's edits by ``seq``."""

    collection_name = "tree_edits"
    record = TreeEdit
    label = "tree edit"
    INDEXES = [IndexModel([("version_id", ASCENDING), ("seq", DESCENDING)], unique=True,
                          name="by_version")]

    async def keep(self, edit: TreeEdit, kept: int) -> None:
        """Record a new edit: the edits it replaces (undone ones) go, and all but the newest
        ``kept``."""
        await self.collection.delete_many({"version_id": edit.version_id, "undone": True})
        await self.insert(edit)
        oldest_kept = await self.collection.find(
            {"version_id": edit.version_id}, projection={"seq": 1},
        ).sort("seq", DESCENDING).skip(kept - 1).limit(1).to_list()
        if oldest_kept:
            await self.collection.delete_many(
                {"version_id": edit.version_id, "seq": {"$lt": oldest_kept[0]["seq"]}})

    async def last_done(self, version_id: str) -> TreeEdit | None:
        found = await self.collection.find({"version_id": version_id, "undone": False}).sort(
            "seq", DESCENDING).limit(1).to_list()
        return TreeEdit.from_document(found[0]) if found else None

    async def first_undone(self, version_id: str) -> TreeEdit | None:
        found = await self.collection.find({"version_id": version_id, "undone": True}).sort(
            "seq", ASCENDING).limit(1).to_list()
        return TreeEdit.from_document(found[0]) if found else None

    async def mark(self, edit: TreeEdit, undone: bool) -> None:
        await self.collection.update_one({"_id": edit.id}, {"$set": {"undone": undone}})
