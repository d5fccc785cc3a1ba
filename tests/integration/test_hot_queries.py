"""Every query of the message hot path is served by an index: ``explain`` shows no
collection scan, so latency stays flat however much history is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from routing_core.model.interaction import Channel, Inbound
from routing_core.services import Services
from tests.support.routings import action, production_routing, tree, webchat_entry_point

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def plan_stages(plan: Any) -> set[str]:
    """Every stage name in a winning plan, however nested."""
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


@pytest.fixture
async def busy(services: Services) -> Services:
    """A little history, so the planner has indexes and documents to choose between."""
    routing_id = await production_routing(services, "hot", tree(
        action("ask", "message_wait", {"text": "Name?", "into": "name"})))
    entry_point = await webchat_entry_point(services, routing_id)
    for number in range(20):
        await services.runtime.receive(Inbound(
            channel=Channel.webchat, entry_point_id=entry_point.id,
            contact=f"visitor-{number:04d}", provider_id=f"m{number}", text="hi"), wait=True)
    return services


QUERIES = {
    "ingest: the contact's active interaction": ("interactions", "findAndModify", {
        "query": {"entry_point_id": "e", "contact": "c", "active": True,
                  "seen": {"$ne": "p"}}, "update": {"$set": {"x": 1}}}),
    "the contact's latest interaction": ("interactions", "find", {
        "filter": {"entry_point_id": "e", "contact": "c"}, "sort": {"_id": -1}, "limit": 1}),
    "due wake-ups": ("interactions", "find", {
        "filter": {"active": True, "wake_at": {"$lte": NOW}}, "sort": {"wake_at": 1}}),
    "an interaction's events": ("events", "find", {
        "filter": {"interaction_id": "i"}, "sort": {"_id": 1}}),
    "a visitor's missed messages": ("events", "find", {
        "filter": {"entry_point_id": "e", "contact": "c", "type": "outbound",
                   "_id": {"$gt": "x"}}, "sort": {"_id": 1}}),
    "the outbox sweep": ("events", "find", {
        "filter": {"status": "pending", "next_attempt_at": {"$lte": NOW}}}),
    "dead letters": ("events", "find", {
        "filter": {"type": "outbound", "status": "failed"}, "sort": {"_id": -1}}),
    "a delivery report": ("events", "find", {
        "filter": {"provider_id": "SM1", "type": "outbound"}}),
    "a contact": ("contacts", "find", {
        "filter": {"entry_point_id": "e", "external_id": "c"}}),
    "test executions of a version": ("interactions", "find", {
        "filter": {"version_id": "v", "test": True}, "sort": {"_id": -1}}),
}


@pytest.mark.parametrize("name", QUERIES)
async def test_a_hot_query_uses_an_index(busy: Services, name: str) -> None:
    collection_name, verb, body = QUERIES[name]
    database = busy.store.database
    result = await database.command(
        {"explain": {verb: collection_name, **body}, "verbosity": "queryPlanner"})
    stages = plan_stages(result["queryPlanner"]["winningPlan"])
    assert "COLLSCAN" not in stages, (name, stages)
    assert "IXSCAN" in stages or "IDHACK" in stages or "EXPRESS_IXSCAN" in stages, stages
