"""Every query of the message hot path is served by an index: ``explain`` shows no
collection scan, so latency stays flat however much history is stored."""

from __future__ import annotations

import pytest

from routing_core.model.interaction import Channel, Inbound
from routing_core.services import Services
from routing_core.store.hot_queries import HOT_QUERIES, explain, plan_stages
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


@pytest.mark.parametrize("name", HOT_QUERIES)
async def test_a_hot_query_uses_an_index(busy: Services, name: str) -> None:
    result = await explain(busy.store.database, name)
    stages = plan_stages(result["queryPlanner"]["winningPlan"])
    assert "COLLSCAN" not in stages, (name, stages)
    assert "IXSCAN" in stages or "IDHACK" in stages or "EXPRESS_IXSCAN" in stages, stages
