"""The queries of the message hot path, written as ``explain``-able commands, so a test
can fail on a collection scan and the history benchmark can show each plan as the
stored history grows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

_NOW = datetime(2030, 1, 1, tzinfo=UTC)

# name → (collection, command verb, command body)
HOT_QUERIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ingest: the contact's active interaction": ("interactions", "findAndModify", {
        "query": {"entry_point_id": "e", "contact": "c", "active": True,
                  "seen": {"$ne": "p"}}, "update": {"$set": {"x": 1}}}),
    "the contact's latest interaction": ("interactions", "find", {
        "filter": {"entry_point_id": "e", "contact": "c"}, "sort": {"_id": -1}, "limit": 1}),
    "due wake-ups": ("interactions", "find", {
        "filter": {"active": True, "wake_at": {"$lte": _NOW}}, "sort": {"wake_at": 1}}),
    "an interaction's events": ("events", "find", {
        "filter": {"interaction_id": "i"}, "sort": {"_id": 1}}),
    "a visitor's missed messages": ("events", "find", {
        "filter": {"entry_point_id": "e", "contact": "c", "type": "outbound",
                   "_id": {"$gt": "x"}}, "sort": {"_id": 1}}),
    "the outbox sweep": ("events", "find", {
        "filter": {"status": "pending", "next_attempt_at": {"$lte": _NOW}}}),
    "dead letters": ("events", "find", {
        "filter": {"type": "outbound", "status": "failed"}, "sort": {"_id": -1}}),
    "a delivery report": ("events", "find", {
        "filter": {"provider_id": "SM1", "type": "outbound"}}),
    "a contact": ("contacts", "find", {
        "filter": {"entry_point_id": "e", "external_id": "c"}}),
    "test executions of a version": ("interactions", "find", {
        "filter": {"version_id": "v", "test": True}, "sort": {"_id": -1}}),
}


def plan_stages(plan: Any) -> set[str]:
    """Every stage name in a plan, however nested."""
    stages: set[str] = set()
    if isinstance(plan, dict):
        if "stage" in plan:
            stages.add(plan["stage"])
        for value in plan.values():
            stages |= plan_stages(value)
    elif isinstance(plan, list):
        for item in plan:
            stages |= plan_stages(item)
    return stages


async def explain(database: AsyncDatabase[Any], name: str,
                  verbosity: str = "queryPlanner") -> dict[str, Any]:
    """The server's ``explain`` of one hot query."""
    collection, verb, body = HOT_QUERIES[name]
    result: dict[str, Any] = await database.command(
        {"explain": {verb: collection, **body}, "verbosity": verbosity})
    return result
