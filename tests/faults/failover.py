"""Primary failovers under traffic, on a three-member replica set with two service
processes — the deployment of docs/deploy.md. Used by ``test_failover.py`` (short, in CI)
and ``bench/failover.py`` (longer, with its figures in the note).

Telegram users post updates to either process (a load balancer) and, like Telegram,
post the same update again until it gets a 2xx; each accepted update must get exactly one
reply. Meanwhile the primary steps down (``replSetStepDown``) and is killed (SIGKILL), a
production is scheduled to fire inside a failover, and an agent logged in to one process
writes to a web chat visitor whose socket is held by the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

from tests.conftest import ADMIN_PASSWORD
from tests.faults.test_kill_service import (
    TELEGRAM_TOKEN,
    flagged_duplicates,
    install,
    install_telegram,
)
from tests.faults.traffic import DISCONNECTED, Chat
from tests.support.fake_telegram import FakeTelegram
from tests.support.replica_set import ReplicaSet
from tests.support.routings import action, tree
from tests.support.service import ServiceProcess

DESK_TREE = tree(action("queue", "to_queue", {"queue": "desk", "max_wait_seconds": 3600},
                        answered=None, no_agent=None))


@dataclass
class Report:
    failovers: list[str] = field(default_factory=list)
    updates: int = 0  # accepted by a 2xx
    statuses: Counter[int] = field(default_factory=Counter)  # every webhook answer
    lost: list[str] = field(default_factory=list)
    twice: set[str] = field(default_factory=set)
    flagged: Counter[str] = field(default_factory=Counter)  # flagged sends per text
    without_primary: list[float] = field(default_factory=list)  # seconds, per failover
    reply_delays: list[float] = field(default_factory=list)  # accepted → sendMessage
    woke: int = 0
    started: int = 0
    scheduled_runs: int = -1
    agent_message_relayed: bool = False
    lost_states: Counter[str] = field(default_factory=Counter)  # what became of lost replies
    log_problems: Counter[str] = field(default_factory=Counter)  # the services' warnings

    def lines(self) -> list[str]:
        delays = sorted(self.reply_delays)
        return [
            f"failovers: {', '.join(self.failovers)}",
            f"updates accepted: {self.updates}; webhook answers: "
            + ", ".join(f"{code}: {count}" for code, count in sorted(self.statuses.items())),
            f"replies: lost {len(self.lost)} {dict(self.lost_states)}, "
            f"sent twice {len(self.twice)} "
            f"(flagged as possible duplicates: {sum(self.flagged.values())})",
            "time without a primary per failover: "
            + ", ".join(f"{seconds:.2f} s" for seconds in self.without_primary),
            f"reply delay p50 {delays[len(delays) // 2] if delays else 0:.2f} s, "
            f"longest {max(delays, default=0):.2f} s",
            f"timers: {self.woke} woke of {self.started} started; scheduled production "
            f"fired {self.scheduled_runs} time(s); agent's message relayed across processes: "
            f"{self.agent_message_relayed}",
            "services' warnings and errors: " + ("; ".join(
                f"{count} × {line}" for line, count in self.log_problems.most_common(8))
                or "none"),
        ]


class Balancer:
    """Round robin over the processes; counts every answer the webhooks gave."""

    def __init__(self, processes: list[ServiceProcess], bot: str, telegram: FakeTelegram):
        self.processes = processes
        self.bot = bot
        self.telegram = telegram
        self.turn = itertools.count()
        self.statuses: Counter[int] = Counter()
        self.accepted_at: dict[str, float] = {}
        self.update_of: dict[str, str] = {}  # text → update id (the message's provider id)

    async def post(self, session: aiohttp.ClientSession, update: dict[str, Any],
                   stop: asyncio.Event) -> bool:
        """Telegram's redelivery: the same update until a 2xx (at most 60 s)."""
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            process = self.processes[next(self.turn) % len(self.processes)]
            url = f"{process.url}/webhooks/telegram/{self.bot}"
            with contextlib.suppress(*DISCONNECTED):
                async with session.post(url, json=update,
                                        headers=self.telegram.webhook_headers(TELEGRAM_TOKEN),
                                        timeout=aiohttp.ClientTimeout(total=10)) as reply:
                    self.statuses[reply.status] += 1
                    if reply.status == 503 and "Retry-After" not in reply.headers:
                        self.statuses[-503] += 1  # a 503 that says not when to come back
                    if reply.status == 200:
                        return True
                    if reply.status == 503:
                        await asyncio.sleep(float(reply.headers.get("Retry-After", "1")) / 4)
                        continue
            await asyncio.sleep(0.2)
        return False


async def telegram_chat(chat: Chat, balancer: Balancer, stop: asyncio.Event,
                        update_ids: Any) -> None:
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            text, update = chat.next_update(next(update_ids))
            if not await balancer.post(session, update, stop):
                return
            balancer.accepted_at[text] = time.monotonic()
            balancer.update_of[text] = str(update["update_id"])
            if chat.started:
                chat.accepted.append(text)
            else:
                chat.started = True
                while not stop.is_set() and not any(
                        call.params.get("text") == "woke"
                        and str(call.params.get("chat_id")) == str(chat.chat_id)
                        for call in balancer.telegram.calls_to("sendMessage")):
                    await asyncio.sleep(0.1)
            await asyncio.sleep(random.uniform(0.05, 0.3))


async def failover(replica_set: ReplicaSet, kind: str) -> float:
    """Step the primary down or SIGKILL it; the seconds until another member is primary.
    A killed member is started again (it rejoins as a secondary)."""
    started = time.monotonic()
    if kind == "kill":
        old = await asyncio.to_thread(replica_set.wait_for_primary)
        await asyncio.to_thread(replica_set.kill, old)
    else:
        old = await asyncio.to_thread(replica_set.step_down)
    await asyncio.to_thread(replica_set.wait_for_primary, 60, old)
    took = time.monotonic() - started
    if kind == "kill":
        await asyncio.to_thread(replica_set.start_member, old)
    return took


def agent_desk(process: ServiceProcess) -> str:
    """A queue with one available agent logged in to ``process``; the agent's token."""
    routing = process.api("POST", "/api/smart-routings/import", {
        "routing": {"name": "desk", "reference": "desk", "type": "start"},
        "versions": [{"name": "v1", "status": "production", "tree": DESK_TREE}]})
    process.api("POST", "/api/entry-points", {"channel": "webchat", "name": "desk",
                                              "address": "desk",
                                              "start_routing": routing["id"]})
    user = process.api("POST", "/api/users", {
        "email": "desk@example.com", "password": ADMIN_PASSWORD, "roles": ["agent"],
        "agent": {"queues": [], "capacity": 5}})
    process.api("POST", "/api/queues", {"name": "desk", "members": [user["id"]],
                                        "max_wait_seconds": 3600})
    token = str(process._call("POST", "/api/auth/login", {
        "email": "desk@example.com", "password": ADMIN_PASSWORD}, None)["token"])
    process._call("POST", "/api/agent/status", {"status": "available"}, token)
    return token


async def wait_for(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if found := await asyncio.to_thread(check):
                return found
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.3)


@dataclass
class Setup:
    bot: str  # the Telegram entry point
    token: str  # the agent's, on the second process
    candidate: str  # the version scheduled to go to production inside a failover


def install_all(first: ServiceProcess, second: ServiceProcess) -> Setup:
    install(first)
    bot = install_telegram(first)
    token = agent_desk(second)
    routings = first.api("GET", "/api/smart-routings?limit=100")["items"]
    faults = next(item for item in routings if item["reference"] == "faults")
    versions = first.api("GET", f"/api/smart-routings/{faults['id']}/versions")["items"]
    production = next(item for item in versions if item["status"] == "production")
    candidate = first.api("POST", f"/api/smart-routings/{faults['id']}/versions",
                          {"name": "scheduled", "copy_from": production["id"]})
    return Setup(bot, token, candidate["id"])


async def run(root: Path, chats: int, kinds: list[str], pause: float) -> Report:
    """The scenario; ``kinds`` are the failovers in order ("step_down" or "kill"), one
    every ``pause`` seconds of traffic."""
    report = Report()
    replica_set = ReplicaSet(root / "rs")
    uri = await asyncio.to_thread(replica_set.start)
    telegram = FakeTelegram()
    settings = {"SR_LEASE_SECONDS": "3", "SR_SWEEP_SECONDS": "0.2",
                "SR_SCHEDULE_POLL_SECONDS": "0.5",
                "SR_TELEGRAM_API_BASE": await telegram.start()}
    first = ServiceProcess(uri, root / "a", **settings)
    second = ServiceProcess(uri, root / "b", **settings,
                            SR_MONGODB_DATABASE=first.environment["SR_MONGODB_DATABASE"])
    stop = asyncio.Event()
    try:
        await asyncio.gather(asyncio.to_thread(first.start), asyncio.to_thread(second.start))
        setup = await asyncio.to_thread(install_all, first, second)
        balancer = Balancer([first, second], setup.bot, telegram)
        update_ids = itertools.count(1)
        people = [Chat(9000 + n) for n in range(chats)]
        traffic = [asyncio.create_task(telegram_chat(chat, balancer, stop, update_ids))
                   for chat in people]
        await failovers_beside_an_agent(report, replica_set, first, second, setup, kinds,
                                        pause)
        await asyncio.sleep(pause)
        stop.set()
        await asyncio.gather(*traffic, return_exceptions=True)
        await settle_report(report, telegram, balancer, people, uri,
                            first.environment["SR_MONGODB_DATABASE"])
        audit = await wait_for(lambda: [
            entry for entry in first.api("GET", f"/api/audit?target={setup.candidate}")["items"]
            if entry["action"] == "version.scheduled_production"], 20)
        report.scheduled_runs = len(audit or [])
    finally:
        stop.set()
        await asyncio.gather(asyncio.to_thread(first.stop), asyncio.to_thread(second.stop))
        report.log_problems = Counter(
            re.sub(r"[0-9a-f]{24}(:\d+)?|\d+(\.\d+)?", "…", line.split(" ", 3)[-1])[:160]
            for process in (first, second) for line in process.lines
            if " WARNING " in line or " ERROR " in line)
        await telegram.stop()
        await asyncio.to_thread(replica_set.stop)
    return report


async def failovers_beside_an_agent(
    report: Report, replica_set: ReplicaSet, first: ServiceProcess, second: ServiceProcess,
    setup: Setup, kinds: list[str], pause: float,
) -> None:
    """The failovers, while a web chat visitor's socket is held by the first process; then
    the agent, logged in to the second, writes to that visitor."""
    async with aiohttp.ClientSession() as session, session.ws_connect(
            f"{first.url.replace('http', 'ws', 1)}/chat/desk/ws?visitor=visitor-desk"
    ) as socket:
        await socket.receive_json(timeout=10)
        await socket.send_str(json.dumps({"type": "message", "text": "help", "id": "1"}))
        assigned = await wait_for(lambda: second._call(
            "GET", "/api/agent/interactions", None, setup.token)["items"], 20)
        assert assigned, "the desk's conversation never reached the agent"
        for number, kind in enumerate(kinds):
            await asyncio.sleep(pause)
            if number == 1:  # a production due inside this failover
                at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.3)
                first.api("PUT", f"/api/versions/{setup.candidate}/schedule",
                          {"at": at.isoformat()})
            report.without_primary.append(await failover(replica_set, kind))
            report.failovers.append(kind)
        said = await wait_for(lambda: second._call(
            "POST", f"/api/agent/interactions/{assigned[0]['id']}/messages",
            {"text": "an agent after the failovers"}, setup.token), 30)
        assert said, "the agent could not write after the failovers"
        with contextlib.suppress(*DISCONNECTED):
            while True:
                frame = await socket.receive_json(timeout=15)
                if frame.get("text") == "an agent after the failovers":
                    report.agent_message_relayed = True
                    return


async def settle_report(report: Report, telegram: FakeTelegram, balancer: Balancer,
                        people: list[Chat], uri: str, database: str) -> None:
    """Wait until every accepted update has its reply (or 60 s), then count."""
    updates = [text for chat in people for text in chat.accepted]
    report.updates = len(updates) + sum(chat.started for chat in people)
    report.started = sum(chat.started for chat in people)
    deadline = time.monotonic() + 60
    while True:
        calls = telegram.calls_to("sendMessage")
        replies = Counter(call.params.get("text") for call in calls)
        if (all(replies[f"echo {text}"] for text in updates)
                and replies["woke"] >= report.started) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    first_seen: dict[str, float] = {}
    for call in calls:
        first_seen.setdefault(str(call.params.get("text")), call.at)
    report.lost = [text for text in updates if replies[f"echo {text}"] == 0]
    report.lost_states = await states_of(uri, database, [f"echo {t}" for t in report.lost])
    report.twice = {f"echo {text}" for text in updates if replies[f"echo {text}"] > 1}
    report.woke = replies["woke"]
    report.flagged = await flagged_duplicates(uri, database)
    report.statuses = balancer.statuses
    report.reply_delays = [first_seen[f"echo {text}"] - balancer.accepted_at[text]
                           for text in updates if f"echo {text}" in first_seen]


async def states_of(uri: str, database: str, texts: list[str]) -> Counter[str]:
    """What became of each reply: its delivery status; or, never written, whether its
    update waits unprocessed (``pending``), was processed (``inbound only``) or is
    nowhere (``never stored``)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    db = client[database]
    asked = [text.removeprefix("echo ") for text in texts]
    try:
        found = {document["data"]["text"]: document.get("status", "?") async for document in
                 db["events"].find({"type": "outbound", "data.text": {"$in": texts}},
                                   {"data.text": 1, "status": 1})}
        inbound = {document["data"]["text"] async for document in db["events"].find(
            {"type": "inbound", "data.text": {"$in": asked}}, {"data.text": 1})}
        waiting = {item["text"] async for document in db["interactions"].find(
            {"pending.text": {"$in": asked}}, {"pending.text": 1})
            for item in document["pending"]}
    finally:
        await client.close()
    return Counter(found.get(f"echo {text}") or ("pending" if text in waiting else
                   "inbound only" if text in inbound else "never stored") for text in asked)
