"""Two service processes on one database: no message processed twice, timers fired once,
a scheduled production done once, no conversation assigned twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
from collections import Counter
from typing import Any

import aiohttp
import pytest
from pymongo import AsyncMongoClient

from tests.conftest import ADMIN_PASSWORD
from tests.faults.test_kill_service import install, settled
from tests.faults.traffic import Visitor, talk
from tests.support.routings import action, tree
from tests.support.service import ServiceProcess

pytestmark = pytest.mark.slow


async def test_two_processes_share_the_work_without_doing_it_twice(mongodb_uri, tmp_path):
    first = ServiceProcess(mongodb_uri, tmp_path / "a", SR_SCHEDULE_POLL_SECONDS="0.5").start()
    second = ServiceProcess(mongodb_uri, tmp_path / "b", SR_SCHEDULE_POLL_SECONDS="0.5",
                            SR_MONGODB_DATABASE=first.environment["SR_MONGODB_DATABASE"])
    second.start()
    stop = asyncio.Event()
    try:
        install(first)
        routing = first.api("GET", "/api/smart-routings")["items"][0]
        candidate = first.api("POST", f"/api/smart-routings/{routing['id']}/versions",
                              {"name": "scheduled", "copy_from": None})
        start = candidate["tree"]["start"]
        first.api("POST", f"/api/versions/{candidate['id']}/actions", {
            "type": "message", "params": {"text": "new"}, "after": {"action": start}})
        at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
        first.api("PUT", f"/api/versions/{candidate['id']}/schedule", {"at": at.isoformat()})
        visitors = [Visitor(f"visitor-pair-{n:02d}") for n in range(10)]
        # each visitor talks to one process, then moves to the other mid-conversation
        traffic = [asyncio.create_task(talk(v, random.choice([first.url, second.url]), stop))
                   for v in visitors]
        await asyncio.sleep(3)
        for task in traffic:
            task.cancel()
        traffic = [asyncio.create_task(talk(v, random.choice([first.url, second.url]), stop))
                   for v in visitors]
        await asyncio.sleep(3)
        stop.set()
        await asyncio.gather(*traffic, return_exceptions=True)
        accepted = [text for visitor in visitors for text in visitor.accepted]
        assert len(accepted) > 20
        started = sum(visitor.started for visitor in visitors)
        texts = await settled(mongodb_uri, first.environment["SR_MONGODB_DATABASE"], accepted,
                              started)
        assert [text for text in accepted if texts[f"echo {text}"] != 1] == []
        assert texts["woke"] == started
        audit = first.api("GET", f"/api/audit?target={candidate['id']}")["items"]
        done = [entry for entry in audit if entry["action"] == "version.scheduled_production"]
        assert len(done) == 1
        assert first.api("GET", f"/api/versions/{candidate['id']}")["status"] == "production"
    finally:
        stop.set()
        first.stop()
        second.stop()


AGENT_CAPACITIES = (1, 2, 3, 1, 2)
QUEUED = 30
QUEUE_TREE = tree(action("queue", "to_queue", {"queue": "race", "max_wait_seconds": 3600},
                         answered=None, no_agent=None))


async def start_conversation(url: str, visitor: str) -> None:
    """One web chat message whose ack came back: the conversation is queued."""
    async with aiohttp.ClientSession() as session, session.ws_connect(
            f"{url.replace('http', 'ws', 1)}/chat/race/ws?visitor={visitor}") as socket:
        await socket.receive_json(timeout=10)  # the history frame
        await socket.send_str(json.dumps({"type": "message", "text": "hi", "id": "1"}))
        while (await socket.receive_json(timeout=10)).get("type") != "ack":
            pass


async def holdings(mongodb_uri: str, database: str) -> tuple[Counter[str], Counter[str]]:
    """Active conversations per agent, and ``assigned`` events per conversation."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri)
    try:
        held = Counter([document["agent_id"] async for document in
                        client[database]["interactions"].find(
                            {"active": True, "agent_id": {"$ne": None}}, {"agent_id": 1})])
        given = Counter([event["interaction_id"] async for event in
                         client[database]["events"].find({"type": "assigned"})])
        return held, given
    finally:
        await client.close()


async def held_when_settled(mongodb_uri: str, database: str, expected: int,
                            timeout: float = 30) -> tuple[Counter[str], Counter[str]]:
    deadline = time.monotonic() + timeout
    while True:
        held, given = await holdings(mongodb_uri, database)
        if sum(held.values()) >= expected or time.monotonic() > deadline:
            return held, given
        await asyncio.sleep(0.3)


async def test_two_processes_never_give_a_conversation_twice(mongodb_uri, tmp_path):
    """Agents log in to either process; conversations queue through both; ends from both
    free capacity that both race to fill. No agent exceeds its capacity and no conversation
    is assigned twice."""
    first = ServiceProcess(mongodb_uri, tmp_path / "a").start()
    second = ServiceProcess(mongodb_uri, tmp_path / "b",
                            SR_MONGODB_DATABASE=first.environment["SR_MONGODB_DATABASE"])
    second.start()
    processes = (first, second)
    database = first.environment["SR_MONGODB_DATABASE"]
    try:
        routing = first.api("POST", "/api/smart-routings/import", {
            "routing": {"name": "race", "reference": "race", "type": "start"},
            "versions": [{"name": "v1", "status": "production", "tree": QUEUE_TREE}]})
        first.api("POST", "/api/entry-points", {
            "channel": "webchat", "name": "race", "address": "race",
            "start_routing": routing["id"]})
        agents = []
        for number, capacity in enumerate(AGENT_CAPACITIES):
            email = f"racer{number}@example.com"
            user = first.api("POST", "/api/users", {
                "email": email, "password": ADMIN_PASSWORD, "roles": ["agent"],
                "agent": {"queues": [], "capacity": capacity}})
            agents.append((processes[number % 2], user["id"], capacity, email))
        first.api("POST", "/api/queues", {
            "name": "race", "members": [user_id for _, user_id, _, _ in agents],
            "max_wait_seconds": 3600})
        tokens = {}
        for process, user_id, _, email in agents:
            tokens[user_id] = process._call("POST", "/api/auth/login", {
                "email": email, "password": ADMIN_PASSWORD}, None)["token"]
            process._call("POST", "/api/agent/status", {"status": "available"},
                          tokens[user_id])

        await asyncio.gather(*(start_conversation(processes[n % 2].url, f"visitor-{n:03d}")
                               for n in range(QUEUED)))
        capacity = sum(AGENT_CAPACITIES)
        held, given = await held_when_settled(mongodb_uri, database, capacity)
        assert [held[user_id] for _, user_id, _, _ in agents] == list(AGENT_CAPACITIES)
        assert max(given.values()) == 1

        # every agent ends what it holds through the other process, all at once
        def end_all(process: ServiceProcess, user_id: str) -> None:
            token = tokens[user_id]
            for item in process._call("GET", "/api/agent/interactions", None, token)["items"]:
                process._call("POST", f"/api/agent/interactions/{item['id']}/end", None,
                              token)

        await asyncio.gather(*(
            asyncio.to_thread(end_all, processes[(number + 1) % 2], user_id)
            for number, (_, user_id, _, _) in enumerate(agents)))
        held, given = await held_when_settled(mongodb_uri, database, capacity)
        assert [held[user_id] for _, user_id, _, _ in agents] == list(AGENT_CAPACITIES)
        assert sum(given.values()) == 2 * capacity
        assert max(given.values()) == 1, "a conversation was assigned twice"
    finally:
        first.stop()
        second.stop()


async def test_a_rolling_upgrade_under_traffic_loses_nothing(mongodb_uri, tmp_path):
    """The upgrade of docs/deploy.md: a new process starts beside the old ones, an old one
    is stopped with SIGTERM mid-traffic and its visitors reconnect elsewhere; every
    accepted message still gets exactly one echo and every timer fires once."""
    old = [ServiceProcess(mongodb_uri, tmp_path / "old-a", SR_LEASE_SECONDS="2").start()]
    database = old[0].environment["SR_MONGODB_DATABASE"]
    old.append(ServiceProcess(mongodb_uri, tmp_path / "old-b", SR_LEASE_SECONDS="2",
                              SR_MONGODB_DATABASE=database).start())
    new = None
    stop = asyncio.Event()
    try:
        install(old[0])
        visitors = [Visitor(f"visitor-roll-{n:02d}") for n in range(10)]
        homes = {visitor.name: old[n % 2] for n, visitor in enumerate(visitors)}
        traffic = {visitor.name: asyncio.create_task(talk(visitor, homes[visitor.name].url,
                                                          stop)) for visitor in visitors}
        await asyncio.sleep(3)
        new = ServiceProcess(mongodb_uri, tmp_path / "new", SR_LEASE_SECONDS="2",
                             SR_MONGODB_DATABASE=database).start()
        await asyncio.to_thread(old[0].stop)  # SIGTERM while its visitors are talking
        for visitor in visitors:  # the load balancer sends them to the running processes
            if homes[visitor.name] is old[0]:
                traffic[visitor.name].cancel()
                traffic[visitor.name] = asyncio.create_task(talk(visitor, new.url, stop))
        await asyncio.sleep(3)
        stop.set()
        await asyncio.gather(*traffic.values(), return_exceptions=True)
        accepted = [text for visitor in visitors for text in visitor.accepted]
        assert len(accepted) > 20
        started = sum(visitor.started for visitor in visitors)
        texts = await settled(mongodb_uri, database, accepted, started)
        assert [text for text in accepted if texts[f"echo {text}"] != 1] == []
        assert texts["woke"] == started
    finally:
        stop.set()
        for process in [*old, new]:
            if process is not None:
                process.stop()
