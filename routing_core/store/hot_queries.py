"""The queries of the message hot path, written as ``explain``-able commands, so a test
can fail on a collection scan and the history benchmark can show each plan as the
stored history grows.

They are built from the values of one stored conversation (``Sample``): with made-up
values the planner picks the same index, but ``executionStats`` would count the keys and
documents of a lookup that finds nothing, which says nothing about how much a real one
reads. Each mirrors the query its repository runs (filter, sort, limit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from routing_core.model.interaction import Channel
from routing_core.store.repository import DEFAULT_PAGE

# (collection, command verb, command body)
HotQuery = tuple[str, str, dict[str, Any]]

SAMPLED_EVENTS = 1000  # a random look at this many events finds an outbound message


@dataclass(frozen=True)
class Sample:
    """Values of one stored web chat conversation, to put in the hot queries."""

    entry_point_id: str
    contact: str  # the contact's external id on that entry point
    interaction_id: str
    version_id: str
    event_id: str  # one of its outbound messages: the last one a visitor saw
    provider_id: str  # some outbound message's provider id, as a delivery report names it
    now: datetime


def hot_queries(sample: Sample) -> dict[str, HotQuery]:
    """Every hot query, by name, with the sample's values."""
    page = DEFAULT_PAGE + 1  # a page and the probe for the next one
    return {
        "ingest: the contact's active interaction": ("interactions", "findAndModify", {
            "query": {"entry_point_id": sample.entry_point_id, "contact": sample.contact,
                      "active": True, "seen": {"$ne": "wc:a-new-message"}},
            "update": {"$set": {"last_inbound_at": sample.now}}}),
        "the contact's latest interaction": ("interactions", "find", {
            "filter": {"entry_point_id": sample.entry_point_id, "contact": sample.contact},
            "projection": {"active": 1, "seen": 1}, "sort": {"_id": -1}, "limit": 1}),
        "due wake-ups": ("interactions", "find", {
            "filter": {"active": True, "wake_at": {"$lte": sample.now}},
            "projection": {"_id": 1}, "sort": {"wake_at": 1}, "limit": 100}),
        "an interaction's events": ("events", "find", {
            "filter": {"interaction_id": sample.interaction_id}, "sort": {"_id": 1},
            "limit": 1000}),
        "a visitor's missed messages": ("events", "find", {
            "filter": {"entry_point_id": sample.entry_point_id, "contact": sample.contact,
                       "type": "outbound", "_id": {"$gt": sample.event_id}},
            "sort": {"_id": 1}, "limit": 200}),
        "the outbox sweep": ("events", "find", {
            "filter": {"status": "pending", "next_attempt_at": {"$lte": sample.now},
                       "lease_until": {"$not": {"$gt": sample.now}},
                       "channel": {"$in": [channel.value for channel in Channel]}},
            "projection": {"_id": 1}, "sort": {"_id": 1}, "limit": 100}),
        "dead letters": ("events", "find", {
            "filter": {"type": "outbound", "status": "failed"}, "sort": {"_id": -1},
            "limit": page}),
        "a delivery report": ("events", "find", {
            "filter": {"provider_id": {"$type": "string", "$eq": sample.provider_id},
                       "type": "outbound"}, "limit": 1}),
        "a contact": ("contacts", "find", {
            "filter": {"entry_point_id": sample.entry_point_id,
                       "external_id": sample.contact}, "limit": 1}),
        "test executions of a version": ("interactions", "find", {
            "filter": {"version_id": sample.version_id, "test": True}, "sort": {"_id": -1},
            "limit": page}),
    }


HOT_QUERY_NAMES = tuple(hot_queries(Sample("", "", "", "", "", "", datetime.now(UTC))))


async def stored_sample(database: AsyncDatabase[Any], now: datetime) -> Sample:
    """The values of a random stored web chat conversation, and some stored provider id
    (a placeholder that finds nothing when no outbound message has one yet)."""
    found = await database["events"].aggregate([
        {"$sample": {"size": SAMPLED_EVENTS}},
        {"$match": {"type": "outbound", "channel": Channel.webchat.value}},
        {"$limit": 1},
    ])
    outbound = next(iter(await found.to_list()), None)
    if outbound is None:
        raise LookupError("no stored web chat message to take a sample from")
    interaction = await database["interactions"].find_one(
        {"_id": outbound["interaction_id"]}, projection={"version_id": 1})
    reported = await database["events"].find_one(
        {"type": "outbound", "provider_id": {"$type": "string"}}, projection={"provider_id": 1})
    return Sample(
        entry_point_id=outbound["entry_point_id"], contact=outbound["contact"],
        interaction_id=outbound["interaction_id"],
        version_id=interaction["version_id"] if interaction else "",
        event_id=outbound["_id"],
        provider_id=reported["provider_id"] if reported else "no-provider-id-stored",
        now=now,
    )


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


async def explain(database: AsyncDatabase[Any], query: HotQuery,
                  verbosity: str = "queryPlanner") -> dict[str, Any]:
    """The server's ``explain`` of one hot query (a write is planned, never applied)."""
    collection, verb, body = query
    result: dict[str, Any] = await database.command(
        {"explain": {verb: collection, **body}, "verbosity": verbosity})
    return result
