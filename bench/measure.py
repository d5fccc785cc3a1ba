"""What every benchmark shares: percentiles, a row of the results table, an admin session,
and the two ceilings each figure is set beside (the bare ``/healthz`` rate and the raw
MongoDB write rate), measured in the same run."""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import aiohttp
from pymongo import AsyncMongoClient

from bench.service import ADMIN, Service, running_service


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Figure:
    """One measured rate with its latencies (seconds), and the ceiling it is compared to."""

    name: str
    rate: float
    latencies: list[float]
    ceiling: float | None = None
    unit: str = "/s"

    def row(self) -> str:
        ratio = f"{self.rate / self.ceiling:.0%}" if self.ceiling else "—"
        p50 = percentile(self.latencies, .5) * 1000
        p99 = percentile(self.latencies, .99) * 1000
        latency = f"{p50:.1f} ms | {p99:.1f} ms" if self.latencies else "— | —"
        return f"| {self.name} | {self.rate:,.0f}{self.unit} | {latency} | {ratio} |"


HEADER = ["| what | rate | p50 | p99 | / ceiling |", "|---|---|---|---|---|"]


async def admin_headers(session: aiohttp.ClientSession, base: str) -> dict[str, str]:
    login = await session.post(f"{base}/api/auth/login",
                               json={"email": ADMIN[0], "password": ADMIN[1]})
    assert login.status == 200, await login.text()
    return {"Authorization": f"Bearer {(await login.json())['token']}"}


async def api(session: aiohttp.ClientSession, base: str, headers: dict[str, str],
              method: str, path: str, body: Any = None) -> Any:
    """One admin API call that must succeed."""
    async with session.request(method, base + path, json=body, headers=headers) as reply:
        assert reply.status < 300, (path, reply.status, await reply.text())
        return await reply.json() if reply.content_length != 0 else None


async def hammer(session: aiohttp.ClientSession, method: str, path: str, bases: list[str],
                 seconds: float, in_flight: int, body: bool = False) -> tuple[float, list[float]]:
    """Requests per second and latencies of ``in_flight`` loops for ``seconds``; loop i
    calls ``bases[i % len(bases)] + path``. With ``body``, each request carries a message
    of one of 50 contacts of the loop's own, so loops never race for one document."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def loop(worker: int) -> None:
        url, count = bases[worker % len(bases)] + path, 0
        while time.perf_counter() < stop:
            started = time.perf_counter()
            payload = {"contact": f"c{worker}-{count % 50}", "text": "hi"} if body else None
            async with session.request(method, url, json=payload) as response:
                await response.read()
                assert response.status == 200, response.status
            latencies.append(time.perf_counter() - started)
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop(worker) for worker in range(in_flight)))
    return len(latencies) / (time.perf_counter() - started), latencies


async def raw_mongodb_writes(mongodb_uri: str, seconds: float,
                             in_flight: int) -> tuple[float, list[float]]:
    """Inserts per second straight into MongoDB from this process (no service at all):
    the write ceiling of the database on this machine."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri)
    collection = client["bench_ceiling"]["writes"]
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def loop() -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await collection.insert_one({"_id": uuid.uuid4().hex, "text": "hi", "n": 1})
            latencies.append(time.perf_counter() - started)

    try:
        await collection.insert_one({"_id": "warm-up"})
        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(in_flight)))
        return len(latencies) / (time.perf_counter() - started), latencies
    finally:
        await client.drop_database("bench_ceiling")
        await client.close()


async def ceilings(session: aiohttp.ClientSession, base: str, mongodb_uri: str,
                   seconds: float, in_flight: int) -> tuple[Figure, Figure, Figure]:
    """The HTTP ceiling, the raw MongoDB write rate, and the storage ceiling of a message
    (``POST /bench/minimal``: inbox insert, one find_one_and_update, one outbox insert)."""
    await hammer(session, "GET", "/healthz", [base], 1, in_flight)  # warm-up
    health = await hammer(session, "GET", "/healthz", [base], seconds, in_flight)
    writes = await raw_mongodb_writes(mongodb_uri, seconds, in_flight)
    await hammer(session, "POST", "/bench/minimal", [base], 1, in_flight, body=True)
    storage = await hammer(session, "POST", "/bench/minimal", [base], seconds, in_flight,
                           body=True)
    return (Figure("`GET /healthz` (HTTP ceiling)", *health),
            Figure("raw MongoDB insert (write ceiling)", *writes),
            Figure("storage of one message (storage ceiling)", *storage))


def arguments(description: str | None, **defaults: Any) -> argparse.ArgumentParser:
    """The options every benchmark takes (``--server``, ``--seconds``, ``--in-flight``);
    ``defaults`` overrides theirs. Each benchmark adds its own."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=["hypercorn", "uvicorn"], default="hypercorn")
    parser.add_argument("--seconds", type=float, default=10, help="per measured figure")
    parser.add_argument("--in-flight", type=int, default=16, help="concurrent clients")
    parser.set_defaults(**defaults)
    return parser


def raise_file_limit() -> int:
    """Open files up to the hard limit: a socket per visitor here, as many in the service
    (which inherits the limit)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def run_checked(work: Callable[[Service], Awaitable[bool]]) -> NoReturn:
    """A benchmark that checks what it measured: on a fresh service, exit 1 when it did not
    hold."""
    with running_service() as service:
        held = asyncio.run(work(service))
    sys.exit(0 if held else 1)
