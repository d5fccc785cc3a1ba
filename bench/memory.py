"""Memory per waiting conversation: what the service, its mongod and the database hold
for each conversation left waiting on a question.

    python -m bench.memory [--conversations 10000] [--server hypercorn|uvicorn]

Starts a fresh service with its embedded MongoDB and a tree that greets the visitor, then
asks a question and waits (an hour) for the answer. After a warm-up (conversations opened
and closed, so lazy imports, caches and connection pools are not counted) it reads the
settled resident memory (``VmRSS`` in ``/proc``) of the service and of its mongod and the
stored bytes of ``interactions``, ``events`` and ``contacts`` (data + indexes, after a
checkpoint), then reads them again after each step:
1. N conversations left waiting without a socket: each visitor's socket is closed once
   the question came, so never more than ``OPENING`` are open. This is the state of a
   webhook channel's waiting conversation, which should cost the service nothing: all of
   it lives in MongoDB.
a) N more conversations, each keeping its WebSocket open: the realistic worst case for
   the service, a socket per visitor;
b) the same N after their sockets are closed. The service's RSS does not come down: the
   memory freed stays in the process's heap and serves the next sockets (opening and
   closing N again does not grow it), so step 1, not b), is the cost without a socket.
Each difference (step 1 from the baseline, a) and b) from step 1), divided by N, is
the cost of one conversation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

from bench.measure import raise_file_limit
from bench.service import Service, running_service
from bench.webchat import chat_url, setup

QUESTION = "What is your name?"
TREE = {
    "start": "start",
    "actions": [
        {"id": "start", "type": "start", "next": {"next": "greet"}},
        {"id": "greet", "type": "message", "params": {"text": "Hello, I am the bench bot."},
         "next": {"next": "ask"}},
        {"id": "ask", "type": "message_wait", "params": {"text": QUESTION, "into": "name"},
         "next": {"answered": None, "invalid": None, "timeout": None}},
    ],
}
COLLECTIONS = ("interactions", "events", "contacts")
OPENING = 32  # conversations being opened at once
KIB, MIB = 1024, 1024 * 1024


@dataclass
class Snapshot:
    """Resident memory of both processes and stored bytes per collection, at one moment."""

    service: int
    mongod: int
    stored: dict[str, int]


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * KIB
    raise LookupError(f"no VmRSS for process {pid}")


def child(parent: int, name: str) -> int:
    """The pid of ``parent``'s child process called ``name`` (the embedded mongod)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it ended meanwhile
            continue
        command, fields = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:]
        if command == name and int(fields.split()[1]) == parent:
            return int(stat.parent.name)
    raise LookupError(f"process {parent} has no child called {name}")


async def settled_rss(pid: int, seconds: float = 20) -> int:
    """RSS once it stops moving (less than 256 KiB in a second), or after ``seconds``."""
    previous = rss(pid)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        current = rss(pid)
        if abs(current - previous) < 256 * KIB:
            return current
        previous = current
    return previous


async def stored_bytes(service: Service) -> dict[str, int]:
    """Data size + index size per collection, after a checkpoint (WiredTiger counts index
    sizes from its files, which grow only when a checkpoint writes them)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(service.mongodb_uri)
    try:
        await client.admin.command("fsync")
        database = client[service.database]
        sizes = {}
        for name in COLLECTIONS:
            stats = await (await database[name].aggregate(
                [{"$collStats": {"storageStats": {}}}])).to_list()
            storage = stats[0]["storageStats"]
            sizes[name] = int(storage["size"]) + int(storage["totalIndexSize"])
        return sizes
    finally:
        await client.close()


async def snapshot(service: Service, mongod: int) -> Snapshot:
    service_rss, mongod_rss = await asyncio.gather(settled_rss(service.pid), settled_rss(mongod))
    return Snapshot(service_rss, mongod_rss, await stored_bytes(service))


async def open_conversation(session: aiohttp.ClientSession,
                            base: str) -> aiohttp.ClientWebSocketResponse:
    """A visitor says hello and is left with the question asked and the socket open."""
    visitor = "m" + uuid.uuid4().hex[:16]
    ws = await session.ws_connect(chat_url(base, visitor))
    await ws.receive_json(timeout=30)  # the history frame
    await ws.send_str(json.dumps({"type": "message", "text": "hello"}))
    while (await ws.receive_json(timeout=30)).get("text") != QUESTION:
        pass
    return ws


async def open_conversations(session: aiohttp.ClientSession, base: str, count: int,
                             keep: bool) -> list[aiohttp.ClientWebSocketResponse]:
    """``count`` conversations left waiting, ``OPENING`` at a time; with ``keep`` their
    sockets stay open (and are returned), otherwise each is closed once the question came."""
    opened: list[aiohttp.ClientWebSocketResponse] = []

    async def opener(share: int) -> None:
        for _ in range(share):
            ws = await open_conversation(session, base)
            if keep:
                opened.append(ws)
            else:
                await ws.close()

    await asyncio.gather(*(opener(count // OPENING + (worker < count % OPENING))
                           for worker in range(OPENING)))
    return opened


async def close_all(sockets: list[aiohttp.ClientWebSocketResponse]) -> None:
    for start in range(0, len(sockets), 500):
        await asyncio.gather(*(ws.close() for ws in sockets[start:start + 500]))


def cost(before: int, after: int, count: int) -> str:
    return f"{(after - before) / count / KIB:,.2f} KiB ({(after - before) / MIB:+,.1f} MiB)"


def report(baseline: Snapshot, socketless: Snapshot, opened: Snapshot, closed: Snapshot,
           count: int) -> list[str]:
    def stored(shot: Snapshot) -> int:
        return sum(shot.stored.values())

    return [
        f"baseline (warm, no conversation waiting): service {baseline.service / MIB:,.1f} MiB, "
        f"mongod {baseline.mongod / MIB:,.1f} MiB, stored {stored(baseline) / MIB:,.2f} MiB",
        "",
        "| per waiting conversation (total) | service RSS | mongod RSS | stored "
        f"({' + '.join(COLLECTIONS)}: data + indexes) |",
        "|---|---|---|---|",
        f"| without a socket: N opened, each closed once asked (≤ {OPENING} sockets at once) "
        f"| {cost(baseline.service, socketless.service, count)} "
        f"| {cost(baseline.mongod, socketless.mongod, count)} "
        f"| {cost(stored(baseline), stored(socketless), count)} |",
        f"| a) N more, each keeping its WebSocket open "
        f"| {cost(socketless.service, opened.service, count)} "
        f"| {cost(socketless.mongod, opened.mongod, count)} "
        f"| {cost(stored(socketless), stored(opened), count)} |",
        f"| b) the same N after their sockets are closed "
        f"| {cost(socketless.service, closed.service, count)} "
        f"| {cost(socketless.mongod, closed.mongod, count)} | — |",
        "",
        "stored per conversation: " + ", ".join(
            f"{name} {(opened.stored[name] - socketless.stored[name]) / count:,.0f} B"
            for name in COLLECTIONS),
    ]


async def measure(service: Service, count: int) -> list[str]:
    mongod = child(service.pid, "mongod")
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await setup(session, service.url, TREE)
        await open_conversations(session, service.url, 4 * OPENING, keep=False)  # warm-up
        baseline = await snapshot(service, mongod)
        await open_conversations(session, service.url, count, keep=False)
        socketless = await snapshot(service, mongod)
        started = time.perf_counter()
        sockets = await open_conversations(session, service.url, count, keep=True)
        opening = time.perf_counter() - started
        opened = await snapshot(service, mongod)
        await close_all(sockets)
        closed = await snapshot(service, mongod)
    return [f"N = {count:,}: opened with their sockets in {opening:.0f} s "
            f"({count / opening:,.0f}/s, {OPENING} at once)",
            *report(baseline, socketless, opened, closed, count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=["hypercorn", "uvicorn"], default="hypercorn")
    parser.add_argument("--conversations", type=int, default=10_000)
    args = parser.parse_args()
    raise_file_limit()
    with running_service(args.server) as service:
        lines = asyncio.run(measure(service, args.conversations))
    print(f"server={args.server} conversations={args.conversations}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
