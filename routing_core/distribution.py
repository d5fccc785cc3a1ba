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
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from pymongo.errors import DuplicateKeyError

from routing_core.clock import utcnow
from routing_core.engine.context import Journal
from routing_core.engine.interpreter import Activation
from routing_core.engine.runtime import Operation, Runtime
from routing_core.errors import Conflict, Invalid, NotFound
from routing_core.ids import new_id
from routing_core.model.audit import Actor
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
from routing_core.reference import schedule_state
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
HISTORY_LIMIT = 500
# An open console beats this often; silent for PRESENCE_GRACE (the browser was closed, the
# machine slept), an available agent is set away so nothing more is given to them.
PRESENCE_BEAT_SECONDS = 20.0
PRESENCE_GRACE_SECONDS = 60.0  # the latest events an agent sees of a conversation

def in_mongo_precision(moment: datetime) -> datetime:
    """MongoDB keeps milliseconds: a time compared after a round trip must be cut alike."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class Queues:
    """Queues as admins manage them: unique names, checked members and schedule, audit,
    revision-checked saves (two admins editing at once: the second gets a 409)."""

    def __init__(self, store: Store, repository: QueueRepository, entries: QueueEntryRepository):
        self.store = store
        self.repository = repository
        self.entries = entries

    async def _checked(self, queue: Queue) -> Queue:
        members = list(dict.fromkeys(queue.members))
        found = await self.store.users.all({"_id": {"$in": members}})
        unknown = sorted(set(members) - {user.id for user in found})
        if unknown:
            raise Invalid(f"unknown user id(s): {', '.join(unknown)}", field="members")
        if queue.schedule is not None:
            queue.schedule = queue.schedule.strip() or None
        if queue.schedule and not await self.store.schedules.find_one({"name": queue.schedule}):
            raise Invalid(f"no schedule named {queue.schedule!r}", field="schedule")
        return queue.model_copy(update={"members": members})

    @staticmethod
    def _built(data: Mapping[str, Any]) -> Queue:
        try:
            return Queue.model_validate(dict(data))
        except ValidationError as error:
            problem = error.errors()[0]
            field = ".".join(str(part) for part in problem["loc"]) or None
            raise Invalid(f"{field}: {problem['msg']}", field=field) from None

    async def create(self, actor: Actor, **data: Any) -> Queue:
        queue = await self._checked(self._built(data))
        try:
            await self.repository.insert(queue)
        except DuplicateKeyError:
            raise Conflict(f"a queue named {queue.name!r} exists", field="name",
                           code="name_taken") from None
        await self.store.audit.record_change(actor, "queue.create", "queue", queue.id,
                                             name=queue.name)
        return queue

    async def update(self, actor: Actor, queue_id: str, changes: Mapping[str, Any]) -> Queue:
        current = await self.repository.get(queue_id)
        merged = self._built({**current.model_dump(), **changes})
        updated = (await self._checked(merged)).model_copy(
            update={"revision": current.revision + 1, "updated_at": utcnow()}
        )
        try:
            result = await self.repository.collection.replace_one(
                {"_id": queue_id, "revision": current.revision}, updated.to_document()
            )
        except DuplicateKeyError:
            raise Conflict(f"a queue named {updated.name!r} exists", field="name",
                           code="name_taken") from None
        if result.matched_count != 1:
            raise Conflict(f"queue {current.name!r} was changed meanwhile; reload it and try "
                           "again", code="concurrent_change")
        await self.store.audit.record_change(actor, "queue.update", "queue", queue_id,
                                             fields=sorted(changes))
        return updated

    async def delete(self, actor: Actor, queue_id: str) -> None:
        queue = await self.repository.get(queue_id)
        if await self.entries.find_one({"queue_id": queue_id, "state": "waiting"}):
            raise Conflict(f"conversations are waiting in queue {queue.name!r}",
                           code="in_use")
        await self.repository.delete(queue_id)
        await self.store.audit.record_change(actor, "queue.delete", "queue", queue_id,
                                             name=queue.name)


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

    def _spawn(self, work: Awaitable[Any]) -> None:
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
            raise NotFound(f"no queue named {request.queue!r}")
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
            self._spawn(self.assign_for_agent(agent_id))
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

    # -- what agents do --------------------------------------------------------------------

    async def set_status(self, user: User, status: AgentStatus) -> AgentState:
        state = await self.agents.set_status(user.id, status, in_mongo_precision(self.clock()))
        await self._show_status(user.id, status)
        if status is AgentStatus.available:
            self._spawn(self.assign_for_agent(user.id))
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

    async def held(self, agent_id: str, interaction_id: str) -> Interaction:
        """The agent's conversation; NotFound when it is not theirs, Conflict once ended."""
        interaction = await self.store.interactions.find(interaction_id)
        if interaction is None or interaction.agent_id != agent_id:
            raise NotFound(f"no conversation {interaction_id!r} is assigned to you")
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

    async def send_message(self, agent: User, interaction_id: str, text: str) -> Event:
        """The agent's reply, sent on the customer's channel through the outbox."""
        sent: list[Event] = []

        async def post(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            sent.append(journal.outbound(None, text, agent=agent.id, agent_name=agent.email))
            return Activation()

        await self._as_agent(agent, interaction_id, post, "the conversation is no longer yours")
        return sent[0]

    async def end(self, agent: User, interaction_id: str) -> None:
        """End the conversation; the entry point's end routing follows."""

        async def finish(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            journal.add("ended", None, agent=agent.id, agent_name=agent.email, by="agent")
            return Activation(ended=True, reason="ended by agent")

        await self._as_agent(agent, interaction_id, finish, "the conversation is no longer yours")
        await self._after_end(interaction_id, agent.id)

    async def transfer(
        self, agent: User, interaction_id: str, *, queue: str | None = None,
        user: str | None = None,
    ) -> None:
        """To a queue (it waits there like a queued conversation) or to an available agent
        with free capacity (refused otherwise, so the conversation is never left alone)."""
        await self.held(agent.id, interaction_id)
        if queue is not None:
            await self._transfer_to_queue(agent, interaction_id, queue)
        else:
            await self._transfer_to_user(agent, interaction_id, user or "")
        if await self.agents.release(agent.id, interaction_id):
            self._spawn(self.assign_for_agent(agent.id))

    async def _transfer_to_queue(self, agent: User, interaction_id: str, reference: str) -> None:
        target = await self.queue_records.named(reference)
        if target is None:
            raise Invalid(f"no queue named {reference!r}", field="queue")
        now = self.clock()
        if not await self.is_open(target, now):
            raise Conflict(f"queue {target.name!r} is closed", code="queue_closed")
        if not await self.agents.available(list(await self.members_of(target))):
            raise Conflict(f"no agent of queue {target.name!r} is available",
                           code="no_agent_available")

        async def move(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            interaction.agent_id = None
            interaction.queue_id = target.id
            journal.add("transferred", None, from_agent=agent.id, from_agent_name=agent.email,
                        to_queue=target.name, queue_id=target.id)
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
        self._spawn(self.assign_queue(target.id))

    async def _transfer_to_user(self, agent: User, interaction_id: str, reference: str) -> None:
        target = await self.find_user(reference)
        if target is None or not target.active:
            raise Invalid(f"no user {reference!r}", field="user")
        if target.id == agent.id:
            raise Invalid("the conversation is already yours", field="user")
        now = in_mongo_precision(self.clock())
        token = new_id()
        capacity = (target.agent or AgentProfile()).capacity
        before = await self.agents.reserve(target.id, capacity, interaction_id, token, now)
        if before is None:
            raise Conflict(f"{target.email} is not available or has no free capacity",
                           code="unavailable")

        async def move(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            interaction.agent_id = target.id
            journal.add("transferred", None, from_agent=agent.id, from_agent_name=agent.email,
                        to_user=target.id, to_user_name=target.email)
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

    # -- ends, and upkeep ------------------------------------------------------------------

    async def _after_end(self, interaction_id: str, agent_id: str | None) -> None:
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
                self._spawn(self.assign_for_agent(holder))

    async def _on_committed(self, interaction: Interaction, events: list[Event]) -> None:
        for event in events:
            if event.type == "queued" and event.data.get("queue_id"):
                self._spawn(self.assign_queue(event.data["queue_id"]))
            elif event.type == "offered" and event.data.get("user_id"):
                self._spawn(self.assign_user(event.data["user_id"]))
            elif event.type == "end":
                self._spawn(self._after_end(interaction.id, interaction.agent_id))

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
            await self.away_when_absent(now)
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
                        await self._after_end(item.interaction, state.id)
                        freed += 1
        return freed
