"""Agents' presence: the status an agent sets, and the beat of their open consoles.

An open console beats every ``PRESENCE_BEAT_SECONDS``; when every console of an available
agent has been silent for ``PRESENCE_GRACE_SECONDS`` (the browser was closed, the machine
slept), any process sets the agent away, so nothing more is given to them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from routing_core.infra.clock import in_mongo_precision, utcnow
from routing_core.model.queues import AgentState
from routing_core.model.users import AgentStatus
from routing_core.store import Store
from routing_core.store.queues import AgentStateRepository

PRESENCE_BEAT_SECONDS = 20.0
PRESENCE_GRACE_SECONDS = 60.0


class Presence:
    """Where an agent's status lives: the agent state (what distribution reads) and the
    user's profile (what pages show) agree."""

    def __init__(
        self, store: Store, agents: AgentStateRepository, clock: Callable[[], datetime] = utcnow
    ):
        self.store = store
        self.agents = agents
        self.clock = clock

    async def set_status(self, agent_id: str, status: AgentStatus) -> AgentState:
        state = await self.agents.set_status(agent_id, status, in_mongo_precision(self.clock()))
        await self._show_status(agent_id, status)
        return state

    async def seen(self, agent_id: str) -> None:
        """A console of the agent is open (called on opening and every beat)."""
        await self.agents.seen(agent_id, in_mongo_precision(self.clock()))

    async def away_when_absent(self, now: datetime) -> list[str]:
        """Available agents whose consoles all went silent are set away; their ids."""
        before = now - timedelta(seconds=PRESENCE_GRACE_SECONDS)
        gone = []
        for agent_id in await self.agents.absent(before):
            if await self.agents.step_away(agent_id, before, in_mongo_precision(now)):
                await self._show_status(agent_id, AgentStatus.away)
                gone.append(agent_id)
        return gone

    async def _show_status(self, agent_id: str, status: AgentStatus) -> None:
        """The user's profile shows the status the agent state holds."""
        await self.store.users.collection.update_one(
            {"_id": agent_id, "agent": {"$type": "object"}},
            {"$set": {"agent.status": status.value}},
        )

