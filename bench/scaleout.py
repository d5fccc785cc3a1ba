"""Two service processes against one database: the scale-out factor.

    python -m bench.scaleout [--server hypercorn|uvicorn] [--in-flight 16] [--seconds 10]

Starts service A with its embedded MongoDB and service B joined to A's database, then
measures in the same run, each figure first with one process (all traffic to A) and then
with two (the same number of loops in flight, dealt evenly over A and B):
1. the bare ``GET /healthz`` rate (the HTTP ceiling);
2. ``POST /bench/minimal``, the storage ceiling of one message;
3. the real path: web chat conversations (``bench.webchat``), message → reply;
and the raw MongoDB insert rate once. The scale-out factor of each is
rate(two processes) / rate(one process).

During the two-process web chat run it also checks, in MongoDB, that every message was
processed exactly once: as many inbound events as messages sent, no provider id processed
twice, as many replies as messages in every interaction, and replies written by both
processes.

On this machine the client, both services and mongod share two cores, so the factor
measures how two processes contend for them, not how the service scales out: a factor
near 1 is expected. Measuring real scale-out needs each service on a machine of its own,
mongod on another, and load generators that do not share their cores, with each figure
still set beside the database's own write ceiling there.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

from bench.measure import HEADER, Figure, arguments, hammer, raw_mongodb_writes
from bench.service import Service, running_service
from bench.webchat import SCRIPT, conversations, setup

Run = Callable[[list[str], float], Awaitable[tuple[float, list[float]]]]


async def one_then_two(run: Run, bases: list[str],
                       seconds: float) -> tuple[tuple[float, list[float]], ...]:
    """``run`` against A alone, then against A and B, each after a second of warm-up."""
    results = []
    for targets in (bases[:1], bases):
        await run(targets, 1)
        results.append(await run(targets, seconds))
    return tuple(results)


async def processed_once(service: Service, since: datetime, sent: int) -> str:
    """Every message sent since ``since`` was processed once and answered once: checked on
    the events both processes wrote, not on what the client saw."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(service.mongodb_uri)
    events = client[service.database]["events"]

    async def aggregate(*pipeline: dict[str, Any]) -> list[dict[str, Any]]:
        return await (await events.aggregate(
            [{"$match": {"at": {"$gte": since}}}, *pipeline])).to_list()

    try:
        per_interaction = await aggregate({"$group": {
            "_id": "$interaction_id",
            "inbound": {"$sum": {"$cond": [{"$eq": ["$type", "inbound"]}, 1, 0]}},
            "outbound": {"$sum": {"$cond": [{"$eq": ["$type", "outbound"]}, 1, 0]}}}})
        twice = await aggregate(
            {"$match": {"type": "inbound"}},
            {"$group": {"_id": "$data.provider_id", "times": {"$sum": 1}}},
            {"$match": {"times": {"$gt": 1}}})
        by_process = await aggregate(
            {"$match": {"type": "outbound"}},
            {"$group": {"_id": "$origin", "replies": {"$sum": 1}}})
    finally:
        await client.close()
    inbound = sum(row["inbound"] for row in per_interaction)
    uneven = [row for row in per_interaction
              if row["inbound"] != len(SCRIPT) or row["outbound"] != len(SCRIPT)]
    replies = sorted((row["replies"] for row in by_process), reverse=True)
    assert inbound == sent, f"{sent} messages sent, {inbound} processed"
    assert not twice, f"processed more than once: {twice[:5]}"
    assert not uneven, f"interactions without one reply per message: {uneven[:5]}"
    assert len(replies) == 2, f"replies by process: {replies}"
    return (f"two processes, exactly once: {sent:,} messages sent, {inbound:,} processed, "
            f"none twice; each of {len(per_interaction):,} conversations has "
            f"{len(SCRIPT)} messages and {len(SCRIPT)} replies; replies written by the "
            f"two processes: {replies[0]:,} / {replies[1]:,}")


def figures(processes: str, health: tuple[float, list[float]],
            storage: tuple[float, list[float]], real: tuple[float, list[float]],
            writes: Figure) -> list[Figure]:
    """The three figures of one process count, each beside its ceiling."""
    stored = Figure(f"{processes}: storage of one message", *storage, ceiling=writes.rate)
    return [Figure(f"{processes}: `GET /healthz`", *health), stored,
            Figure(f"{processes}: web chat message → reply", *real, ceiling=stored.rate)]


async def measure(first: Service, second: Service, seconds: float,
                  in_flight: int) -> list[str]:
    bases = [first.url, second.url]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await setup(session, first.url)
        health = await one_then_two(
            lambda targets, span: hammer(session, "GET", "/healthz", targets, span,
                                         in_flight), bases, seconds)
        writes = Figure("raw MongoDB insert (write ceiling)",
                        *await raw_mongodb_writes(first.mongodb_uri, seconds, in_flight))
        storage = await one_then_two(
            lambda targets, span: hammer(session, "POST", "/bench/minimal", targets, span,
                                         in_flight, body=True), bases, seconds)
        await conversations(session, first.url, 1, in_flight)  # warm-up
        real_one = await conversations(session, first.url, seconds, in_flight)
        await conversations(session, first.url, 1, in_flight, bases=bases)  # warm-up
        since = datetime.now(UTC)
        real_two = await conversations(session, first.url, seconds, in_flight, bases=bases)
        check = await processed_once(first, since, len(real_two[1]))
    one = figures("1 process", health[0], storage[0], real_one, writes)
    two = figures("2 processes", health[1], storage[1], real_two, writes)
    return [
        *HEADER, writes.row(), *(figure.row() for figure in one + two),
        "",
        "| scale-out factor (2 processes / 1) | factor |", "|---|---|",
        *(f"| {alone.name.removeprefix('1 process: ')} | {both.rate / alone.rate:.2f}× |"
          for alone, both in zip(one, two, strict=True)),
        "",
        check,
    ]


def main() -> None:
    args = arguments(__doc__).parse_args()
    load = os.getloadavg()[0]
    with running_service(args.server) as first, \
            running_service(args.server, mongodb_uri=first.mongodb_uri) as second:
        lines = asyncio.run(measure(first, second, args.seconds, args.in_flight))
    print(f"server={args.server} in-flight={args.in_flight} seconds={args.seconds} "
          f"cores={os.cpu_count()} load average before={load:.2f} "
          f"after={os.getloadavg()[0]:.2f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
