"""The agent console: ``GET /agent`` (the page) and ``WS /agent/ws`` (live frames).

The page is static HTML with its own script and style: it logs the agent in through
``POST /api/auth/login`` (or uses an existing admin session), then talks to the
``/api/agent`` endpoints and listens on the socket. The socket authenticates with
``?token=`` or the session cookie and needs the ``agent:console`` permission; the server
sends ``{type: "assigned" | "message" | "sent" | "transferred" | "ended", interaction,
interaction_id, ...}`` (see ``console.AgentHub``) and answers ``{type: "ping"}`` with
``{type: "pong"}``. An open socket is the agent's presence: when every console of an
available agent has been closed for a minute, distribution sets them away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, cast

from pymongo.errors import PyMongoError
from quart import Blueprint, Quart, current_app, render_template, websocket

from bots.agent.console import AgentHub
from bots.origins import same_origin_socket, socket_user
from routing_core.contact_centre.agent_desk import AgentDesk
from routing_core.contact_centre.distribution import Distribution
from routing_core.contact_centre.presence import PRESENCE_BEAT_SECONDS
from routing_core.engine.relay import EventRelay
from routing_core.model.users import AGENT_CONSOLE
from routing_core.services import Services

blueprint = Blueprint(
    "agent_console", __name__, template_folder="templates", static_folder="static",
    static_url_path="/agent/static",
)


async def install(app: Quart, built: Services) -> Distribution:
    """Distribution for this process (before the runtime starts, so that no interaction
    woken at start-up finds its port missing), and the console hub fed by commits."""
    distribution = Distribution(built.store, built.runtime).install()
    await distribution.ensure_indexes()
    hub = AgentHub(built.store)
    built.runtime.on_committed(hub.on_committed)
    built.relays.append(EventRelay("agent console frames", built.store, built.runtime.owner,
                                   AgentHub.RELAYED, hub.relayed))
    built.relays.append(EventRelay("customers' reads", built.store, built.runtime.owner,
                                   {"type": "read"}, hub.relayed,
                                   collection=built.store.signals.collection))
    app.extensions["agent_hub"] = hub
    app.extensions["agent_desk"] = AgentDesk(distribution)
    return distribution


@blueprint.get("/agent")
async def console_page() -> Any:
    return await render_template("agent/console.html")


@blueprint.websocket("/agent/ws")
async def console_socket() -> None:
    if not same_origin_socket():
        await websocket.close(4403, "this console opens only from this service's pages")
        return
    user = await socket_user(AGENT_CONSOLE)
    if user is None:
        await websocket.close(4401, "log in as an agent: ?token=<token> or the session")
        return
    await websocket.accept()
    hub = cast(AgentHub, current_app.extensions["agent_hub"])
    frames = hub.subscribe(user.id)
    helpers = [asyncio.create_task(_forward(frames)), asyncio.create_task(_beat(user.id))]
    try:
        while True:
            raw = await websocket.receive()
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                if json.loads(raw).get("type") == "ping":
                    await websocket.send_json({"type": "pong"})
    finally:
        for helper in helpers:
            helper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await helper
        hub.unsubscribe(user.id, frames)


async def _beat(agent_id: str) -> None:
    """The agent is present while a console socket is open (in any process)."""
    distribution = cast(Distribution, current_app.extensions["distribution"])
    while True:
        with contextlib.suppress(PyMongoError):  # an outage: the next beat tries again
            await distribution.presence.seen(agent_id)
        await asyncio.sleep(PRESENCE_BEAT_SECONDS)


async def _forward(frames: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await websocket.send_json(await frames.get())
