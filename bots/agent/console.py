"""The live side of the agent console: a hub of the sockets open in this process.

The hub follows ``Runtime.on_committed``: whatever a commit in *this* process records
about a conversation held by an agent becomes a frame on that agent's sockets —
``assigned`` (with the conversation and its history), ``message`` (the customer wrote),
``sent`` (a message went to the customer: the bot's, or the agent's from another tab),
``transferred`` (to the agent who gave it away) and ``ended``.

Several service processes: a commit made in another process (the customer's socket, or
the sweeper that assigned the conversation, lives there) does not reach the sockets of
this one. The console therefore also polls ``GET /api/agent/interactions`` every few
seconds and merges what it finds; the socket makes it instant when both ends share a
process. A shared bus (MongoDB change streams on ``events``) would remove the delay.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from pydantic_core import to_jsonable_python

from admin.schemas.queues import AgentInteractionOut
from routing_core.contact_centre.agent_desk import HISTORY_LIMIT
from routing_core.model.interaction import Event, Interaction
from routing_core.store import Store

log = logging.getLogger(__name__)
Frame = dict[str, Any]
MAX_QUEUED_FRAMES = 1000


def summary(interaction: Interaction) -> Frame:
    """The conversation as frames name it (the ``assigned`` frame adds its events)."""
    return {
        "id": interaction.id, "channel": interaction.channel.value,
        "entry_point_id": interaction.entry_point_id, "contact": interaction.contact,
        "contact_name": interaction.contact_name, "queue_id": interaction.queue_id,
        "agent_id": interaction.agent_id, "status": interaction.status.value,
    }


class AgentHub:
    """The agent console sockets open in this process, by agent (user) id."""

    def __init__(self, store: Store):
        self.store = store
        self._sockets: dict[str, set[asyncio.Queue[Frame]]] = defaultdict(set)

    def subscribe(self, agent_id: str) -> asyncio.Queue[Frame]:
        queue: asyncio.Queue[Frame] = asyncio.Queue(MAX_QUEUED_FRAMES)
        self._sockets[agent_id].add(queue)
        return queue

    def unsubscribe(self, agent_id: str, queue: asyncio.Queue[Frame]) -> None:
        self._sockets[agent_id].discard(queue)
        if not self._sockets[agent_id]:
            del self._sockets[agent_id]

    def watching(self, agent_id: str | None) -> bool:
        return bool(agent_id) and agent_id in self._sockets

    def publish(self, agent_id: str, frame: Frame) -> None:
        for queue in self._sockets.get(agent_id, ()):
            try:
                queue.put_nowait(frame)
            except asyncio.QueueFull:  # a stalled socket: it catches up by polling
                log.warning("agent %s: a console socket is not reading; frame dropped",
                            agent_id)

    # what another process's commit must carry to concern an agent (see ``relayed``)
    RELAYED = {"$or": [{"agent_id": {"$ne": None}},
                       {"type": {"$in": ["assigned", "transferred"]}}]}

    async def relayed(self, event: Event) -> None:
        """An event committed by another process: frames for the agents watching here."""
        concerned = (event.agent_id, event.data.get("agent"), event.data.get("from_agent"))
        if any(self.watching(agent_id) for agent_id in concerned):
            interaction = await self.store.interactions.find(event.interaction_id)
            if interaction is not None:
                await self.on_committed(interaction, [event])

    async def on_committed(self, interaction: Interaction, events: list[Event]) -> None:
        """Turn a commit's events into frames for the agents watching (cheap otherwise)."""
        for event in events:
            holder = event.agent_id or interaction.agent_id
            if event.type == "assigned" and self.watching(event.data.get("agent")):
                await self._assigned(event.data["agent"], interaction)
            elif event.type == "transferred" and self.watching(event.data.get("from_agent")):
                self.publish(event.data["from_agent"], {
                    "type": "transferred", "interaction": summary(interaction),
                    "interaction_id": interaction.id,
                    "to": event.data.get("to_queue") or event.data.get("to_user_name"),
                })
            elif not self.watching(holder) or holder is None:
                continue
            elif event.type == "inbound":
                self.publish(holder, {
                    "type": "message", "interaction": summary(interaction),
                    "interaction_id": interaction.id, "text": event.data.get("text", ""),
                    "event": self._event(event),
                })
            elif event.type == "outbound":
                self.publish(holder, {
                    "type": "sent", "interaction": summary(interaction),
                    "interaction_id": interaction.id, "text": event.data.get("text", ""),
                    "event": self._event(event),
                })
            elif event.type == "read":  # the customer read what was sent until then
                until = event.data.get("until")
                self.publish(holder, {
                    "type": "read", "interaction_id": interaction.id,
                    "until": until.isoformat() if hasattr(until, "isoformat") else until,
                })
            elif event.type == "end":
                self.publish(holder, {
                    "type": "ended", "interaction": summary(interaction),
                    "interaction_id": interaction.id, "reason": event.data.get("reason"),
                })

    async def _assigned(self, agent_id: str, interaction: Interaction) -> None:
        events = await self.store.events.latest_of_interaction(interaction.id, HISTORY_LIMIT)
        view = AgentInteractionOut.of(interaction, events).model_dump(mode="json")
        self.publish(agent_id, {"type": "assigned", "interaction": view,
                                "interaction_id": interaction.id})

    @staticmethod
    def _event(event: Event) -> Frame:
        return {"id": event.id, "type": event.type, "at": event.at.isoformat(),
                "status": event.status.value if event.status else None,
                "data": to_jsonable_python(event.data)}
