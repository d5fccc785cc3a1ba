"""The home page at ``/admin``: what an operator on call looks at first — live
conversations, agents available, failed messages of the last hour, the next scheduled
productions — each figure a link to the page behind it, and links to every page (stuck
conversations too: finding them reads the waiting conversations, too much for every view).

Every figure is one indexed count or a short find; none is computed on the hot path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import g

from admin.context import authenticated_user, services
from admin.pages.views import page
from routing_core.model.interaction import DeliveryStatus
from routing_core.model.users import AgentStatus
from routing_core.store.interaction_search import COUNT_CAP, LIVE_STATES, InteractionFilter

SCHEDULED_SHOWN = 5


async def home_page() -> Any:
    await authenticated_user()
    permissions: frozenset[str] = g.get("permissions", frozenset())
    store, now = services().store, services().runtime.clock()
    figures: dict[str, Any] = {}
    if "interactions:read" in permissions:
        figures["live"] = await store.interactions.collection.count_documents(
            InteractionFilter(states=LIVE_STATES).query(), limit=COUNT_CAP + 1)
        figures["failed_last_hour"] = await store.events.collection.count_documents(
            {"type": "outbound", "status": DeliveryStatus.failed.value,
             "failed_at": {"$gte": now - timedelta(hours=1)}})
        figures["failed"] = await store.events.collection.count_documents(
            {"type": "outbound", "status": DeliveryStatus.failed.value}, limit=COUNT_CAP + 1)
    if "users:read" in permissions or "queues:read" in permissions:
        figures["agents_available"] = await store.database["agent_states"].count_documents(
            {"status": AgentStatus.available.value})
    scheduled = []
    if "smart_routings:read" in permissions:
        scheduled = await store.versions.collection.find(
            {"scheduled_at": {"$type": "date"}}).sort("scheduled_at", 1).limit(
            SCHEDULED_SHOWN).to_list()
    routings = {routing.id: routing for routing in await store.routings.all()} if scheduled else {}
    return await page("home.html", active_nav="home", figures=figures, count_cap=COUNT_CAP,
                      scheduled=scheduled, routings=routings)
