"""Two service processes (two Runtime + Distribution stacks, each on its own Store and
connection pool, over the same database — plus the app's own) race to hand many
conversations to agents with capacity: no agent ever holds more than its capacity, and no
conversation ever goes to two agents."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio

from routing_core.contact_centre.agent_desk import AgentDesk
from routing_core.contact_centre.distribution import Distribution
from routing_core.engine.delivery import Delivery, LocalHub
from routing_core.engine.runtime import Runtime, RuntimeSettings
from routing_core.model.interaction import Channel, Inbound
from routing_core.model.users import AgentProfile, AgentStatus, User
from routing_core.ports.world import Ports
from routing_core.store import Store
from tests.support.routings import action, production_routing, tree, webchat_entry_point

CAPACITIES = (1, 2, 3, 1, 2)
CONVERSATIONS = 30
RACING = tree(action("queue", "to_queue", {"queue": "race", "max_wait_seconds": 3600}))


@dataclass
class Node:
    """One service process as far as distribution is concerned."""

    store: Store
    runtime: Runtime
    distribution: Distribution


@pytest_asyncio.fixture
async def nodes(services: Any, settings: Any) -> AsyncIterator[list[Node]]:
    started = []
    for _ in range(2):
        store = Store.connect(settings.mongodb_uri, settings.mongodb_database)
        runtime = Runtime(
            store, Ports(reference=services.runtime.interpreter.ports.reference),
            Delivery(LocalHub()), RuntimeSettings(sweep_seconds=0.05),
        )
        distribution = Distribution(store, runtime).install()
        runtime.start()
        started.append(Node(store, runtime, distribution))
    yield started
    for node in started:
        await node.runtime.stop()
        await node.distribution.stop()
    for node in started:
        await node.store.close()


async def make_agents(services: Any) -> list[tuple[User, int]]:
    agents = []
    for number, capacity in enumerate(CAPACITIES):
        user = await services.accounts.create_user(
            None, email=f"racer{number}@example.com", password="racing password",
            roles=["agent"], agent=AgentProfile(queues=["race"], capacity=capacity),
        )
        agents.append((user, capacity))
    return agents


async def check_invariants(services: Any, agents: list[tuple[User, int]]) -> Counter[str]:
    """Capacity and single ownership hold; the load of every agent, by user id."""
    store = services.store
    active = await store.interactions.all({"kind": "start", "active": True})
    holders = Counter(interaction.agent_id for interaction in active if interaction.agent_id)
    states = {document["_id"]: document
              async for document in store.database["agent_states"].find({})}
    for user, capacity in agents:
        assert holders[user.id] <= capacity, f"{user.email} holds {holders[user.id]}"
        held = states.get(user.id, {}).get("held", [])
        assert len(held) <= capacity, f"{user.email} reserved {len(held)} > {capacity}"
    assigned = Counter([event["interaction_id"] async for event in
                        store.database["events"].find({"type": "assigned"})])
    assert not [key for key, count in assigned.items() if count > 1], "given twice"
    claims = Counter([entry["_id"] async for entry in store.database["queue_entries"].find(
        {"state": {"$in": ["claimed", "assigned"]}})])
    assert all(count == 1 for count in claims.values())
    return holders


async def watch(services: Any, agents: list[tuple[User, int]], stop: asyncio.Event) -> int:
    """Check the invariants over and over while the race runs; how many checks passed."""
    checks = 0
    while not stop.is_set():
        await check_invariants(services, agents)
        checks += 1
        await asyncio.sleep(0.01)
    return checks


async def settled(services: Any, expected: int, timeout: float = 30.0) -> None:
    """Until ``expected`` conversations are held and no claim is in flight."""
    entries = services.store.database["queue_entries"]
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        held = await services.store.interactions.collection.count_documents(
            {"kind": "start", "active": True, "agent_id": {"$ne": None}})
        claimed = await entries.count_documents({"state": "claimed"})
        if held == expected and claimed == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not settled: {held} held, {claimed} claims in flight")


async def test_racing_processes_never_exceed_capacity_nor_share_a_conversation(
    services, nodes
):
    routing_id = await production_routing(services, "race", RACING)
    entry_point = await webchat_entry_point(services, routing_id)
    created = await services.store.database["queues"].insert_one({
        "_id": "queue-race", "name": "race", "members": [], "schedule": None,
        "max_wait_seconds": 3600, "waiting_message": "", "announce_position": False,
        "priority_handling": "priority", "revision": 0,
    })
    assert created.inserted_id == "queue-race"
    agents = await make_agents(services)
    for number, (user, _) in enumerate(agents):
        await nodes[number % 2].distribution.set_status(user, AgentStatus.available)
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(services, agents, stop))

    await asyncio.gather(*(
        nodes[number % 2].runtime.receive(Inbound(
            channel=Channel.webchat, entry_point_id=entry_point.id,
            contact=f"visitor-{number:03d}", provider_id=f"race-{number}", text="hi",
        ))
        for number in range(CONVERSATIONS)
    ))
    await asyncio.gather(*(node.distribution.assign_queue("queue-race")
                           for node in nodes for _ in range(5)))
    await settled(services, sum(CAPACITIES))
    holders = await check_invariants(services, agents)
    assert [holders[user.id] for user, _ in agents] == list(CAPACITIES)

    # every agent ends what it holds, from both processes at once: the freed capacity is
    # raced for again by the conversations still waiting
    ending = []
    for number, (user, _) in enumerate(agents):
        for interaction in await services.store.interactions.all(
                {"agent_id": user.id, "active": True}):
            node = nodes[(number + len(ending)) % 2]
            ending.append(AgentDesk(node.distribution).end(user, interaction.id))
    await asyncio.gather(*ending)
    await settled(services, sum(CAPACITIES))
    stop.set()
    checks = await watcher
    holders = await check_invariants(services, agents)
    assert [holders[user.id] for user, _ in agents] == list(CAPACITIES)
    assert checks > 10
    ended = await services.store.interactions.collection.count_documents(
        {"kind": "start", "active": False})
    waiting = await services.store.database["queue_entries"].count_documents(
        {"state": "waiting"})
    assert (ended, waiting) == (sum(CAPACITIES), CONVERSATIONS - 2 * sum(CAPACITIES))
