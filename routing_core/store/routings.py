"""Smart routings and their versions."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from routing_core.model.routing import SmartRouting, Version
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
