"""Distribution: conversations wait in queues and reach agents, race-free across processes.

How a conversation reaches an agent:

1. ``to_queue`` (or ``to_user``) asks ``enqueue`` (``offer_to_user``) while its step runs:
   the entry is placed (idempotent per ticket, so a replayed step places nothing new) and
   the action waits for a signal until the deadline.
2. After the step commits, the ``queued`` event kicks an assignment pass for the queue in
   this process; every process also runs passes from the runtime's sweeper, and when an
   agent becomes available or frees capacity.
3. A pass takes the oldest waiting entry (by priority, then arrival), and tries the
   available members, longest idle first: ``reserve`` one unit of the agent's capacity
   (conditional), then ``claim`` the entry (conditional, once per round); the loser of the
   claim gives its reservation back.
4. The claim is *delivered*: under the interaction's lease (``Runtime.apply``) the
   interaction gets its agent, an ``assigned`` event, and the waiting action resumes with
   the signal ``assigned`` (it follows ``answered``). A delivery that cannot happen (the
   process died, the interaction was busy) is retried by the sweeper; one that finds the
   conversation gone (ended, timed out) gives the agent's capacity back.

When the interaction ends (agent, customer, inactivity), the commit listener releases the
agent's capacity and starts a pass for the agent's queues. A periodic reconciliation
returns capacity held for conversations that no longer need it (a process that died
between two writes), so a crash can delay, never leak, an agent's capacity.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from routing_core.actions.context import Journal
from routing_core.contact_centre.presence import Presence
from routing_core.contact_centre.queues import Queues
from routing_core.engine.interpreter import Activation
from routing_core.engine.runtime import Operation, Runtime
from routing_core.infra.clock import in_mongo_precision
from routing_core.infra.errors import Conflict, NotFound, Words
from routing_core.infra.ids import new_id
from routing_core.model.interaction import Event, Interaction
from routing_core.model.queues import (
    AgentState,
    EntryKind,
    EntryState,
    ExpiryResult,
    Placement,
    PriorityHandling,
    Queue,
    QueueEntry,
    TicketRequest,
)
from routing_core.model.users import AgentProfile, AgentStatus, User
from routing_core.reference.schedules import schedule_state
from routing_core.store import Store
from routing_core.store.queues import (
    AgentStateRepository,
    QueueEntryRepository,
    QueueRepository,
)

log = logging.getLogger(__name__)

REDELIVER_AFTER_SECONDS = 5.0  # a claim not delivered by then is delivered again
DELIVERY_PATIENCE_SECONDS = 5.0  # how long a delivery waits for a busy interaction
TO_USER_WAIT_SECONDS = 120  # to_user: an available agent at full capacity, this long
RECONCILE_EVERY_SECONDS = 15.0
HELD_GRACE_SECONDS = 30.0  # a reservation younger than this is never reconciled away
MAX_PER_PASS = 200

class Distribution:
    """The distribution service of one process; every process runs one, none leads."""

    def __init__(self, store: Store, runtime: Runtime):
        self.store = store
        self.runtime = runtime
        self.clock = runtime.clock
        self.queue_records = QueueRepository(store.database)
        self.entries = QueueEntryRepository(store.database)
        self.agents = AgentStateRepository(store.database)
        self.queues = Queues(store, self.queue_records, self.entries)
        self.presence = Presence(store, self.agents, self.clock)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pass: asyncio.Task[int] | None = None
        self._next_reconcile = datetime.min.replace(tzinfo=UTC)

    def install(self) -> Distribution:
        """Become the actions' port, follow commits, and join the runtime's sweeper."""
        self.runtime.interpreter.ports.extra["distribution"] = self
        self.runtime.on_committed(self._on_committed)
        self.runtime.add_sweep(self.sweep)
        return self

    async def ensure_indexes(self) -> None:
        for repository in (self.queue_records, self.entries, self.agents):
            await repository.ensure_indexes()

    def spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("distribution task failed", exc_info=task.exception())

    async def idle(self) -> None:
        """Wait for the assignment work started so far (tests, shut-down)."""
        while True:
            pending = {task for task in self._tasks if not task.done()}
            if self._pass is not None and not self._pass.done():
                pending.add(self._pass)
            if not pending:
                return
            await asyncio.wait(pending)

    async def stop(self) -> None:
        """After the runtime stopped: let the work in progress finish (10 s at most)."""
        try:
            await asyncio.wait_for(self.idle(), timeout=10)
        except TimeoutError:
            log.warning("distribution: work still running at shut-down")

    # -- opening hours and members ---------------------------------------------------------

    async def is_open(self, queue: Queue, moment: datetime) -> bool:
        """Open inside its schedule's hours (a dated exception's hours count as open)."""
        if not queue.schedule:
            return True
        schedule = await self.store.schedules.find_one({"name": queue.schedule})
        if schedule is None:
            log.warning("queue %s: schedule %r is missing; the queue is closed",
                        queue.name, queue.schedule)
            return False
        state = schedule_state(schedule, moment)
        if state == "exception":
            exception = schedule.exception_on(moment.astimezone(schedule.zone).date().isoformat())
            return exception is not None and not exception.closed
        return state == "open"

    async def members_of(self, queue: Queue) -> dict[str, int]:
        """Member agents (listed by the queue, or listing it in their profile) → capacity."""
        users = await self.store.users.all({
            "active": True,
            "$or": [{"_id": {"$in": queue.members}},
                    {"agent.queues": {"$in": [queue.name, queue.id]}}],
        })
        return {user.id: (user.agent or AgentProfile()).capacity for user in users}

    async def queues_of(self, user: User) -> list[Queue]:
        listed = (user.agent or AgentProfile()).queues
        return await self.queue_records.all({"$or": [
            {"members": user.id}, {"name": {"$in": listed}}, {"_id": {"$in": listed}},
        ]})

    async def _candidates(self, members: dict[str, int]) -> list[tuple[AgentState, int]]:
        """Available members with free capacity, longest idle first."""
        available = await self.agents.available(list(members))
        return [(state, members[state.id]) for state in available
                if len(state.held) < members[state.id]]

    # -- the port of the actions -----------------------------------------------------------

    async def _replayed(self, request: TicketRequest) -> QueueEntry | None:
        existing = await self.entries.find(request.interaction_id)
        return existing if existing is not None and existing.ticket == request.ticket else None

    def _entry(
        self, request: TicketRequest, kind: EntryKind, deadline: datetime, **fields: Any
    ) -> QueueEntry:
        return QueueEntry(
            id=request.interaction_id, kind=kind, ticket=request.ticket,
            enqueued_at=in_mongo_precision(request.now), deadline=deadline,
            entry_point_id=request.entry_point_id, contact=request.contact,
            contact_name=request.contact_name, channel=request.channel, **fields,
        )

    async def enqueue(self, request: TicketRequest) -> Placement:
        queue = await self.queue_records.named(request.queue or "")
        if queue is None:
            raise NotFound(Words("no queue named %(queue)r", queue=request.queue))
        placed = await self._replayed(request)
        if placed is None:
            if not await self.is_open(queue, request.now):
                return Placement(accepted=False, reason="closed", queue_id=queue.id,
                                 queue_name=queue.name)
            if not await self.agents.available(list(await self.members_of(queue))):
                return Placement(accepted=False, reason="no_agent_available",
                                 queue_id=queue.id, queue_name=queue.name)
            wait = min(request.max_wait_seconds, queue.max_wait_seconds)
            by_priority = queue.priority_handling is PriorityHandling.priority
            placed, _ = await self.entries.place(self._entry(
                request, "queue", request.now + timedelta(seconds=wait), queue_id=queue.id,
                queue_name=queue.name, priority=request.priority if by_priority else 0,
                requested_priority=request.priority,
            ))
        return Placement(
            accepted=True, queue_id=queue.id, queue_name=queue.name,
            position=await self.entries.position(placed), deadline=placed.deadline,
            waiting_message=queue.waiting_message, announce_position=queue.announce_position,
        )

    async def find_user(self, reference: str) -> User | None:
        """A user by id or e-mail."""
        reference = reference.strip()
        return await self.store.users.find_one(
            {"$or": [{"_id": reference}, {"email": reference.lower()}]}
        )

    async def offer_to_user(self, request: TicketRequest) -> Placement:
        user = await self.find_user(request.user or "")
        if user is None or not user.active:
            return Placement(accepted=False, reason="unknown_user")
        placed = await self._replayed(request)
        if placed is None:
            state = await self.agents.state_of(user.id)
            if state.status is not AgentStatus.available:
                return Placement(accepted=False, reason="unavailable", user_id=user.id)
            placed, _ = await self.entries.place(self._entry(
                request, "user", request.now + timedelta(seconds=TO_USER_WAIT_SECONDS),
                target_user=user.id,
            ))
        return Placement(accepted=True, user_id=user.id, deadline=placed.deadline)

    async def expire(self, interaction_id: str, ticket: str) -> ExpiryResult:
        entry = await self.entries.find(interaction_id)
        if entry is None or entry.ticket != ticket:
            return "expired"
        if await self.entries.move(entry.id, entry.round, [EntryState.waiting],
                                   state=EntryState.expired, finished_at=self.clock()):
            return "expired"
        current = await self.entries.find(interaction_id)
        if (current is not None and current.ticket == ticket
                and current.state in (EntryState.claimed, EntryState.assigned)):
            return "claimed"
        return "expired"

    # -- assignment ------------------------------------------------------------------------

    async def assign_queue(self, queue_id: str) -> int:
        """Give waiting conversations of the queue to its free agents; how many were given."""
        queue = await self.queue_records.find(queue_id)
        if queue is None:
            return 0
        members = await self.members_of(queue)
        given = 0
        for _ in range(MAX_PER_PASS):
            entry = await self.entries.oldest_waiting(queue_id, self.clock())
            if entry is None:
                break
            result = await self._try_claim(entry, await self._candidates(members))
            if result == "full":
                break
            given += result == "assigned"
        return given

    async def assign_user(self, user_id: str) -> int:
        """Give the conversations offered to this agent (``to_user``) while capacity lasts."""
        user = await self.store.users.find(user_id)
        if user is None:
            return 0
        members = {user.id: (user.agent or AgentProfile()).capacity}
        given = 0
        for _ in range(MAX_PER_PASS):
            entry = await self.entries.oldest_offer(user_id, self.clock())
            if entry is None:
                break
            result = await self._try_claim(entry, await self._candidates(members))
            if result == "full":
                break
            given += result == "assigned"
        return given

    async def assign_for_agent(self, agent_id: str) -> int:
        """The agent became available or freed capacity: offers to them first, then queues."""
        given = await self.assign_user(agent_id)
        user = await self.store.users.find(agent_id)
        if user is not None:
            for queue in await self.queues_of(user):
                given += await self.assign_queue(queue.id)
        return given

    async def _try_claim(
        self, entry: QueueEntry, candidates: list[tuple[AgentState, int]]
    ) -> Literal["assigned", "lost", "refused", "full"]:
        """Reserve the first candidate that still has room, then claim the entry."""
        for state, capacity in candidates:
            now = in_mongo_precision(self.clock())
            token = new_id()
            before = await self.agents.reserve(state.id, capacity, entry.id, token, now)
            if before is None:
                continue  # busy or gone meanwhile: the next longest idle
            claimed = await self.entries.claim(entry, state.id, token, now)
            if claimed is None:  # another process took the entry: give the unit back
                await self.agents.unreserve(state.id, token, before, now)
                return "lost"
            return "assigned" if await self.deliver(claimed) else "refused"
        return "full"

    async def deliver(self, entry: QueueEntry) -> bool:
        """Tell the interaction its agent; False when it is gone (capacity given back) or
        busy (the sweeper delivers again)."""
        agent_id = entry.agent_id or ""
        agent = await self.store.users.find(agent_id)
        operation = self._assign_operation(entry, agent_id, agent.email if agent else agent_id)
        try:
            await self.runtime.apply(entry.id, operation, DELIVERY_PATIENCE_SECONDS)
        except Conflict as refusal:
            if refusal.code == "busy":
                return False
        except NotFound:
            pass
        interaction = await self.store.interactions.find(entry.id)
        now = self.clock()
        if interaction is not None and interaction.active and interaction.agent_id == agent_id:
            await self.entries.move(entry.id, entry.round, [EntryState.claimed],
                                    state=EntryState.assigned, assigned_at=now)
            return True
        if await self.entries.move(entry.id, entry.round, [EntryState.claimed],
                                   state=EntryState.withdrawn, finished_at=now):
            await self.agents.drop(agent_id, entry.token or "")
            self.spawn(self.assign_for_agent(agent_id))
        return False

    def _assign_operation(self, entry: QueueEntry, agent_id: str, agent_name: str) -> Operation:
        async def assign(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            waiting = interaction.waiting
            details = {"agent": agent_id, "agent_name": agent_name, "queue": entry.queue_name,
                       "queue_id": entry.queue_id,
                       "waited_seconds": round((now - entry.enqueued_at).total_seconds(), 3)}
            if waiting is not None and waiting.memory.get("ticket") == entry.ticket:
                interaction.agent_id = agent_id
                interaction.queue_id = entry.queue_id
                journal.add("assigned", None, **details)
                return await self.runtime.interpreter.activate(
                    interaction, "signal", journal, now,
                    signal={"name": "assigned", "agent": agent_id, "queue": entry.queue_name},
                )
            if (entry.kind == "transfer" and interaction.agent_id is None
                    and interaction.queue_id == entry.queue_id):
                interaction.agent_id = agent_id
                journal.add("assigned", None, transfer=True, **details)
            return Activation()  # already told, or the conversation moved on

        return assign

    # -- agents' availability ---------------------------------------------------------------

    async def set_status(self, user: User, status: AgentStatus) -> AgentState:
        """Presence records the status; an agent who becomes available gets work at once."""
        state = await self.presence.set_status(user.id, status)
        if status is AgentStatus.available:
            self.spawn(self.assign_for_agent(user.id))
        return state

    # -- ends, and upkeep ------------------------------------------------------------------

    async def release_ended(self, interaction_id: str, agent_id: str | None) -> None:
        """The conversation is over: out of line, and no longer counted against its agent."""
        now = self.clock()
        entry = await self.entries.find(interaction_id)
        if entry is not None:
            await self.entries.move(entry.id, entry.round, [EntryState.waiting],
                                    state=EntryState.withdrawn, finished_at=now)
            await self.entries.move(entry.id, entry.round,
                                    [EntryState.claimed, EntryState.assigned],
                                    state=EntryState.ended, finished_at=now)
        holders = {holder for holder in (agent_id, entry.agent_id if entry else None) if holder}
        for holder in holders:
            if await self.agents.release(holder, interaction_id):
                self.spawn(self.assign_for_agent(holder))

    async def _on_committed(self, interaction: Interaction, events: list[Event]) -> None:
        for event in events:
            if event.type == "queued" and event.data.get("queue_id"):
                self.spawn(self.assign_queue(event.data["queue_id"]))
            elif event.type == "offered" and event.data.get("user_id"):
                self.spawn(self.assign_user(event.data["user_id"]))
            elif event.type == "end" and (interaction.queued or interaction.agent_id
                                          or interaction.queue_id):
                self.spawn(self.release_ended(interaction.id, interaction.agent_id))

    async def sweep(self) -> int:
        """The runtime's sweeper calls this often: start a pass unless one still runs (the
        sweeper must not wait for assignments)."""
        if self._pass is None or self._pass.done():
            self._pass = asyncio.ensure_future(self.run_pass())
            self._pass.add_done_callback(self._done)
        return 0

    async def run_pass(self) -> int:
        """Assign what waits, deliver stuck claims, expire transfers, reconcile capacity."""
        now = self.clock()
        given = 0
        for queue_id in await self.entries.queues_with_waiting(now):
            given += await self.assign_queue(queue_id)
        for user_id in await self.entries.users_with_offers(now):
            given += await self.assign_user(user_id)
        before = now - timedelta(seconds=REDELIVER_AFTER_SECONDS)
        for entry in await self.entries.stuck_claims(before):
            given += await self.deliver(entry)
        for entry in await self.entries.expired_transfers(now):
            await self._expire_transfer(entry)
        if now >= self._next_reconcile:
            self._next_reconcile = now + timedelta(seconds=RECONCILE_EVERY_SECONDS)
            await self.reconcile(now)
            await self.presence.away_when_absent(now)
        return given

    async def _expire_transfer(self, entry: QueueEntry) -> None:
        """Nobody took a transferred conversation in time: it ends (the end routing runs)."""
        now = self.clock()
        if not await self.entries.move(entry.id, entry.round, [EntryState.waiting],
                                       state=EntryState.expired, finished_at=now):
            return

        async def finish(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            if interaction.agent_id is not None:
                return Activation()
            journal.add("no_agent", None, queue=entry.queue_name, reason="wait expired")
            return Activation(ended=True, reason="no agent after transfer")

        try:
            await self.runtime.apply(entry.id, finish, DELIVERY_PATIENCE_SECONDS)
        except (Conflict, NotFound):
            return

    async def reconcile(self, now: datetime) -> int:
        """Give back capacity held for conversations that no longer need it (a process died
        between two writes); how many units were freed."""
        freed = 0
        grace = now - timedelta(seconds=HELD_GRACE_SECONDS)
        for state in await self.agents.holding():
            for item in state.held:
                if item.at > grace:
                    continue  # a claim or a transfer in flight
                entry = await self.entries.find(item.interaction)
                if (entry is None or entry.agent_id != state.id or entry.token != item.token
                        or entry.state not in (EntryState.claimed, EntryState.assigned)):
                    await self.agents.drop(state.id, item.token)
                    freed += 1
                elif entry.state is EntryState.assigned:
                    interaction = await self.store.interactions.find(item.interaction)
                    if interaction is None or not interaction.active:
                        await self.release_ended(item.interaction, state.id)
                        freed += 1
        return freed
