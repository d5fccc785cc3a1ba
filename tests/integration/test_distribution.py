"""Queues, agents and the console's API and socket, through the app against a real mongod:
a web chat customer queued by ``to_queue`` reaches a logged-in agent, talks with them, and
the agent's end runs the entry point's end routing."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from quart.datastructures import FileStorage
from quart.testing.connections import WebsocketDisconnectError

from routing_core.contact_centre.distribution import Distribution
from routing_core.contact_centre.presence import PRESENCE_GRACE_SECONDS
from routing_core.engine.delivery import Delivery, LocalHub
from routing_core.engine.runtime import Runtime, RuntimeSettings
from routing_core.infra.clock import utcnow
from routing_core.model.interaction import Channel, Inbound
from routing_core.ports.world import Ports
from tests.conftest import Api, login
from tests.integration.test_webchat import receive
from tests.support.routings import action, production_routing, tree, webchat_entry_point

PASSWORD = "agent password 1"

SUPPORT = tree(
    action("queue", "to_queue", {"queue": "support", "waiting_message": "Please wait.",
                                 "max_wait_seconds": 600},
           answered="hello", no_agent="sorry"),
    action("hello", "message", {"text": "You are talking to an agent."}),
    action("sorry", "message", {"text": "Sorry, no agent is available."}),
)
GOODBYE = tree(action("rate", "message", {"text": "Thanks! How did we do?"}))


@pytest.fixture
def distribution(app: Any) -> Distribution:
    return app.extensions["distribution"]  # type: ignore[no-any-return]


async def settle(services: Any, distribution: Distribution) -> None:
    """Until processing and assignment work (which start each other) are all done."""
    for _ in range(20):
        await services.runtime.idle()
        await distribution.idle()
        await asyncio.sleep(0.02)
        if not services.runtime._tasks and not distribution._tasks:
            return


async def agent(app: Any, api: Api, email: str, capacity: int = 1,
                queues: list[str] | None = None) -> Api:
    response = await api.post("/api/users", {
        "email": email, "password": PASSWORD, "roles": ["agent"],
        "agent": {"queues": queues or [], "capacity": capacity},
    })
    assert response.status_code == 201, response.json_body
    client = await login(app, email, PASSWORD)
    client.user_id = response.json_body["id"]  # type: ignore[attr-defined]
    return client


async def queue(api: Api, name: str, members: list[Api], **extra: Any) -> dict[str, Any]:
    response = await api.post("/api/queues", {
        "name": name, "members": [member.user_id for member in members],  # type: ignore[attr-defined]
        **extra,
    })
    assert response.status_code == 201, response.json_body
    return response.json_body  # type: ignore[no-any-return]


async def available(client: Api) -> None:
    response = await client.post("/api/agent/status", {"status": "available"})
    assert response.status_code == 200, response.json_body


async def support_line(services: Any, end_routing: bool = False) -> Any:
    routing_id = await production_routing(services, "support", SUPPORT)
    extra = {}
    if end_routing:
        extra["end_routing"] = await production_routing(services, "goodbye", GOODBYE,
                                                        type="end")
    return await webchat_entry_point(services, routing_id, **extra)


async def customer_writes(services: Any, entry_point_id: str, visitor: str, text: str,
                          provider_id: str | None = None) -> str:
    receipt = await services.runtime.receive(Inbound(
        channel=Channel.webchat, entry_point_id=entry_point_id, contact=visitor,
        provider_id=provider_id or f"{visitor}:{text}", text=text,
    ), wait=True)
    assert receipt.interaction_id
    return receipt.interaction_id


async def frame(socket: Any, kind: str) -> dict[str, Any]:
    while True:
        received = await asyncio.wait_for(socket.receive_json(), 5)
        if received["type"] == kind:
            return received  # type: ignore[no-any-return]


async def event_types(services: Any, interaction_id: str) -> list[str]:
    return [event.type for event in await services.store.events.of_interaction(interaction_id)]


async def assigned_to(services: Any, interaction_id: str) -> str | None:
    interaction = await services.store.interactions.find(interaction_id)
    return interaction.agent_id  # type: ignore[no-any-return]


async def test_a_customer_reaches_an_agent_talks_and_the_end_routing_runs(
    app, services, api, distribution
):
    entry_point = await support_line(services, end_routing=True)
    alice = await agent(app, api, "alice@example.com")
    await queue(api, "support", [alice])
    await available(alice)
    client = app.test_client()
    async with client.websocket(f"/agent/ws?token={alice.token}") as console, \
            client.websocket(f"/chat/{entry_point.address}/ws?visitor=visitor-0001") as chat:
        await frame(chat, "history")
        await chat.send_json({"type": "message", "text": "Hello, I need help", "id": "m1"})
        assert (await frame(chat, "message"))["text"] == "Please wait."
        assert (await frame(chat, "message"))["text"] == "You are talking to an agent."
        assigned = await frame(console, "assigned")
        interaction_id = assigned["interaction_id"]
        assert assigned["interaction"]["id"] == interaction_id
        history = [event["type"] for event in assigned["interaction"]["events"]]
        assert history[:1] == ["inbound"] and "queued" in history and "assigned" in history

        await chat.send_json({"type": "message", "text": "My order is late", "id": "m2"})
        message = await frame(console, "message")
        assert (message["interaction_id"], message["text"]) == (interaction_id,
                                                               "My order is late")

        reply = await alice.post(f"/api/agent/interactions/{interaction_id}/messages",
                                 {"text": "Let me check that for you."})
        assert reply.status_code == 201, reply.json_body
        assert (await frame(chat, "message"))["text"] == "Let me check that for you."

        mine = await alice.get("/api/agent/interactions")
        assert [item["id"] for item in mine.json_body["items"]] == [interaction_id]
        texts = [e["data"].get("text") for e in mine.json_body["items"][0]["events"]
                 if e["type"] in ("inbound", "outbound")]
        assert texts == ["Hello, I need help", "Please wait.", "You are talking to an agent.",
                         "My order is late", "Let me check that for you."]

        ended = await alice.post(f"/api/agent/interactions/{interaction_id}/end")
        assert ended.status_code == 200, ended.json_body
        assert ended.json_body["end_reason"] == "ended by agent"
        assert (await frame(console, "ended"))["interaction_id"] == interaction_id
        assert (await frame(chat, "message"))["text"] == "Thanks! How did we do?"
    await settle(services, distribution)
    types = await event_types(services, interaction_id)
    assert types.count("assigned") == 1 and types[-2:] == ["ended", "end"]
    assert (await alice.get("/api/agent/interactions")).json_body["items"] == []
    assert (await alice.get("/api/agent/status")).json_body["load"] == 0
    follow_up = await services.store.interactions.find_one({"kind": "end"})
    assert follow_up.previous_interaction == interaction_id


async def test_longest_idle_first_within_capacity_and_freed_capacity_is_reused(
    app, services, api, distribution
):
    entry_point = await support_line(services)
    ann = await agent(app, api, "ann@example.com", capacity=1)
    bob = await agent(app, api, "bob@example.com", capacity=2)
    await queue(api, "support", [ann, bob])
    await available(ann)  # idle the longest
    await available(bob)
    given = []
    for number in range(4):
        given.append(await customer_writes(services, entry_point.id, f"visitor-{number}", "hi"))
        await settle(services, distribution)
    owners = [await assigned_to(services, interaction_id) for interaction_id in given]
    assert owners == [ann.user_id, bob.user_id, bob.user_id, None]  # type: ignore[attr-defined]
    status = (await bob.get("/api/agent/status")).json_body
    assert (status["load"], status["capacity"], status["queues"]) == (2, 2, ["support"])
    waiting = await distribution.entries.find(given[3])
    assert waiting is not None and waiting.state == "waiting"

    await ann.post(f"/api/agent/interactions/{given[0]}/end")
    await settle(services, distribution)
    assert await assigned_to(services, given[3]) == ann.user_id  # type: ignore[attr-defined]
    for interaction_id in given:
        assert (await event_types(services, interaction_id)).count("assigned") == 1
    for member in (ann, bob):
        state = await distribution.agents.state_of(member.user_id)  # type: ignore[attr-defined]
        held = await services.store.interactions.all(
            {"agent_id": member.user_id, "active": True}  # type: ignore[attr-defined]
        )
        assert state.load == len(held) <= (1 if member is ann else 2)


async def test_priority_is_served_first_and_the_position_is_announced(
    app, services, api, distribution
):
    normal_id = await production_routing(services, "normal", tree(
        action("queue", "to_queue", {"queue": "line", "priority": 0})))
    urgent_id = await production_routing(services, "urgent", tree(
        action("queue", "to_queue", {"queue": "line", "priority": 5})))
    normal = await webchat_entry_point(services, normal_id, address="normal")
    urgent = await webchat_entry_point(services, urgent_id, address="urgent")
    cid = await agent(app, api, "cid@example.com", capacity=1)
    await queue(api, "line", [cid], announce_position=True,
                waiting_message="{{ queue.name }}: please hold.")
    await available(cid)
    first = await customer_writes(services, normal.id, "visitor-a", "hi")  # takes cid
    await settle(services, distribution)
    second = await customer_writes(services, normal.id, "visitor-b", "hi")
    third = await customer_writes(services, urgent.id, "visitor-c", "hi")
    await settle(services, distribution)
    sent = [event.data["text"] for event in await services.store.events.all(
        {"interaction_id": third, "type": "outbound"})]
    assert sent == ["line: please hold.", "You are number 1 in the queue."]
    await cid.post(f"/api/agent/interactions/{first}/end")
    await settle(services, distribution)
    assert await assigned_to(services, third) == cid.user_id  # type: ignore[attr-defined]
    assert await assigned_to(services, second) is None


async def test_a_closed_queue_or_no_agent_logged_in_takes_no_agent(
    app, services, api, distribution
):
    entry_point = await support_line(services)
    dan = await agent(app, api, "dan@example.com")
    created = await api.post("/api/schedules", {"name": "never", "timezone": "UTC"})
    assert created.status_code == 201, created.json_body
    support = await queue(api, "support", [dan], schedule="never")
    await available(dan)
    closed = await customer_writes(services, entry_point.id, "visitor-1", "hi")
    await settle(services, distribution)
    events = await services.store.events.of_interaction(closed)
    refusal = next(event for event in events if event.type == "no_agent")
    assert refusal.data["reason"] == "closed"
    assert [e.data["text"] for e in events if e.type == "outbound"] == [
        "Sorry, no agent is available."]

    await api.patch(f"/api/queues/{support['id']}", {"schedule": None})
    await dan.post("/api/agent/status", {"status": "away"})
    nobody = await customer_writes(services, entry_point.id, "visitor-2", "hi")
    events = await services.store.events.of_interaction(nobody)
    assert next(e for e in events if e.type == "no_agent").data["reason"] == "no_agent_available"


async def test_a_wait_that_expires_takes_no_agent(app, services, api, distribution):
    entry_point = await support_line(services)
    eve = await agent(app, api, "eve@example.com", capacity=1)
    await queue(api, "support", [eve])
    await available(eve)
    await customer_writes(services, entry_point.id, "visitor-1", "hi")  # eve is now full
    await settle(services, distribution)
    waiting = await customer_writes(services, entry_point.id, "visitor-2", "hi")
    await settle(services, distribution)
    assert await assigned_to(services, waiting) is None
    past = utcnow() - timedelta(seconds=1)
    await services.store.interactions.collection.update_one(
        {"_id": waiting}, {"$set": {"waiting.until": past, "wake_at": past}})
    await services.runtime.wake_due()
    await settle(services, distribution)
    events = await services.store.events.of_interaction(waiting)
    assert [e.data.get("reason") for e in events if e.type == "no_agent"] == ["wait expired"]
    assert [e.data["text"] for e in events if e.type == "outbound"][-1] == (
        "Sorry, no agent is available.")
    entry = await distribution.entries.find(waiting)
    assert entry is not None and entry.state == "expired"


async def test_transfers_to_a_queue_and_to_an_agent(app, services, api, distribution):
    entry_point = await support_line(services)
    fay = await agent(app, api, "fay@example.com", capacity=2)
    gus = await agent(app, api, "gus@example.com", capacity=2)
    await queue(api, "support", [fay])
    await queue(api, "experts", [gus])
    await available(fay)
    await available(gus)
    interaction_id = await customer_writes(services, entry_point.id, "visitor-1", "hi")
    await settle(services, distribution)
    assert await assigned_to(services, interaction_id) == fay.user_id  # type: ignore[attr-defined]

    noted = await fay.post(f"/api/agent/interactions/{interaction_id}/notes",
                           {"text": "wants a refund"})
    assert noted.status_code == 201 and noted.json_body["agent"] == "fay@example.com"
    moved = await fay.post(f"/api/agent/interactions/{interaction_id}/transfer",
                           {"queue": "experts", "note": "an expert question"})
    assert moved.status_code == 200, moved.json_body
    await settle(services, distribution)
    assert await assigned_to(services, interaction_id) == gus.user_id  # type: ignore[attr-defined]
    assert (await fay.get("/api/agent/status")).json_body["load"] == 0
    context = await gus.get(f"/api/agent/interactions/{interaction_id}/context")
    assert [note["text"] for note in context.json_body["notes"]] == ["wants a refund"]
    assert context.json_body["contact"]["address"] == "visitor-1"
    assert (await fay.get(f"/api/agent/interactions/{interaction_id}/context")
            ).status_code == 404  # no longer hers
    assert (await fay.post(f"/api/agent/interactions/{interaction_id}/notes",
                           {"text": "x"})).status_code == 404

    back = await gus.post(f"/api/agent/interactions/{interaction_id}/transfer",
                          {"user": "fay@example.com"})
    assert back.status_code == 200, back.json_body
    assert await assigned_to(services, interaction_id) == fay.user_id  # type: ignore[attr-defined]
    assert (await gus.get("/api/agent/status")).json_body["load"] == 0
    assert (await fay.get("/api/agent/status")).json_body["load"] == 1

    await gus.post("/api/agent/status", {"status": "away"})
    refused = await fay.post(f"/api/agent/interactions/{interaction_id}/transfer",
                             {"user": "gus@example.com"})
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "unavailable"
    events = await services.store.events.of_interaction(interaction_id)
    kinds = [event.type for event in events]
    assert kinds.count("assigned") == 3 and kinds.count("transferred") == 2
    transfers = [event.data for event in events if event.type == "transferred"]
    assert [t.get("to_queue") or t.get("to_user_name") for t in transfers] == [
        "experts", "fay@example.com"]
    assert [t.get("note") for t in transfers] == ["an expert question", ""]
    await customer_writes(services, entry_point.id, "visitor-1", "still there?")
    assert (await services.store.interactions.find(interaction_id)).active


async def test_the_customer_closing_the_chat_frees_the_agent(app, services, api, distribution):
    entry_point = await support_line(services)
    hal = await agent(app, api, "hal@example.com")
    await queue(api, "support", [hal])
    await available(hal)
    client = app.test_client()
    async with client.websocket(f"/agent/ws?token={hal.token}") as console, \
            client.websocket(f"/chat/{entry_point.address}/ws?visitor=visitor-0002") as chat:
        await chat.send_json({"type": "message", "text": "hi", "id": "m1"})
        interaction_id = (await frame(console, "assigned"))["interaction_id"]
        await chat.send_json({"type": "end"})
        await frame(chat, "ended")
        ended = await frame(console, "ended")
        assert ended["interaction_id"] == interaction_id
        assert ended["reason"] == "closed by customer"
    await settle(services, distribution)
    assert (await hal.get("/api/agent/status")).json_body["load"] == 0
    assert (await event_types(services, interaction_id))[-1] == "end"


async def test_to_user_offers_the_conversation_to_one_agent(app, services, api, distribution):
    routing_id = await production_routing(services, "adviser", tree(
        action("offer", "to_user", {"user": "ivy@example.com"},
               answered="hello", unavailable="sorry"),
        action("hello", "message", {"text": "Your adviser is here."}),
        action("sorry", "message", {"text": "Your adviser is away."})))
    entry_point = await webchat_entry_point(services, routing_id)
    ivy = await agent(app, api, "ivy@example.com")
    away = await customer_writes(services, entry_point.id, "visitor-1", "hi")
    events = await services.store.events.of_interaction(away)
    assert [e.data["text"] for e in events if e.type == "outbound"] == ["Your adviser is away."]
    await available(ivy)
    taken = await customer_writes(services, entry_point.id, "visitor-2", "hi")
    await settle(services, distribution)
    assert await assigned_to(services, taken) == ivy.user_id  # type: ignore[attr-defined]
    events = await services.store.events.of_interaction(taken)
    assert [e.type for e in events if e.type in ("offered", "assigned")] == [
        "offered", "assigned"]


async def test_queues_crud(api, app):
    jo = await agent(app, api, "jo@example.com")
    created = await queue(api, "billing", [jo], max_wait_seconds=120,
                          waiting_message="Hold on, {{ contact.name }}")
    assert created["members"] == [jo.user_id] and created["waiting"] == 0  # type: ignore[attr-defined]
    listed = await api.get("/api/queues")
    assert [item["name"] for item in listed.json_body["items"]] == ["billing"]
    assert listed.json_body["next"] is None
    patched = await api.patch(f"/api/queues/{created['id']}",
                              {"priority_handling": "arrival", "announce_position": True})
    assert patched.status_code == 200, patched.json_body
    assert (patched.json_body["revision"], patched.json_body["priority_handling"]) == (
        1, "arrival")
    assert (await api.get(f"/api/queues/{created['id']}")).json_body["announce_position"]
    assert (await api.delete(f"/api/queues/{created['id']}")).status_code == 204
    assert (await api.get(f"/api/queues/{created['id']}")).status_code == 404
    openapi = await api.get("/openapi.json")
    assert "/api/queues" in openapi.json_body["paths"]
    assert "/api/agent/interactions/{interaction_id}/transfer" in openapi.json_body["paths"]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"name": ""}, 422, "name"),
    ({"name": "q", "max_wait_seconds": 5}, 422, "max_wait_seconds"),
    ({"name": "q", "members": ["nobody"]}, 422, "members"),
    ({"name": "q", "schedule": "missing"}, 422, "schedule"),
    ({"name": "q", "waiting_message": "{{ oops"}, 422, "waiting_message"),
    ({"name": "q", "colour": "red"}, 422, "colour"),
    ({"name": "q", "priority_handling": "random"}, 422, "priority_handling"),
])
async def test_bad_queues_are_refused(api, body, status, field):
    response = await api.post("/api/queues", body)
    assert response.status_code == status, response.json_body
    assert field in (response.json_body["error"].get("field") or "")


async def test_bad_agent_requests_are_refused(app, services, api, anonymous, distribution):
    entry_point = await support_line(services)
    kim = await agent(app, api, "kim@example.com")
    lee = await agent(app, api, "lee@example.com")
    await queue(api, "support", [kim])
    assert (await api.post("/api/queues", {"name": "support"})).status_code == 409
    await available(kim)
    interaction_id = await customer_writes(services, entry_point.id, "visitor-1", "hi")
    await settle(services, distribution)
    queue_id = (await api.get("/api/queues")).json_body["items"][0]["id"]
    path = f"/api/agent/interactions/{interaction_id}"
    assert (await anonymous.get("/api/agent/interactions")).status_code == 401
    assert (await api.get("/api/queues/unknown")).status_code == 404
    assert (await kim.get("/api/queues")).status_code == 403  # agents do not manage queues
    assert (await kim.post("/api/agent/status", {"status": "busy"})).status_code == 422
    assert (await kim.post("/api/agent/status", {})).status_code == 422
    assert (await kim.post(f"{path}/messages", {"text": ""})).status_code == 422
    assert (await kim.post(f"{path}/messages", {"text": "x" * 4097})).status_code == 422
    malformed = await kim.client.post(f"{path}/messages", data=b"{not json", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {kim.token}"})
    assert malformed.status_code == 400
    assert (await lee.post(f"{path}/messages", {"text": "hi"})).status_code == 404
    assert (await lee.post(f"{path}/end")).status_code == 404
    assert (await kim.post("/api/agent/interactions/nope/end")).status_code == 404
    assert (await kim.post(f"{path}/transfer", {})).status_code == 422
    assert (await kim.post(f"{path}/transfer", {"queue": "support", "user": "x"})
            ).status_code == 422
    assert (await kim.post(f"{path}/transfer", {"queue": "nowhere"})).status_code == 422
    assert (await kim.post(f"{path}/transfer", {"user": "kim@example.com"})).status_code == 422
    assert (await kim.post(f"{path}/transfer", {"user": "nobody@example.com"})
            ).status_code == 422
    busy = await customer_writes(services, entry_point.id, "visitor-2", "hi")
    await settle(services, distribution)
    assert await assigned_to(services, busy) is None
    assert (await api.delete(f"/api/queues/{queue_id}")).status_code == 409
    assert (await kim.post(f"{path}/end")).status_code == 200
    again = await kim.post(f"{path}/end")
    assert (again.status_code, again.json_body["error"]["code"]) == (409, "ended")
    async with app.test_client().websocket("/agent/ws?token=wrong") as socket:
        with pytest.raises(Exception):  # noqa: B017  (refused before the handshake)
            await asyncio.wait_for(socket.receive_json(), 5)


async def test_inactivity_expiry_ends_a_held_conversation_and_frees_the_agent(
    app, services, api, distribution
):
    entry_point = await support_line(services, end_routing=True)
    max_ = await agent(app, api, "max@example.com")
    await queue(api, "support", [max_])
    await available(max_)
    interaction_id = await customer_writes(services, entry_point.id, "visitor-1", "hi")
    await settle(services, distribution)
    assert await assigned_to(services, interaction_id) == max_.user_id  # type: ignore[attr-defined]
    past = utcnow() - timedelta(seconds=1)
    await services.store.interactions.collection.update_one(
        {"_id": interaction_id}, {"$set": {"expires_at": past, "wake_at": past}})
    await services.runtime.wake_due()
    await settle(services, distribution)
    ended = await services.store.interactions.find(interaction_id)
    assert (ended.active, ended.end_reason) == (False, "inactivity")
    assert (await max_.get("/api/agent/status")).json_body["load"] == 0
    assert (await services.store.interactions.find_one({"kind": "end"})) is not None


async def test_a_claim_lost_with_its_process_is_delivered_and_stale_capacity_returns(
    app, services, api, distribution, monkeypatch
):
    """The process that claimed a conversation dies before telling it: the sweeper of any
    process delivers the claim; a reservation nobody uses any more is given back."""
    entry_point = await support_line(services)
    ned = await agent(app, api, "ned@example.com", capacity=2)
    await queue(api, "support", [ned])
    await available(ned)

    async def dies(entry: Any) -> bool:
        return False

    monkeypatch.setattr(distribution, "deliver", dies)
    interaction_id = await customer_writes(services, entry_point.id, "visitor-1", "hi")
    await settle(services, distribution)
    entry = await distribution.entries.find(interaction_id)
    assert entry is not None and entry.state == "claimed"
    assert await assigned_to(services, interaction_id) is None
    monkeypatch.undo()

    long_ago = utcnow() - timedelta(minutes=5)
    await distribution.entries.collection.update_one(
        {"_id": interaction_id}, {"$set": {"claimed_at": long_ago}})
    ned_id = ned.user_id  # type: ignore[attr-defined]
    await distribution.agents.collection.update_one({"_id": ned_id}, {"$push": {"held": {
        "interaction": "gone", "token": "stale", "at": long_ago}}})
    await distribution.agents.collection.update_one(
        {"_id": ned_id}, {"$set": {"held.0.at": long_ago}})
    distribution._next_reconcile = utcnow() - timedelta(seconds=1)
    await distribution.run_pass()
    await settle(services, distribution)
    assert await assigned_to(services, interaction_id) == ned_id
    state = await distribution.agents.state_of(ned_id)
    assert [item.interaction for item in state.held] == [interaction_id]
    assert (await event_types(services, interaction_id)).count("assigned") == 1


async def test_an_agent_whose_console_went_silent_is_set_away(app, services, api,
                                                              distribution):
    """Presence: an agent who closed the console stops receiving conversations after the
    grace; one whose console is open stays available, and so does an agent who works
    through the API alone."""
    entry_point = await support_line(services)
    gone = await agent(app, api, "gone@example.com", queues=["support"])
    here = await agent(app, api, "here@example.com", queues=["support"])
    bare = await agent(app, api, "bare@example.com", queues=["support"])
    await queue(api, "support", [gone, here, bare])
    for client in (gone, here, bare):
        await available(client)
    client = app.test_client()
    async with client.websocket(f"/agent/ws?token={gone.token}") as console:
        await console.send_json({"type": "ping"})
        assert (await asyncio.wait_for(console.receive_json(), 5))["type"] == "pong"
    later = utcnow() + timedelta(seconds=PRESENCE_GRACE_SECONDS + 1)
    async with client.websocket(f"/agent/ws?token={here.token}") as console:
        await console.send_json({"type": "ping"})
        await asyncio.wait_for(console.receive_json(), 5)
        await distribution.presence.seen(here.user_id)  # what its beat does meanwhile
        await services.store.database["agent_states"].update_one(
            {"_id": here.user_id}, {"$set": {"console_seen_at": later}})
        assert await distribution.presence.away_when_absent(later) == [gone.user_id]
        assert await distribution.presence.away_when_absent(later) == []  # once
    statuses = {client.user_id: (await client.get("/api/agent/status")).json_body["status"]
                for client in (gone, here, bare)}
    assert statuses == {gone.user_id: "away", here.user_id: "available",
                        bare.user_id: "available"}
    user = (await api.get(f"/api/users/{gone.user_id}")).json_body
    assert user["agent"]["status"] == "away"
    await services.runtime.receive(Inbound(
        channel=Channel.webchat, entry_point_id=entry_point.id, contact="visitor-0009",
        provider_id="p1", text="hi"), wait=True)
    await settle(services, distribution)
    held = await services.store.interactions.all({"contact": "visitor-0009"})
    assert held[0].agent_id in (here.user_id, bare.user_id)


async def test_a_customer_message_processed_by_another_process_reaches_the_console(
    app, services, api, distribution
):
    """The customer's next message lands on another process (its own runtime): the agent's
    console, open on this one, gets it live through the change stream relay."""
    entry_point = await support_line(services)
    ada = await agent(app, api, "ada@example.com")
    await queue(api, "support", [ada])
    await available(ada)
    other_process = Runtime(services.store, Ports(), Delivery(LocalHub()),
                            RuntimeSettings(sweep_seconds=3600))
    client = app.test_client()
    async with client.websocket(f"/agent/ws?token={ada.token}") as console, \
            client.websocket(f"/chat/{entry_point.address}/ws?visitor=visitor-0005") as chat:
        await frame(chat, "history")
        await chat.send_json({"type": "message", "text": "Hello", "id": "m1"})
        interaction_id = (await frame(console, "assigned"))["interaction_id"]
        await settle(services, distribution)
        await other_process.receive(Inbound(
            channel=Channel.webchat, entry_point_id=entry_point.id, contact="visitor-0005",
            provider_id="elsewhere-1", text="Sent through the other process"), wait=True)
        message = await frame(console, "message")
        assert (message["interaction_id"], message["text"]) == (
            interaction_id, "Sent through the other process")


async def test_the_console_socket_opens_only_from_this_service_s_pages(app, services, api):
    """A page of another origin (another port of the same host) cannot ride the agent's
    session; the service's own page and clients that are no browser can."""
    await api.post("/api/users", json={"email": "origin-agent@example.com",
                                       "password": "a long enough password",
                                       "roles": ["agent"]})
    agent = await login(app, "origin-agent@example.com", "a long enough password")
    client = app.test_client()
    path = f"/agent/ws?token={agent.token}"
    with pytest.raises(WebsocketDisconnectError) as refused:
        async with client.websocket(path, headers={"Origin": "http://localhost:6666"}) as socket:
            await socket.receive()
    assert refused.value.args[0] == 4403
    for headers in ({"Origin": "http://localhost"}, {}):  # this host; no browser
        async with client.websocket(path, headers=headers) as socket:
            await socket.send_json({"type": "ping"})
            assert json.loads(await socket.receive())["type"] == "pong"


async def one_agent_on_support(app: Any, services: Any, api: Api, email: str) -> tuple[Any, Api]:
    """The support line, and one available agent in its queue."""
    entry_point = await support_line(services)
    member = await agent(app, api, email)
    await queue(api, "support", [member])
    await available(member)
    return entry_point, member


async def test_the_visitor_sees_the_agent_typing_and_other_processes_relay_it(
    app, services, api, distribution
):
    entry_point, ivy = await one_agent_on_support(app, services, api, "ivy@example.com")
    async with app.test_client().websocket(
            f"/chat/{entry_point.address}/ws?visitor=visitor-typing") as socket:
        await receive(socket, "history")
        await socket.send_json({"type": "message", "text": "help", "id": "m1"})
        await settle(services, distribution)
        [interaction] = await services.store.interactions.all({"contact": "visitor-typing"})
        assert interaction.agent_id == ivy.user_id  # type: ignore[attr-defined]
        typing = await ivy.post(f"/api/agent/interactions/{interaction.id}/typing")
        assert typing.status_code == 204
        assert await receive(socket, "typing") == {"type": "typing", "from": "agent"}
        [signal] = await services.store.signals.all({})  # for the other processes' sockets
        assert (signal.type, signal.contact) == ("typing", "visitor-typing")
        elsewhere = signal.model_copy(update={"id": "typing:elsewhere", "origin": "another"})
        await services.store.signals.insert(elsewhere)  # an agent served by another process
        assert await receive(socket, "typing") == {"type": "typing", "from": "agent"}
    stranger = await agent(app, api, "joe@example.com")
    assert (await stranger.post(f"/api/agent/interactions/{interaction.id}/typing")
            ).status_code == 404


async def test_an_agent_sends_a_photo_by_its_signed_address(
    app, services, api, distribution
):
    entry_point, kim = await one_agent_on_support(app, services, api, "kim@example.com")
    png = b"\x89PNG a photo of the parcel"

    async def send_file(interaction_id: str, data: bytes, name: str, kind: str) -> Any:
        return await kim.client.post(
            f"/api/agent/interactions/{interaction_id}/files",
            headers={"Authorization": f"Bearer {kim.token}"}, form={"text": "Here it is"},
            files={"file": FileStorage(io.BytesIO(data), filename=name, content_type=kind)})

    async with app.test_client().websocket(
            f"/chat/{entry_point.address}/ws?visitor=visitor-photo") as socket:
        await receive(socket, "history")
        await socket.send_json({"type": "message", "text": "where is it?", "id": "m1"})
        await settle(services, distribution)
        [interaction] = await services.store.interactions.all({"contact": "visitor-photo"})
        refused = await send_file(interaction.id, b"MZ", "tool.exe", "application/x-msdownload")
        assert refused.status_code == 422
        assert "cannot be sent" in (await refused.get_json())["error"]["message"]
        sent = await send_file(interaction.id, png, "parcel.png", "image/png")
        assert sent.status_code == 201
        frame = await receive(socket)
        while frame.get("from") != "agent":  # the bot's messages before it
            frame = await receive(socket)
        assert frame["text"] == "Here it is"
        address = urlsplit(frame["media_url"])
        assert address.path.startswith("/media/files/")
        fetched = await app.test_client().get(address.path)  # no account: a provider, a visitor
        assert fetched.status_code == 200 and await fetched.get_data() == png
        forged = await app.test_client().get(address.path[:-4] + "0000")
        assert forged.status_code == 404
        outbound = await services.store.events.get((await sent.get_json())["id"])
        assert outbound.data["media_kind"] == "image"


async def test_the_agent_sees_when_the_web_chat_visitor_read_the_answer(
    app, services, api, distribution
):
    """The widget says ``read`` when the visitor has the page in front; the agent holding
    the conversation sees "read" on what was sent until then, at once, whichever process
    their console is on; reads said too often write nothing more."""
    entry_point, rea = await one_agent_on_support(app, services, api, "rea@example.com")
    client = app.test_client()
    async with client.websocket(f"/agent/ws?token={rea.token}") as console, \
            client.websocket(f"/chat/{entry_point.address}/ws?visitor=visitor-reads") as chat:
        await frame(chat, "history")
        await chat.send_json({"type": "message", "text": "Hello", "id": "m1"})
        interaction_id = (await frame(console, "assigned"))["interaction_id"]
        reply = await rea.post(f"/api/agent/interactions/{interaction_id}/messages",
                               {"text": "How can I help?"})
        sent = await frame(console, "sent")
        assert sent["event"]["status"] == "sent"
        while (await frame(chat, "message"))["text"] != "How can I help?":
            pass
        await chat.send_json({"type": "read"})
        read = await frame(console, "read")
        assert read["interaction_id"] == interaction_id
        assert read["until"] >= sent["event"]["at"]
        answer = await services.store.events.get(reply.json_body["id"])
        assert answer.status.value == "read" and "read" in answer.reports
        bot_messages = await services.store.events.all(
            {"interaction_id": interaction_id, "type": "outbound"})
        assert {event.status.value for event in bot_messages} == {"read"}

        await chat.send_json({"type": "read"})  # again at once: nothing new, nothing written
        await chat.send_json({"type": "bogus"})
        assert "read" in (await frame(chat, "error"))["message"]
        assert len(await services.store.signals.all({"type": "read"})) == 1
