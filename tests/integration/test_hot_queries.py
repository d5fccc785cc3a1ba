"""Every query of the message hot path is served by an index: ``explain`` of each, with
the values of a stored conversation, shows no collection scan, so latency stays flat
however much history is stored."""

from __future__ import annotations

import pytest

from routing_core.infra.clock import utcnow
from routing_core.model.interaction import Channel, DeliveryStatus, Event, Inbound
from routing_core.services import Services
from routing_core.store.hot_queries import (
    HOT_QUERY_NAMES,
    explain,
    hot_queries,
    plan_stages,
    stored_sample,
)
from tests.support.routings import action, production_routing, tree, webchat_entry_point


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


@pytest.mark.parametrize("name", HOT_QUERY_NAMES)
async def test_a_hot_query_uses_an_index(busy: Services, name: str) -> None:
    database = busy.store.database
    query = hot_queries(await stored_sample(database, utcnow()))[name]
    result = await explain(database, query)
    stages = plan_stages(result["queryPlanner"]["winningPlan"])
    assert "COLLSCAN" not in stages, (name, stages)
    assert "IXSCAN" in stages or "IDHACK" in stages or "EXPRESS_IXSCAN" in stages, stages


async def test_the_sample_is_a_stored_conversation(busy: Services) -> None:
    """Real values: the lookups of one contact find its documents."""
    database = busy.store.database
    queries = hot_queries(await stored_sample(database, utcnow()))
    returned = {name: (await explain(database, queries[name], "executionStats"))
                ["executionStats"]["nReturned"]
                for name in ("the contact's latest interaction", "an interaction's events",
                             "a contact")}
    assert returned == {"the contact's latest interaction": 1, "an interaction's events": 2,
                        "a contact": 1}


async def test_an_index_declared_differently_is_rebuilt_and_delivery_reports_use_it(
    services: Services,
) -> None:
    """An upgrade whose index changed under the same name rebuilds it at start-up; web chat
    messages (no provider id) stay out of the delivery reports' index, and the query
    still uses it."""
    events = services.store.events.collection
    await events.drop_index("outbound_by_provider_id")
    await events.create_index([("provider_id", 1)], name="outbound_by_provider_id",
                              partialFilterExpression={"type": "outbound"})  # as before
    await services.store.ensure_indexes()
    index = (await events.index_information())["outbound_by_provider_id"]
    assert index["partialFilterExpression"] == {"type": "outbound",
                                                "provider_id": {"$type": "string"}}
    await services.store.events.append(
        [Event(id=f"w{n}", interaction_id="i", type="outbound") for n in range(50)]
        + [Event(id="s1", interaction_id="i", type="outbound", provider_id="SM1",
                 status=DeliveryStatus.sent)])
    assert await services.outbox.record_status("SM1", "delivered", None)
    assert (await events.find_one({"_id": "s1"}))["status"] == "delivered"
    plan = (await services.store.database.command({"explain": {"find": "events", "filter": {
        "provider_id": {"$type": "string", "$eq": "SM1"}, "type": "outbound"}}}))
    assert "IXSCAN" in plan_stages(plan["queryPlanner"]["winningPlan"])
    validated = await services.store.database.command({"validate": "events"})
    assert validated["keysPerIndex"]["outbound_by_provider_id"] == 1  # no null keys
