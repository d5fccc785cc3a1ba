"""Campaigns and their targets."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from routing_core.model.campaigns import Campaign, CampaignTarget
from routing_core.store.cases import UNIQUE_ORIGIN
from routing_core.store.change_watch import ChangeWatch
from routing_core.store.repository import Repository


class CampaignRepository(Repository[Campaign]):
    collection_name = "campaigns"
    record = Campaign
    label = "campaign"
    INDEXES = [
        IndexModel([("name", ASCENDING)], unique=True, name="unique_name"),
        IndexModel([("status", ASCENDING), ("kind", ASCENDING)], name="by_status"),
    ]

    def __init__(self, database: AsyncDatabase):
        super().__init__(database)
        self._sending_from: frozenset[str] | None = None
        self.watch = ChangeWatch("campaigns", self.collection, self._drop)

    def _drop(self, _campaign_id: Any) -> None:
        self._sending_from = None

    async def sending_entry_points(self) -> frozenset[str]:
        """The entry points some campaign writes from: only a message there can answer a
        target, and every WhatsApp message asks — so kept until a campaign changes in any
        process (``watch``), and read each time while changes cannot be watched (a reply
        must never miss a campaign created a moment before)."""
        if self._sending_from is not None and self.watch.live:
            return self._sending_from
        generation = self.watch.generation
        found = frozenset(str(entry_point) for entry_point in await self.collection.distinct(
            "entry_point_id", {"entry_point_id": {"$type": "string"}}))
        if generation == self.watch.generation:  # no change arrived while reading
            self._sending_from = found
        return found


class CampaignTargetRepository(Repository[CampaignTarget]):
    """Claimed by (campaign, status, due time); a phone is a target of a campaign once;
    a WhatsApp reply finds the targets sent to its number from its entry point."""

    collection_name = "campaign_targets"
    record = CampaignTarget
    label = "target"
    INDEXES = [
        IndexModel([("campaign_id", ASCENDING), ("phone", ASCENDING)], unique=True,
                   name="unique_phone_per_campaign"),
        IndexModel([("campaign_id", ASCENDING), ("status", ASCENDING), ("due_at", ASCENDING)],
                   name="due"),
        IndexModel([("campaign_id", ASCENDING), ("_id", ASCENDING)], name="by_campaign"),
        IndexModel([("entry_point_id", ASCENDING), ("phone", ASCENDING), ("status", ASCENDING)],
                   partialFilterExpression={"entry_point_id": {"$type": "string"}},
                   name="replies"),
        UNIQUE_ORIGIN,
    ]
