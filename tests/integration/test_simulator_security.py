"""The simulator is the admin panel's: behind a login with its own permission, on an address
nobody can guess from a version id, and it changes nothing outside the conversation."""

from __future__ import annotations

import pytest
from quart import Quart
from quart.testing.connections import WebsocketDisconnectError

from routing_core.model.audit import SYSTEM, Actor
from routing_core.model.interaction import Channel, Inbound
from routing_core.services import Services
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
    reader = Pages(app)
    await reader.log_in("reader@example.com", "reader password")
    status, text, _ = await reader.get(f"/admin/versions/{draft_id}")
    assert status == 200 and "simulator-button" not in text
    status, _, _ = await reader.post(f"/admin/versions/{draft_id}/simulator")
    assert status == 403

    admin = Pages(app)
    await admin.log_in()
    status, _, _ = await admin.get(f"/admin/versions/{draft_id}")
    assert status == 200
    async with admin.client.websocket(path.replace("outsider", "insider1")) as socket:
        assert (await socket.receive_json())["type"] == "history"
