"""The simulator is the admin panel's: behind a login with its own permission, on an address
nobody can guess from a version id, and it changes nothing outside the conversation."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from quart import Quart
from quart.testing.connections import WebsocketDisconnectError

from admin import simulator_tickets
from routing_core.model.audit import SYSTEM, Actor
from routing_core.model.interaction import Channel, Inbound
from routing_core.services import Services
from tests.conftest import ADMIN_EMAIL
from tests.integration.test_admin_pages import Pages
from tests.support.routings import action, production_routing, tree

ACTOR = Actor(id="test", name="test")


async def draft_with_writes(services: Services) -> tuple[str, str]:
    """A draft whose tree creates a CRM card, saves a database row, calls a web service,
    then says done."""
    routing_id = await production_routing(services, "writes", tree(
        action("card", "crm_create", {"fields": {"name": "{{ contact.name }}"}},
               next="row", failure="row"),
        action("row", "database_save", {"database": "orders", "values": {"id": "1"}},
               next="call", failure="call"),
        action("call", "web_service", {"url": "https://api.example.com/orders"},
               success="done", failure="done"),
        action("done", "message", {"text": "done"}),
    ))
    production = await services.store.versions.find_one({"routing_id": routing_id})
    assert production is not None
    draft = await services.lifecycle.duplicate_version(SYSTEM, production.id, "draft")
    return routing_id, draft.id


async def test_a_simulated_conversation_writes_nothing(services: Services) -> None:
    _, draft_id = await draft_with_writes(services)
    simulator = await services.entry_points.simulator_for(SYSTEM, draft_id)
    assert draft_id not in simulator.address  # not guessable from the version's id
    await services.runtime.receive(Inbound(
        channel=Channel.webchat, entry_point_id=simulator.id, contact="visitor-maker",
        provider_id="s1", text="hi", contact_name="Maker"), wait=True)
    interaction = await services.store.interactions.find_one({"contact": "visitor-maker"})
    assert interaction is not None and interaction.simulated and interaction.test
    events = await services.store.events.of_interaction(interaction.id)
    errors = [event.data["message"] for event in events if event.type == "error"]
    assert any("the simulator does not write a CRM card" in text for text in errors), errors
    assert any("does not write to a custom database" in text for text in errors), errors
    assert any("does not call a web service" in text for text in errors), errors
    assert [event.data["text"] for event in events if event.type == "outbound"] == ["done"]
    assert await services.store.crm_cards.collection.count_documents({}) == 0
    assert await services.store.database_rows.collection.count_documents({}) == 0


async def test_an_old_simulator_address_is_replaced(services: Services) -> None:
    _, draft_id = await draft_with_writes(services)
    simulator = await services.entry_points.simulator_for(SYSTEM, draft_id)
    await services.store.entry_points.collection.update_one(
        {"_id": simulator.id}, {"$set": {"address": f"simulator-{draft_id}"}})
    again = await services.entry_points.simulator_for(SYSTEM, draft_id)
    assert again.id == simulator.id and again.address != f"simulator-{draft_id}"


async def test_the_simulator_needs_a_login_and_its_permission(
    app: Quart, services: Services
) -> None:
    _, draft_id = await draft_with_writes(services)
    simulator = await services.entry_points.simulator_for(SYSTEM, draft_id)
    path = f"/chat/{simulator.address}/ws?visitor=visitor-outsider"
    async with app.test_client().websocket(path) as socket:
        with pytest.raises(WebsocketDisconnectError) as refused:
            await socket.receive_json()
    assert refused.value.args == (4403,)
    page = await app.test_client().get(f"/chat/{simulator.address}")
    assert page.status_code == 404

    await services.accounts.create_role(ACTOR, "readers", ["smart_routings:read"])
    await services.accounts.create_user(ACTOR, email="reader@example.com",
                                        password="reader password", roles=["readers"])
    reader_user = await services.store.users.find_one({"email": "reader@example.com"})
    reader = Pages(app)
    await reader.log_in("reader@example.com", "reader password")
    status, text, _ = await reader.get(f"/admin/versions/{draft_id}")
    assert status == 200 and "simulator-button" not in text
    status, _, _ = await reader.post(f"/admin/versions/{draft_id}/simulator")
    assert status == 403
    status, _, _ = await reader.get(f"/admin/versions/{draft_id}/simulator-ticket")
    assert status == 403

    admin = Pages(app)
    await admin.log_in()
    status, text, _ = await admin.get(f"/admin/versions/{draft_id}?simulator=1")
    assert status == 200 and "simulator-ticket" in text  # the widget asks for tickets
    # the panel's cookie alone opens nothing: a ticket from a moment ago does
    await refused_with(admin.client, path.replace("outsider", "insider1"), 4403)
    status, body, _ = await admin.get(f"/admin/versions/{draft_id}/simulator-ticket")
    ticket = json.loads(body)["ticket"]
    async with app.test_client().websocket(f"{path}1&ticket={ticket}") as socket:
        assert (await socket.receive_json())["type"] == "history"
    async with app.app_context():
        stale, for_reader, elsewhere = tickets_made_in_the_past(
            simulator.id, reader_user, await services.store.users.find_one(
                {"email": ADMIN_EMAIL}))
    for wrong in (stale, for_reader, elsewhere, ticket[:-2] + "xx"):
        await refused_with(app.test_client(), f"{path}2&ticket={wrong}", 4403)


async def refused_with(client: Any, path: str, code: int) -> None:
    async with client.websocket(path) as socket:
        with pytest.raises(WebsocketDisconnectError) as refused:
            await socket.receive_json()
    assert refused.value.args == (code,)


def tickets_made_in_the_past(entry_point_id: str, reader: Any, admin: Any) -> list[str]:
    """A ticket two minutes old, one for a user who may not simulate, one for another
    simulator."""
    real_time = time.time
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: real_time() - 120)
        stale = simulator_tickets.issue(admin, entry_point_id)
    return [stale, simulator_tickets.issue(reader, entry_point_id),
            simulator_tickets.issue(admin, "another-simulator")]


async def test_the_simulator_hands_nobody_to_agents(services: Services) -> None:
    routing_id = await production_routing(services, "queued", tree(
        action("queue", "to_queue", {"queue": "support", "max_wait_seconds": 60},
               answered="done", no_agent="done"),
        action("done", "message", {"text": "done"}),
    ))
    production = await services.store.versions.find_one({"routing_id": routing_id})
    assert production is not None
    simulator = await services.entry_points.simulator_for(SYSTEM, production.id)
    await services.runtime.receive(Inbound(
        channel=Channel.webchat, entry_point_id=simulator.id, contact="visitor-queue",
        provider_id="q1", text="help"), wait=True)
    interaction = await services.store.interactions.find_one({"contact": "visitor-queue"})
    assert interaction is not None and interaction.agent_id is None
    events = await services.store.events.of_interaction(interaction.id)
    errors = [event.data["message"] for event in events if event.type == "error"]
    assert any("does not hand the conversation over to agents" in t for t in errors), events
    assert await services.store.database["queue_entries"].count_documents({}) == 0


async def test_a_simulator_goes_when_closed_or_idle(app: Quart, services: Services) -> None:
    routing_id = await production_routing(services, "napping", tree(
        action("hi", "message", {"text": "hi"}, next="nap"),
        action("nap", "pause", {"seconds": 3600}, next="bye"),
        action("bye", "message", {"text": "bye"}),
    ))
    production = await services.store.versions.find_one({"routing_id": routing_id})
    assert production is not None
    admin = Pages(app)
    await admin.log_in()
    status, _, _ = await admin.post(f"/admin/versions/{production.id}/simulator")
    simulator = await services.store.entry_points.find_one({"simulated_version": production.id})
    assert status in (302, 303) and simulator is not None
    await services.runtime.receive(Inbound(
        channel=Channel.webchat, entry_point_id=simulator.id, contact="visitor-nap",
        provider_id="n1", text="hello"), wait=True)
    status, _, _ = await admin.post(f"/admin/versions/{production.id}/simulator/close")
    assert status in (302, 303)
    assert await services.store.entry_points.find(simulator.id) is None
    interaction = await services.store.interactions.find_one({"contact": "visitor-nap"})
    assert interaction is not None and not interaction.active  # its timer will not wake
    status, text, _ = await admin.get(f"/admin/versions/{production.id}")
    assert status == 200 and interaction.id in text  # still among the executions

    again = await services.entry_points.simulator_for(SYSTEM, production.id)
    now = datetime.now(UTC)
    assert await services.simulators.remove_idle(now) == 0  # just opened
    assert await services.simulators.remove_idle(now + timedelta(minutes=61)) == 1
    assert await services.store.entry_points.find(again.id) is None
