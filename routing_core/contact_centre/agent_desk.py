"""What an agent does with a conversation given to them: read it, answer, transfer it to a
queue or a colleague, end it. Each change runs under the interaction's lease
(``Runtime.apply``) and is refused when the conversation is no longer the agent's."""

from __future__ import annotations

from datetime import datetime, timedelta

from routing_core.actions.context import Journal
from routing_core.contact_centre.distribution import Distribution
from routing_core.engine.interpreter import Activation
from routing_core.engine.runtime import Operation
from routing_core.infra.clock import in_mongo_precision
from routing_core.infra.errors import Conflict, Invalid, NotFound, Words
from routing_core.infra.ids import new_id
from routing_core.model.interaction import Channel, Event, Interaction
from routing_core.model.queues import (
    EntryState,
    QueueEntry,
)
from routing_core.model.users import AgentProfile, User

HISTORY_LIMIT = 500  # the latest events an agent sees of a conversation


class AgentDesk:
    """The agent's side of distribution; built over the process's ``Distribution``."""

    def __init__(self, distribution: Distribution):
        self.distribution = distribution
        self.store = distribution.store
        self.runtime = distribution.runtime
        self.entries = distribution.entries
        self.agents = distribution.agents

    async def held(self, agent_id: str, interaction_id: str) -> Interaction:
        """The agent's conversation; NotFound when it is not theirs, Conflict once ended."""
        interaction = await self.store.interactions.find(interaction_id)
        if interaction is None or interaction.agent_id != agent_id:
            raise NotFound(Words(
                "no conversation %(interaction_id)r is assigned to you",
                interaction_id=interaction_id))
        if not interaction.active:
            raise Conflict("the conversation has ended", code="ended")
        return interaction

    async def conversations_of(self, agent_id: str) -> list[tuple[Interaction, list[Event]]]:
        """The agent's active conversations, oldest first, each with its events."""
        ids = [entry.id for entry in await self.entries.held_by(agent_id)]
        interactions = await self.store.interactions.all(
            {"_id": {"$in": ids}, "agent_id": agent_id, "active": True}
        )
        events = await self.store.events.latest_of_interactions(
            [interaction.id for interaction in interactions], HISTORY_LIMIT)
        return [(interaction, events[interaction.id]) for interaction in interactions]

    async def _as_agent(
        self, agent: User, interaction_id: str, change: Operation, refusal: str
    ) -> None:
        """Run ``change`` on the agent's conversation under its lease; Conflict when it was
        no longer theirs by then."""
        await self.held(agent.id, interaction_id)
        done: list[bool] = []

        async def checked(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            if interaction.agent_id != agent.id:
                return Activation()
            done.append(True)
            return await change(interaction, journal, now)

        await self.runtime.apply(interaction_id, checked)
        if not done:
            raise Conflict(refusal, code="not_yours")

    async def send_message(self, agent: User, interaction_id: str, text: str,
                           media_url: str | None = None, media_kind: str | None = None) -> Event:
        """The agent's reply, sent on the customer's channel through the outbox; refused
        while the customer has opted out of messages (they have to opt back in)."""
        if (await self.held(agent.id, interaction_id)).opted_out:
            raise Conflict("the customer opted out of messages (STOP): nothing can be sent "
                           "until they opt back in", code="opted_out")
        sent: list[Event] = []

        async def post(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            event = journal.outbound(None, text, media_url=media_url, agent=agent.id,
                                     agent_name=agent.email)
            if media_url and media_kind:  # a document is sent as one, not as a photo
                event.data["media_kind"] = media_kind
            sent.append(event)
            return Activation()

        await self._as_agent(agent, interaction_id, post, "the conversation is no longer yours")
        return sent[0]

    async def end(self, agent: User, interaction_id: str) -> None:
        """End the conversation; the entry point's end routing follows."""

        async def finish(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            journal.add("ended", None, agent=agent.id, agent_name=agent.email, by="agent")
            return Activation(ended=True, reason="ended by agent")

        await self._as_agent(agent, interaction_id, finish, "the conversation is no longer yours")
        await self.distribution.release_ended(interaction_id, agent.id)

    async def typing(self, agent: User, interaction_id: str) -> None:
        """Show the customer that the agent is typing: a signal for the web chat sockets
        (of any process: ``signals``), a chat action for Telegram and Messenger. Best
        effort: a provider that refuses changes nothing for the conversation."""
        interaction = await self.held(agent.id, interaction_id)
        now = self.distribution.clock()
        if interaction.channel is Channel.webchat:
            signal = Event(id=f"typing:{interaction.id}:{new_id()}",
                           interaction_id=interaction.id, at=now, type="typing",
                           data={"agent": agent.id}, origin=self.runtime.owner,
                           channel=interaction.channel, entry_point_id=interaction.entry_point_id,
                           contact=interaction.contact)
            self.runtime.delivery.hub.publish(signal)
            await self.store.signals.insert(signal)
            return
        await self.runtime.delivery.typing(interaction.channel, interaction.entry_point_id,
                                           interaction.contact)

    async def add_note(self, agent: User, interaction_id: str, text: str) -> Event:
        """An internal note on the conversation: for colleagues, never sent."""
        written: list[Event] = []

        async def note(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            written.append(journal.add("note", None, text=text, agent=agent.id,
                                       agent_name=agent.email))
            return Activation()

        await self._as_agent(agent, interaction_id, note, "the conversation is no longer yours")
        return written[0]

    async def transfer(
        self, agent: User, interaction_id: str, *, queue: str | None = None,
        user: str | None = None, note: str | None = None,
    ) -> None:
        """To a queue (it waits there like a queued conversation) or to an available agent
        with free capacity (refused otherwise, so the conversation is never left alone);
        ``note`` goes with it for whoever takes it next."""
        await self.held(agent.id, interaction_id)
        if queue is not None:
            await self._transfer_to_queue(agent, interaction_id, queue, note)
        else:
            await self._transfer_to_user(agent, interaction_id, user or "", note)
        if await self.agents.release(agent.id, interaction_id):
            self.distribution.spawn(self.distribution.assign_for_agent(agent.id))

    async def _transfer_to_queue(self, agent: User, interaction_id: str, reference: str,
                                 note: str | None) -> None:
        target = await self.distribution.queue_records.named(reference)
        if target is None:
            raise Invalid(Words("no queue named %(reference)r", reference=reference), field="queue")
        now = self.distribution.clock()
        if not await self.distribution.is_open(target, now):
            raise Conflict(Words("queue %(name)r is closed", name=target.name), code="queue_closed")
        if not await self.agents.available(list(await self.distribution.members_of(target))):
            raise Conflict(Words("no agent of queue %(name)r is available", name=target.name),
                           code="no_agent_available")

        async def move(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            interaction.agent_id = None
            interaction.queue_id = target.id
            journal.add("transferred", None, from_agent=agent.id, from_agent_name=agent.email,
                        to_queue=target.name, queue_id=target.id, note=note or "")
            return Activation()

        await self._as_agent(agent, interaction_id, move, "the conversation is no longer yours")
        previous = await self.entries.find(interaction_id)
        await self.entries.place(QueueEntry(
            id=interaction_id, kind="transfer", ticket=f"transfer:{new_id()}",
            queue_id=target.id, queue_name=target.name,
            priority=previous.priority if previous else 0,
            requested_priority=previous.requested_priority if previous else 0,
            enqueued_at=in_mongo_precision(now),
            deadline=now + timedelta(seconds=target.max_wait_seconds),
            entry_point_id=previous.entry_point_id if previous else "",
            contact=previous.contact if previous else "",
            contact_name=previous.contact_name if previous else None,
            channel=previous.channel if previous else "",
        ))
        self.distribution.spawn(self.distribution.assign_queue(target.id))

    async def _transfer_to_user(self, agent: User, interaction_id: str, reference: str,
                                note: str | None) -> None:
        target = await self.distribution.find_user(reference)
        if target is None or not target.active:
            raise Invalid(Words("no user %(reference)r", reference=reference), field="user")
        if target.id == agent.id:
            raise Invalid("the conversation is already yours", field="user")
        now = in_mongo_precision(self.distribution.clock())
        token = new_id()
        capacity = (target.agent or AgentProfile()).capacity
        before = await self.agents.reserve(target.id, capacity, interaction_id, token, now)
        if before is None:
            raise Conflict(Words(
                "%(email)s is not available or has no free capacity",
                email=target.email),
                           code="unavailable")

        async def move(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            interaction.agent_id = target.id
            journal.add("transferred", None, from_agent=agent.id, from_agent_name=agent.email,
                        to_user=target.id, to_user_name=target.email, note=note or "")
            journal.add("assigned", None, agent=target.id, agent_name=target.email,
                        queue=None, transfer=True)
            return Activation()

        try:
            await self._as_agent(agent, interaction_id, move, "the conversation is no longer yours")
        except BaseException:
            await self.agents.unreserve(target.id, token, before, now)
            raise
        previous = await self.entries.find(interaction_id)
        await self.entries.place(QueueEntry(
            id=interaction_id, kind="transfer", ticket=f"transfer:{token}",
            state=EntryState.assigned, agent_id=target.id, token=token, claimed_at=now,
            assigned_at=now,
            queue_id=previous.queue_id if previous else None,
            queue_name=previous.queue_name if previous else None,
            enqueued_at=now, deadline=now,
            entry_point_id=previous.entry_point_id if previous else "",
            contact=previous.contact if previous else "",
            contact_name=previous.contact_name if previous else None,
            channel=previous.channel if previous else "",
        ))

