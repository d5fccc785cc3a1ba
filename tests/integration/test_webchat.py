"""The web chat channel through the app's WebSocket, against a real mongod."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from quart.testing.connections import WebsocketDisconnectError

from bots.webchat_keys import WebChatKeys
from routing_core.model.interaction import Channel, Inbound
from tests.support.routings import action, production_routing, tree, webchat_entry_point

FAVOURITE = tree(
    action("ask", "message_choice", {
        "text": "Tea or coffee?",
        "choices": [{"label": "Tea", "value": "tea", "branch": "tea"},
                    {"label": "Coffee", "value": "coffee", "branch": "coffee"}],
    }, tea="age", coffee="bye"),
    action("age", "message_wait", {"text": "How old are you?", "into": "age",
                                   "validate": "number", "retries": 1,
                                   "retry_text": "A number, please."},
           answered="said", invalid="bye"),
    action("said", "message", {"text": "{{ vars.age }} is a fine age for tea."}, next="bye"),
    action("bye", "message", {"text": "Bye!"}),
)


async def receive(socket: Any, kind: str = "message") -> dict[str, Any]:
    while True:
        frame = await asyncio.wait_for(socket.receive_json(), 5)
        if frame["type"] == kind:
            return frame


async def test_a_visitor_talks_to_a_routing(app, services):
    routing_id = await production_routing(services, "drinks", FAVOURITE)
    await webchat_entry_point(services, routing_id)
    client = app.test_client()
    entry_point = await services.store.entry_points.find_one({"address": "web"})
    async with client.websocket("/chat/web/ws?visitor=visitor-0001") as socket:
        first = await receive(socket, "history")
        assert first["messages"] == [] and len(first["key"]) >= 32  # the visitor's key
        await socket.send_json({"type": "message", "text": "hello", "id": "m1"})
        assert (await receive(socket, "ack"))["id"] == "m1"
        question = await receive(socket)
        assert question["text"] == "Tea or coffee?"
        assert [c["value"] for c in question["choices"]] == ["tea", "coffee"]
        await socket.send_json({"type": "choice", "value": "tea", "id": "m2"})
        assert (await receive(socket))["text"] == "How old are you?"
        await socket.send_json({"type": "message", "text": "old", "id": "m3"})
        assert (await receive(socket))["text"] == "A number, please."
        await socket.send_json({"type": "message", "text": "42", "id": "m4"})
        assert (await receive(socket))["text"] == "42 is a fine age for tea."
        last = await receive(socket)
        assert last["text"] == "Bye!" and last["from"] == "bot"
        assert await receive(socket, "ended") == {"type": "ended", "reason": "end of tree"}
    await services.runtime.idle()
    interactions = await services.store.interactions.all({"contact": "visitor-0001"})
    assert [i.status for i in interactions] == ["ended"]
    assert interactions[0].variables == {"age": 42}
    events = await services.store.events.of_interaction(interactions[0].id)
    kinds = [event.type for event in events]
    assert kinds.count("inbound") == 4 and kinds.count("outbound") == 5
    assert kinds[-1] == "end"
    # frames name no internal id: seq is opaque
    for internal in (interactions[0].id, entry_point.id, *(event.id for event in events)):
        assert internal not in json.dumps(question)
    # a reconnecting socket asking for what it missed after the question gets the rest
    path = f"/chat/web/ws?visitor=visitor-0001&key={first['key']}&after={question['seq']}"
    async with client.websocket(path) as socket:
        texts = [(await receive(socket))["text"] for _ in range(4)]
    assert texts == ["How old are you?", "A number, please.", "42 is a fine age for tea.", "Bye!"]
    # a page opened again shows the conversation, and that it ended
    async with client.websocket(f"/chat/web/ws?visitor=visitor-0001&key={first['key']}"
                                ) as socket:
        again = await receive(socket, "history")
    assert again["ended"] is True and again["messages"][-1]["text"] == "Bye!"
    # with the visitor id alone (which agents and lists show), nobody reads or writes as them
    someone_elses = await keyed_history(client, "visitor-9999", "")
    for key in ("", "wrong-key-of-the-right-length-1234", someone_elses):
        async with client.websocket(f"/chat/web/ws?visitor=visitor-0001&key={key}") as socket:
            with pytest.raises(WebsocketDisconnectError) as refused:
                await socket.receive_json()
        assert refused.value.args == (4401,)


async def keyed_history(client: Any, visitor: str, key: str) -> str:
    """The key a new visitor is given."""
    async with client.websocket(f"/chat/web/ws?visitor={visitor}&key={key}") as socket:
        return str((await receive(socket, "history"))["key"])


async def test_a_message_committed_by_another_process_reaches_the_open_socket(app, services):
    """The pause's timer fires in another process (another runtime, its clock a minute
    ahead): its message, and the conversation's end, come to this process's socket
    through the change stream relay."""
    from datetime import UTC, datetime, timedelta

    from routing_core.engine.delivery import Delivery, LocalHub
    from routing_core.engine.runtime import Runtime, RuntimeSettings
    from routing_core.ports.world import Ports

    routing_id = await production_routing(services, "later", tree(
        action("first", "message", {"text": "Back in a minute."}, next="nap"),
        action("nap", "pause", {"seconds": 60}, next="back"),
        action("back", "message", {"text": "Here I am."})))
    await webchat_entry_point(services, routing_id, address="later")
    other_process = Runtime(
        services.store, Ports(), Delivery(LocalHub()), RuntimeSettings(sweep_seconds=3600),
        clock=lambda: datetime.now(UTC) + timedelta(seconds=61),
    )
    async with app.test_client().websocket("/chat/later/ws?visitor=visitor-relay") as socket:
        await receive(socket, "history")
        await socket.send_json({"type": "message", "text": "hi"})
        assert (await receive(socket))["text"] == "Back in a minute."
        await services.runtime.idle()
        assert await other_process.wake_due() == 1
        await other_process.idle()
        assert (await receive(socket))["text"] == "Here I am."
        # the other process ended the conversation: the widget learns it the same way
        assert (await receive(socket, "ended"))["reason"] == "end of tree"


ECHO = tree(
    action("ask", "message_wait", {"text": "Say?", "into": "said"}, answered="echo"),
    action("echo", "message", {"text": "echo {{ vars.said }}"}, next="ask"),
)


async def test_a_long_conversation_s_history_is_its_latest_messages(app, services):
    """Past the history's limit, a reconnecting visitor sees the end of the conversation,
    not its beginning; an agent's view of it is its latest events too."""
    routing_id = await production_routing(services, "echo", ECHO)
    entry_point = await webchat_entry_point(services, routing_id)
    for number in range(140):  # 140 inbound + 281 outbound: past what was read before
        await services.runtime.receive(Inbound(
            channel=Channel.webchat, entry_point_id=entry_point.id, contact="visitor-talker",
            provider_id=f"m{number}", text=f"line {number}"), wait=True)
    key = WebChatKeys(services.settings.secret_key).visitor_key(entry_point.id, "visitor-talker")
    path = f"/chat/web/ws?visitor=visitor-talker&key={key}"
    async with app.test_client().websocket(path) as socket:
        history = (await receive(socket, "history"))["messages"]
    assert len(history) == 100
    assert [m["text"] for m in history[-3:]] == ["line 139", "echo line 139", "Say?"]
    interaction = (await services.store.interactions.all({"contact": "visitor-talker"}))[0]
    everything = await services.store.events.of_interaction(interaction.id)
    latest = await services.store.events.latest_of_interactions([interaction.id, "none"], 7)
    assert latest == {interaction.id: everything[-7:], "none": []}
