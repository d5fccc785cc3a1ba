"""Campaigns and their targets."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from routing_core.model.campaigns import Campaign, CampaignTarget
from routing_core.store.cases import UNIQUE_ORIGIN
from routing_core.store.repository import Repository


class CampaignRepository(Repository[Campaign]):
    collection_name = "campaigns"
    record = Campaign
    label = "campaign"
    INDEXES = [
        IndexModel([("name", ASCENDING)], unique=True, name="unique_name"),
        IndexModel([("status", ASCENDING), ("kind", ASCENDING)], name="by_status"),
    ]


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
